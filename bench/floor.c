/* The floors for `npm run bench`, in C on a connected loopback TCP socket, values
 * alternating every round as the JavaScript contenders do. `floor MODE ROUNDS` prints
 * nanoseconds of CPU time (user + system) per round:
 *   set      the five setsockopt calls of a full keepalive apply (TCP_KEEPIDLE,
 *            TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT, SO_KEEPALIVE);
 *   get      the five getsockopt calls of a read;
 *   getppid  one getppid syscall: what entering the kernel costs on this machine.
 * Built with -DFLOOR_ADDON it is instead a Node-API module whose `setFive(fd, rounds)`
 * runs the same set loop on a socket of the calling Node process, in one call: the
 * syscalls inside Node, without a Node-API crossing per round. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#ifdef FLOOR_ADDON
#include <node_api.h>

static napi_value set_five_rounds(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  int64_t rounds = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &fd);
  napi_get_value_int64(env, argv[1], &rounds);
  for (long round = 0; round < rounds; round++) {
    if (set_five(fd, round)) {
      napi_throw_error(env, NULL, "setsockopt failed");
      return NULL;
    }
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value function;
  napi_create_function(env, "setFive", NAPI_AUTO_LENGTH, set_five_rounds, NULL, &function);
  napi_set_named_property(env, exports, "setFive", function);
  return exports;
}
#else
int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "set";
  long rounds = argc > 2 ? atol(argv[2]) : 100000;
  int (*step)(int, long) = strcmp(mode, "get") == 0       ? get_five
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
#endif
