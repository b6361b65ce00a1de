// Finding the descriptor of a TCP socket from its addresses, for runtimes whose socket
// objects do not expose one (Deno). Plain C++ over syscalls; nothing here touches
// JavaScript. FindSocket returns the fd or Failure(errno, kSocketLookup) (keepalive.h).
#ifndef SOCKET_KEEPALIVE_NATIVE_SOCKET_LOOKUP_H_
#define SOCKET_KEEPALIVE_NATIVE_SOCKET_LOOKUP_H_

namespace keepalive {

// The fd, in this process, of the TCP socket whose local address is local_address
// (textual IPv4 or IPv6, an IPv4-mapped IPv6 address matching its IPv4 form) and
// local_port, and which is connected to remote_address:remote_port; or, with an empty
// remote_address, of the socket listening on the local address. A failure with ENOENT
// when no descriptor of the process matches, EINVAL for an address that does not parse.
//
// The descriptors already examined are remembered process-wide, so a lookup first tries
// the ones it has not seen open (where a new socket's fd lands: the kernel gives out the
// lowest free number) and those released with ForgetSocket, and walks /proc/self/fd only
// when the socket is in none of them.
int FindSocket(const char* local_address, int local_port, const char* remote_address, int remote_port);

// Tells the lookup that fd, found by FindSocket, is being closed: the number is free
// for the next socket.
void ForgetSocket(int fd);

}  // namespace keepalive

#endif  // SOCKET_KEEPALIVE_NATIVE_SOCKET_LOOKUP_H_
