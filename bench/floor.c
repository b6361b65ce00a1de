/* The floor for `npm run bench`: the five setsockopt calls of a full keepalive apply
 * (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT) on a
 * connected loopback TCP socket, in a loop, with values alternating every round as the
 * JavaScript contenders do. Prints nanoseconds per round: `floor ROUNDS`. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int set(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof(value));
}

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 100000;
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof(address);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (bind(listener, (struct sockaddr *)&address, sizeof(address)) || listen(listener, 1) ||
      getsockname(listener, (struct sockaddr *)&address, &length)) return perror("listen"), 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&address, sizeof(address))) return perror("connect"), 1;
  int accepted = accept(listener, NULL, NULL);

  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long round = 0; round < rounds; round++) {
    int odd = (int)(round & 1);
    if (set(fd, IPPROTO_TCP, TCP_KEEPIDLE, 5 + odd) || set(fd, IPPROTO_TCP, TCP_KEEPINTVL, 2 + odd) ||
        set(fd, IPPROTO_TCP, TCP_KEEPCNT, 3 + odd) || set(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 9000 + odd) ||
        set(fd, SOL_SOCKET, SO_KEEPALIVE, 1)) return perror("setsockopt"), 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
  printf("%.1f\n", ns / rounds);
  close(accepted);
  close(fd);
  close(listener);
  return 0;
}
