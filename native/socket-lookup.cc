// Finding a TCP socket's descriptor from its addresses (see socket-lookup.h).
#include "socket-lookup.h"

#include "keepalive.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "keepalive.h"

namespace keepalive {
namespace {

// An address and port, IPv4-mapped IPv6 addresses stored as IPv4 so that both forms match.
struct Endpoint {
  int family = 0;
  unsigned char address[16] = {};
  int port = 0;
};

bool operator==(const Endpoint& a, const Endpoint& b) {
  return a.family == b.family && a.port == b.port &&
         std::memcmp(a.address, b.address, a.family == AF_INET ? 4 : 16) == 0;
}

void MapToIpv4(Endpoint* endpoint) {
  static const unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (endpoint->family != AF_INET6 || std::memcmp(endpoint->address, kMappedPrefix, 12) != 0) return;
  endpoint->family = AF_INET;
  std::memmove(endpoint->address, endpoint->address + 12, 4);
  std::memset(endpoint->address + 4, 0, 12);
}

bool Parse(const char* text, int port, Endpoint* out) {
  out->port = port;
  if (inet_pton(AF_INET, text, out->address) == 1) {
    out->family = AF_INET;
    return true;
  }
  // A link-local address may carry a zone ("fe80::1%eth0"); the socket's address has none.
  char bare[INET6_ADDRSTRLEN] = {};
  std::strncpy(bare, text, sizeof(bare) - 1);
  char* zone = std::strchr(bare, '%');
  if (zone != nullptr) *zone = '\0';
  if (inet_pton(AF_INET6, bare, out->address) != 1) return false;
  out->family = AF_INET6;
  MapToIpv4(out);
  return true;
}

bool FromSockaddr(const sockaddr_storage& storage, Endpoint* out) {
  if (storage.ss_family == AF_INET) {
    const auto& ipv4 = reinterpret_cast<const sockaddr_in&>(storage);
    out->family = AF_INET;
    std::memcpy(out->address, &ipv4.sin_addr, 4);
    out->port = ntohs(ipv4.sin_port);
    return true;
  }
  if (storage.ss_family == AF_INET6) {
    const auto& ipv6 = reinterpret_cast<const sockaddr_in6&>(storage);
    out->family = AF_INET6;
    std::memcpy(out->address, &ipv6.sin6_addr, 16);
    out->port = ntohs(ipv6.sin6_port);
    MapToIpv4(out);
    return true;
  }
  return false;
}

// What one look at a descriptor showed.
enum class Seen {
  kMatch,
  kOther,      // open, and never the socket looked for while it stays open
  kNotYet,     // a socket not connected yet (it may be the next one looked for)
  kClosed,
};

using AddressCall = int (*)(int, sockaddr*, socklen_t*);

// -1 with errno set, or 0 with the call's address in out.
int Address(AddressCall call, int fd, Endpoint* out) {
  sockaddr_storage storage;
  socklen_t length = sizeof(storage);
  std::memset(&storage, 0, sizeof(storage));
  if (call(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return -1;
  if (!FromSockaddr(storage, out)) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  return 0;
}

// A connected socket: peer first, where most descriptors differ.
Seen ExamineConnected(int fd, const Endpoint& local, const Endpoint& remote) {
  Endpoint found;
  if (Address(getpeername, fd, &found) != 0) {
    if (errno == EBADF) return Seen::kClosed;
    return errno == ENOTCONN ? Seen::kNotYet : Seen::kOther;
  }
  if (!(found == remote)) return Seen::kOther;
  if (Address(getsockname, fd, &found) != 0 || !(found == local)) return Seen::kOther;
  return CheckTcpSocket(fd) == 0 ? Seen::kMatch : Seen::kOther;
}

// A listener: looked up once per server, so nothing but a match is remembered.
Seen ExamineListener(int fd, const Endpoint& local) {
  Endpoint found;
  if (Address(getsockname, fd, &found) != 0) return errno == EBADF ? Seen::kClosed : Seen::kNotYet;
  if (!(found == local)) return Seen::kNotYet;
  int accepting = 0;
  socklen_t length = sizeof(accepting);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0 || accepting == 0) return Seen::kNotYet;
  return CheckTcpSocket(fd) == 0 ? Seen::kMatch : Seen::kNotYet;
}

// What the lookups know of each descriptor number, for the whole process.
enum Known : unsigned char { kUnknown = 0, kOpenOther = 1, kFound = 2 };
std::mutex known_mutex;
std::vector<unsigned char> known;

void Remember(int fd, Known what) {
  if (static_cast<size_t>(fd) >= known.size()) {
    if (what == kUnknown) return;
    known.resize(static_cast<size_t>(fd) + 1, kUnknown);
  }
  known[fd] = what;
}

// Examines fd and records the outcome; true on a match.
bool Matches(int fd, const Endpoint& local, const Endpoint* remote, bool* closed) {
  const Seen seen = remote == nullptr ? ExamineListener(fd, local) : ExamineConnected(fd, local, *remote);
  *closed = seen == Seen::kClosed;
  if (seen == Seen::kMatch) Remember(fd, kFound);
  else if (seen == Seen::kOther) Remember(fd, kOpenOther);
  else Remember(fd, kUnknown);
  return seen == Seen::kMatch;
}

// Closed numbers in a row after which the numbers above all known ones are taken to end.
constexpr int kClosedRun = 64;

}  // namespace

int FindSocket(const char* local_address, int local_port, const char* remote_address, int remote_port) {
  Endpoint local;
  Endpoint remote;
  const bool listener = remote_address[0] == '\0';
  if (!Parse(local_address, local_port, &local) || (!listener && !Parse(remote_address, remote_port, &remote))) {
    return Failure(EINVAL, kSocketLookup);
  }
  const Endpoint* peer = listener ? nullptr : &remote;
  std::lock_guard<std::mutex> lock(known_mutex);
  bool closed = false;
  // 1. Numbers not known to hold another open socket or file, lowest first.
  const int highest_known = static_cast<int>(known.size());
  for (int fd = 0; fd < highest_known; fd++) {
    if (known[fd] == kUnknown && Matches(fd, local, peer, &closed)) return fd;
  }
  // 2. Numbers above those, until a run of closed ones.
  int above = highest_known;
  for (int run = 0; run < kClosedRun; above++) {
    if (Matches(above, local, peer, &closed)) return above;
    run = closed ? run + 1 : 0;
  }
  // 3. Every open descriptor, in case one known as another socket was closed and its
  // number reused without a ForgetSocket (or the run of closed numbers ended too soon).
  DIR* directory = opendir("/proc/self/fd");
  if (directory == nullptr) return Failure(errno, kSocketLookup);
  const int own = dirfd(directory);
  int result = Failure(ENOENT, kSocketLookup);
  while (const dirent* entry = readdir(directory)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const int fd = std::atoi(entry->d_name);
    const bool examined = fd < above && (static_cast<size_t>(fd) >= known.size() || known[fd] == kUnknown);
    if (fd != own && !examined && Matches(fd, local, peer, &closed)) {
      result = fd;
      break;
    }
  }
  closedir(directory);
  return result;
}

void ForgetSocket(int fd) {
  std::lock_guard<std::mutex> lock(known_mutex);
  if (fd >= 0) Remember(fd, kUnknown);
}

}  // namespace keepalive
