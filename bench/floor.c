/* The floors for `npm run bench`, in C on a connected loopback TCP socket, values
 * alternating every round as the JavaScript contenders do. `floor MODE ROUNDS` prints
 * nanoseconds of CPU time (user + system) per round:
 *   set      the five setsockopt calls of a full keepalive apply (TCP_KEEPIDLE,
 *            TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, SO_KEEPALIVE);
 *   uring    the same five options as linked io_uring SOCKET_URING_OP_SETSOCKOPT
 *            commands with one io_uring_enter (Linux 6.7+; prints "unavailable" where
 *            the kernel refuses them), as the addon sends them;
 *   get      the five getsockopt calls of a read;
 *   getppid  one getppid syscall: what entering the kernel costs on this machine. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const int levels[5] = {IPPROTO_TCP, IPPROTO_TCP, IPPROTO_TCP, IPPROTO_TCP, SOL_SOCKET};
static const int names[5] = {TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, SO_KEEPALIVE};

static void values_of(long round, int values[5]) {
  int odd = (int)(round & 1);
  values[0] = 5 + odd, values[1] = 2 + odd, values[2] = 3 + odd, values[3] = 9000 + odd, values[4] = 1;
}

static int set_five(int fd, long round) {
  int values[5];
  values_of(round, values);
  for (int i = 0; i < 5; i++) {
    if (setsockopt(fd, levels[i], names[i], &values[i], sizeof(int))) return -1;
  }
  return 0;
}

static int get_five(int fd, long round) {
  (void)round;
  for (int i = 0; i < 5; i++) {
    int value;
    socklen_t length = sizeof(value);
    if (getsockopt(fd, levels[i], names[i], &value, &length)) return -1;
  }
  return 0;
}

static int ppid(int fd, long round) {
  (void)fd, (void)round;
  return syscall(SYS_getppid) > 0 ? 0 : -1;
}

/* The SQE fields of SOCKET_URING_OP_SETSOCKOPT (Linux 6.7), which older headers lack. */
struct setsockopt_sqe {
  uint8_t opcode, flags;
  uint16_t ioprio;
  int32_t fd;
  uint32_t cmd_op, pad1, level, optname, len, uring_cmd_flags;
  uint64_t user_data;
  uint16_t buf_index, personality;
  uint32_t optlen;
  uint64_t optval, pad2;
};
static struct {
  int fd;
  uint32_t *sq_tail, sq_mask, *cq_head, *cq_tail, cq_mask;
  struct setsockopt_sqe *sqes;
  struct io_uring_cqe *cqes;
} ring;

static int ring_open(void) {
  struct io_uring_params params;
  memset(&params, 0, sizeof(params));
  params.flags = (1U << 12) | (1U << 13); /* SINGLE_ISSUER | DEFER_TASKRUN, as the addon */
  ring.fd = (int)syscall(425 /* io_uring_setup */, 8, &params);
  if (ring.fd < 0) return -1;
  size_t size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
  if (params.sq_off.array + params.sq_entries * sizeof(uint32_t) > size) size = params.sq_off.array + params.sq_entries * sizeof(uint32_t);
  char *rings = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd, IORING_OFF_SQ_RING);
  ring.sqes = mmap(NULL, params.sq_entries * 64, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd, IORING_OFF_SQES);
  if (rings == MAP_FAILED || ring.sqes == MAP_FAILED) return -1;
  ring.sq_tail = (uint32_t *)(rings + params.sq_off.tail);
  ring.sq_mask = *(uint32_t *)(rings + params.sq_off.ring_mask);
  ring.cq_head = (uint32_t *)(rings + params.cq_off.head);
  ring.cq_tail = (uint32_t *)(rings + params.cq_off.tail);
  ring.cq_mask = *(uint32_t *)(rings + params.cq_off.ring_mask);
  ring.cqes = (struct io_uring_cqe *)(rings + params.cq_off.cqes);
  uint32_t *array = (uint32_t *)(rings + params.sq_off.array);
  for (uint32_t i = 0; i < params.sq_entries; i++) array[i] = i;
  return 0;
}

static int uring_five(int fd, long round) {
  int values[5];
  values_of(round, values);
  uint32_t tail = *ring.sq_tail;
  for (int i = 0; i < 5; i++) {
    struct setsockopt_sqe *sqe = &ring.sqes[(tail + i) & ring.sq_mask];
    memset(sqe, 0, sizeof(*sqe));
    sqe->opcode = 46; /* IORING_OP_URING_CMD */
    sqe->flags = i < 4 ? IOSQE_IO_LINK : 0;
    sqe->fd = fd;
    sqe->cmd_op = 3; /* SOCKET_URING_OP_SETSOCKOPT */
    sqe->level = (uint32_t)levels[i];
    sqe->optname = (uint32_t)names[i];
    sqe->optlen = sizeof(int);
    sqe->optval = (uintptr_t)&values[i];
  }
  __atomic_store_n(ring.sq_tail, tail + 5, __ATOMIC_RELEASE);
  if (syscall(426 /* io_uring_enter */, ring.fd, 5, 5, IORING_ENTER_GETEVENTS, NULL, 0) != 5) return -1;
  uint32_t head = *ring.cq_head, end = __atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE);
  int failed = end - head != 5;
  for (; head != end; head++) failed |= ring.cqes[head & ring.cq_mask].res < 0;
  __atomic_store_n(ring.cq_head, head, __ATOMIC_RELEASE);
  return failed ? -1 : 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "set";
  long rounds = argc > 2 ? atol(argv[2]) : 100000;
  int (*step)(int, long) = strcmp(mode, "get") == 0       ? get_five
                           : strcmp(mode, "uring") == 0   ? uring_five
                           : strcmp(mode, "getppid") == 0 ? ppid
                                                          : set_five;
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof(address);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (bind(listener, (struct sockaddr *)&address, sizeof(address)) || listen(listener, 1) ||
      getsockname(listener, (struct sockaddr *)&address, &length)) return perror("listen"), 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&address, sizeof(address))) return perror("connect"), 1;
  int accepted = accept(listener, NULL, NULL);
  if (step == uring_five && (ring_open() || uring_five(fd, 0))) return puts("unavailable"), 0;

  struct timespec start, end;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
  for (long round = 0; round < rounds; round++) {
    if (step(fd, round)) return perror(mode), 1;
  }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &end);
  double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
  printf("%.1f\n", ns / rounds);
  close(accepted);
  close(fd);
  close(listener);
  return 0;
}
