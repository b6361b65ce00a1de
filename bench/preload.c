/* What the preload library adds to a program's own calls (bench/preload.mjs runs it with and
 * without LD_PRELOAD). Two loops, each printing ns of CPU time (user + system, getrusage)
 * per iteration:
 *   echo N:  N x (socket, connect to a loopback echo server in a thread, write 1 byte, read
 *            it back, close): the library's work at connect, its table at close;
 *   close N: N x (dup of /dev/null, close): the interposed close() on a fd that is not one
 *            of its sockets, the one call every program makes all the time.
 * The test suite runs it under valgrind and the sanitizers too. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static double cpu_ns(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e9 + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e3;
}

static void* echo(void* argument) {
  int listener = *(int*)argument;
  for (;;) {
    int connection = accept(listener, NULL, NULL);
    if (connection < 0) return NULL;
    char byte;
    while (read(connection, &byte, 1) == 1)
      if (write(connection, &byte, 1) != 1) break;
    close(connection);
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s echo|close N\n", argv[0]);
    return 2;
  }
  long count = atol(argv[2]);
  if (strcmp(argv[1], "close") == 0) {
    int null = open("/dev/null", O_RDONLY);
    double start = cpu_ns();
    for (long i = 0; i < count; i++) close(dup(null));
    printf("%.1f\n", (cpu_ns() - start) / count);
    return 0;
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {0};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(listener, (struct sockaddr*)&address, length) != 0 || listen(listener, 128) != 0 ||
      getsockname(listener, (struct sockaddr*)&address, &length) != 0) {
    perror("listen");
    return 1;
  }
  pthread_t thread;
  pthread_create(&thread, NULL, echo, &listener);
  double start = cpu_ns();
  for (long i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char byte = 'x';
    if (connect(fd, (struct sockaddr*)&address, sizeof(address)) != 0 || write(fd, &byte, 1) != 1 ||
        read(fd, &byte, 1) != 1) {
      perror("echo");
      return 1;
    }
    close(fd);
  }
  printf("%.1f\n", (cpu_ns() - start) / count);
  return 0;
}
