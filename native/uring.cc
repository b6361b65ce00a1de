// The io_uring path of a full apply: the options of one setKeepAlive as linked
// IORING_OP_URING_CMD / SOCKET_URING_OP_SETSOCKOPT entries (Linux 6.7+), sent to the
// kernel with one io_uring_enter. Raw syscalls and mmap, no liburing. Each thread (the
// main thread, each Worker) has its own small ring, made on first use and closed when
// its Node.js environment is torn down; whether the kernel takes the command at all is
// probed once per process. Anything refused falls back to the plain syscalls.
#include "keepalive.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/io_uring.h>)
#define SOCKET_KEEPALIVE_IO_URING 1
#endif
#endif

#ifdef SOCKET_KEEPALIVE_IO_URING

#include <linux/io_uring.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <fcntl.h>

namespace keepalive {
namespace {

// What build headers older than the running kernel may lack. The syscall numbers are
// the same on every architecture since Linux 5.1.
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)  // Linux 6.0
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)  // Linux 6.1
#endif
constexpr uint8_t kOpUringCmd = 46;              // IORING_OP_URING_CMD, Linux 5.19
constexpr uint32_t kSocketOpSetsockopt = 3;      // SOCKET_URING_OP_SETSOCKOPT, Linux 6.7
constexpr unsigned kEntries = 8;                 // a full apply takes five

// An SQE as Linux 6.7 lays it out for SOCKET_URING_OP_SETSOCKOPT (older headers have
// no level/optname/optlen/optval members).
struct SetsockoptSqe {
  uint8_t opcode;
  uint8_t flags;
  uint16_t ioprio;
  int32_t fd;
  uint32_t cmd_op;
  uint32_t pad1;
  uint32_t level;
  uint32_t optname;
  uint32_t len;
  uint32_t uring_cmd_flags;
  uint64_t user_data;
  uint16_t buf_index;
  uint16_t personality;
  uint32_t optlen;
  uint64_t optval;
  uint64_t pad2;
};
static_assert(sizeof(SetsockoptSqe) == sizeof(io_uring_sqe), "an SQE is 64 bytes");

template <typename T>
T* At(void* base, uint32_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

}  // namespace

class SetsockoptRing {
 public:
  // A ring, or nullptr where io_uring_setup or mmap refuse one (ENOSYS, EPERM from
  // seccomp or kernel.io_uring_disabled, EINVAL from a kernel without these flags).
  static SetsockoptRing* Open() {
    io_uring_params params;
    std::memset(&params, 0, sizeof(params));
    // One thread submits and always waits for its completions: no cross-thread
    // synchronisation or task-work interrupts needed.
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    const long fd = syscall(__NR_io_uring_setup, kEntries, &params);
    if (fd < 0) return nullptr;
    // Every kernel with SOCKET_URING_OP_SETSOCKOPT maps both rings at once (5.4+), and
    // makes exactly the entries asked for when that is a power of two.
    if (!(params.features & IORING_FEAT_SINGLE_MMAP) || params.sq_entries != kEntries) {
      close(static_cast<int>(fd));
      return nullptr;
    }
    const size_t rings_size = std::max(params.sq_off.array + params.sq_entries * sizeof(uint32_t),
                                       params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe));
    void* rings = mmap(nullptr, rings_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                       static_cast<int>(fd), IORING_OFF_SQ_RING);
    if (rings == MAP_FAILED) {
      close(static_cast<int>(fd));
      return nullptr;
    }
    const size_t sqes_size = params.sq_entries * sizeof(SetsockoptSqe);
    void* sqes = mmap(nullptr, sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                      static_cast<int>(fd), IORING_OFF_SQES);
    if (sqes == MAP_FAILED) {
      munmap(rings, rings_size);
      close(static_cast<int>(fd));
      return nullptr;
    }
    return new SetsockoptRing(static_cast<int>(fd), params, rings, rings_size, sqes, sqes_size);
  }

  ~SetsockoptRing() {
    munmap(sqes_, sqes_size_);
    munmap(rings_, rings_size_);
    close(fd_);
  }

  // Sends the options of values (indexed by step, negative ones skipped) in kApplyOrder,
  // each linked to the next so that the first failure cancels the rest, with one
  // io_uring_enter, and waits for them. Returns how many of them the kernel took (it
  // may take fewer, e.g. when short of memory); *result is 0 or the first failure.
  int Submit(int fd, const int values[kOptionCount], int* result) {
    // Completions of an earlier call that was interrupted before reaping them.
    __atomic_store_n(cq_head_, __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);

    const uint32_t tail = *sq_tail_;
    uint32_t count = 0;
    Step order[kOptionCount];
    SetsockoptSqe* last = nullptr;
    for (const Step step : kApplyOrder) {
      if (values[step] < 0) continue;
      const uint32_t slot = (tail + count) & sq_mask_;
      SetsockoptSqe* sqe = &sqes_[slot];
      std::memset(sqe, 0, sizeof(*sqe));
      optvals_[slot] = values[step];
      sqe->opcode = kOpUringCmd;
      sqe->flags = IOSQE_IO_LINK;
      sqe->fd = fd;
      sqe->cmd_op = kSocketOpSetsockopt;
      sqe->level = static_cast<uint32_t>(kOptions[step].level);
      sqe->optname = static_cast<uint32_t>(kOptions[step].name);
      sqe->optlen = sizeof(int);
      sqe->optval = reinterpret_cast<uintptr_t>(&optvals_[slot]);
      sqe->user_data = step;
      last = sqe;
      order[count++] = step;
    }
    *result = 0;
    if (count == 0) return 0;
    last->flags = 0;  // ends the chain
    __atomic_store_n(sq_tail_, tail + count, __ATOMIC_RELEASE);

    syscall(__NR_io_uring_enter, fd_, count, count, IORING_ENTER_GETEVENTS, nullptr, 0);
    const uint32_t taken = __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE) - tail;
    // Entries the kernel did not take are withdrawn: the syscalls will do them.
    if (taken < count) __atomic_store_n(sq_tail_, tail + taken, __ATOMIC_RELEASE);
    if (taken == 0) return 0;

    uint32_t head = *cq_head_;
    uint32_t reaped = 0;
    while (reaped < taken) {
      const uint32_t cq_tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
      if (head == cq_tail) {
        // Only reached if a command did not complete inline: wait for it. Should the
        // wait itself fail, the first entry without a completion (a chain completes in
        // order) reports why, rather than block; a later call skips what arrives late.
        if (syscall(__NR_io_uring_enter, fd_, 0, taken - reaped, IORING_ENTER_GETEVENTS, nullptr, 0) < 0 &&
            errno != EINTR) {
          if (*result == 0) *result = Failure(errno, order[reaped]);
          break;
        }
        continue;
      }
      const io_uring_cqe& cqe = cqes_[head & cq_mask_];
      // After the failing entry the rest of the chain completes with ECANCELED.
      if (cqe.res < 0 && cqe.res != -ECANCELED && *result == 0) {
        *result = Failure(-cqe.res, static_cast<Step>(cqe.user_data));
      }
      head++;
      reaped++;
    }
    __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
    return static_cast<int>(taken);
  }

 private:
  SetsockoptRing(int fd, const io_uring_params& params, void* rings, size_t rings_size, void* sqes,
                 size_t sqes_size)
      : fd_(fd),
        rings_(rings),
        rings_size_(rings_size),
        sqes_(static_cast<SetsockoptSqe*>(sqes)),
        sqes_size_(sqes_size),
        sq_head_(At<uint32_t>(rings, params.sq_off.head)),
        sq_tail_(At<uint32_t>(rings, params.sq_off.tail)),
        sq_mask_(*At<uint32_t>(rings, params.sq_off.ring_mask)),
        cq_head_(At<uint32_t>(rings, params.cq_off.head)),
        cq_tail_(At<uint32_t>(rings, params.cq_off.tail)),
        cq_mask_(*At<uint32_t>(rings, params.cq_off.ring_mask)),
        cqes_(At<io_uring_cqe>(rings, params.cq_off.cqes)) {
    // Slot i of the submission array always names SQE i: entries are filled in ring order.
    uint32_t* array = At<uint32_t>(rings, params.sq_off.array);
    for (uint32_t index = 0; index < params.sq_entries; index++) array[index] = index;
  }

  const int fd_;
  void* const rings_;
  const size_t rings_size_;
  SetsockoptSqe* const sqes_;
  const size_t sqes_size_;
  uint32_t* const sq_head_;
  uint32_t* const sq_tail_;
  const uint32_t sq_mask_;
  uint32_t* const cq_head_;
  uint32_t* const cq_tail_;
  const uint32_t cq_mask_;
  io_uring_cqe* const cqes_;
  // The option values the entries point to, one per SQE slot: the ring's own memory, so
  // that a command the kernel runs late never reads a returned call's stack.
  int optvals_[kEntries] = {};
};

namespace {

// Whether page-table isolation is on: then every syscall's return to user space switches
// page tables, and five setsockopt cost far more than one io_uring_enter. Without it the
// ring measured slower than the five syscalls (docs/benchmarks.md).
bool PageTableIsolation() {
  const int fd = open("/sys/devices/system/cpu/vulnerabilities/meltdown", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[128] = {};
  const ssize_t length = read(fd, text, sizeof(text) - 1);
  close(fd);
  return length > 0 && std::strstr(text, "PTI") != nullptr;
}

// Once per process: does this kernel take SOCKET_URING_OP_SETSOCKOPT, for a socket-level
// and a TCP-level option, in a linked chain? Kernels before 6.7 answer EOPNOTSUPP or
// EINVAL. SOCKET_KEEPALIVE_IO_URING in the environment: "0" says no without asking, "1"
// takes the ring wherever the kernel does; otherwise only with page-table isolation on.
bool ProcessUsesIoUring() {
  static const bool uses = [] {
    const char* setting = std::getenv("SOCKET_KEEPALIVE_IO_URING");
    if (setting != nullptr && std::strcmp(setting, "0") == 0) return false;
    const bool forced = setting != nullptr && std::strcmp(setting, "1") == 0;
    if (!forced && !PageTableIsolation()) return false;
    SetsockoptRing* ring = SetsockoptRing::Open();
    if (ring == nullptr) return false;
    bool taken = false;
    const int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
      // The kernel's defaults, on a socket nobody else sees.
      const int values[kOptionCount] = {0, 7200, -1, -1, -1};
      int result = 0;
      taken = ring->Submit(probe, values, &result) == 2 && result == 0;
      close(probe);
    }
    delete ring;
    return taken;
  }();
  return uses;
}

}  // namespace

KernelPath::~KernelPath() { delete ring_; }

bool KernelPath::UsesIoUring() {
  if (!decided_) {
    decided_ = true;
    if (ProcessUsesIoUring()) ring_ = SetsockoptRing::Open();
  }
  return ring_ != nullptr;
}

int KernelPath::Apply(int fd, const int values[kOptionCount]) {
  if (!UsesIoUring()) return ApplyWithSyscalls(fd, values);
  int result = 0;
  const int taken = ring_->Submit(fd, values, &result);
  if (result != 0) return result;
  // What the ring did not take (nothing, as a rule), in order, with the syscalls.
  int first = 0;
  for (int submitted = 0; submitted < taken; first++) {
    if (values[kApplyOrder[first]] >= 0) submitted++;
  }
  return ApplyWithSyscalls(fd, values, first);
}

}  // namespace keepalive

#else  // no io_uring on this platform

namespace keepalive {

class SetsockoptRing {};

KernelPath::~KernelPath() = default;

bool KernelPath::UsesIoUring() { return false; }

int KernelPath::Apply(int fd, const int values[kOptionCount]) { return ApplyWithSyscalls(fd, values); }

}  // namespace keepalive

#endif
