/* stress: a small static test workload for memlens.
 *
 *   stress --rate MIB_PER_S --max MIB [--into anon|shmem|file] [--path DIR] [--serve PORT] [--churn MIB_PER_S] [--workers N]
 *
 * Allocates and touches memory at MIB_PER_S up to MIB (0 = without end), then holds it.
 *   anon  (default) heap memory (malloc + memset): what the kernel cannot reclaim
 *   shmem writes files into DIR, which must be memory-backed (tmpfs, emptyDir medium Memory)
 *   file  writes files into DIR on disk and reads them back: page cache, reclaimable
 * DIR is created (one level) when it does not exist.
 * --churn MIB_PER_S: once it holds MIB, it goes on allocating, touching and freeing 1 MiB at that
 * rate, as a service at its steady size does (its garbage), so every charge meets the cgroup's
 * limits again: over memory.high it is throttled for as long as it runs.
 * --serve PORT also answers HTTP on 0.0.0.0:PORT (any request: 200 "ok") from a child process
 * in the same cgroup that, like a real service, touches fresh memory for every request (256 KiB,
 * returned after): a readiness probe pointed at it succeeds at once, unless the cgroup's
 * allocations are throttled (memory.high), when it waits as long as the kernel makes it.
 * --workers N: the allocating runs in a child process, as in worker-pool servers (gunicorn,
 * php-fpm), started again a second after each time it dies, N workers in all (0 = without end);
 * after the last the parent idles. An OOM kill of a worker leaves the container running (on
 * cgroup v1, or v2 without memory.oom.group), so the container's status never shows it.
 * A line of progress is printed every second. SIGTERM/SIGINT end it with status 0. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024L * 1024L)

static volatile sig_atomic_t stopping = 0;
struct chunk {
  struct chunk *next;
  char data[];
};
static struct chunk *held;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void) {
  fprintf(stderr, "usage: stress --rate MIB_PER_S --max MIB [--into anon|shmem|file] [--path DIR] [--serve PORT] [--churn MIB_PER_S] [--workers N]\n");
  exit(2);
}

static double number_arg(const char *flag, const char *value) {
  char *end;
  double v = strtod(value, &end);
  if (*value == 0 || *end != 0 || v < 0) {
    fprintf(stderr, "stress: %s wants a non-negative number, got '%s'\n", flag, value);
    exit(2);
  }
  return v;
}

/* one MiB more of the chosen kind; returns 0 on success */
static int grow(const char *into, const char *path, long n, char *page_buf) {
  if (strcmp(into, "anon") == 0) {
    /* kept in a list the program can reach, and written through a volatile pointer, so the
     * compiler cannot drop the allocation: every page is touched and charged to the cgroup */
    struct chunk *c = malloc(sizeof *c + MIB);
    if (!c) return -1;
    volatile char *p = c->data;
    for (long off = 0; off < MIB; off += 4096) p[off] = (char)(n | 1);
    c->next = held;
    held = c;
    return 0;
  }
  char name[4096];
  snprintf(name, sizeof name, "%s/stress-%ld.bin", path, n);
  int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return -1;
  ssize_t w = write(fd, page_buf, MIB);
  close(fd);
  if (w != MIB) return -1;
  if (strcmp(into, "file") == 0) { /* read it back so the pages are cached, not only dirty */
    fd = open(name, O_RDONLY);
    if (fd >= 0) {
      while (read(fd, page_buf, MIB) > 0) {}
      close(fd);
    }
  }
  return 0;
}

/* the --serve child: one request at a time, each touching 256 KiB of fresh anonymous memory */
static void serve(int port) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 16) != 0) {
    fprintf(stderr, "stress: cannot serve on port %d: %s\n", port, strerror(errno));
    _exit(1);
  }
  static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    char req[1024];
    (void)read(c, req, sizeof req);
    size_t len = 256 * 1024;
    volatile char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
      for (size_t off = 0; off < len; off += 4096) m[off] = 1;
      munmap((void *)m, len);
    }
    (void)write(c, reply, sizeof reply - 1);
    close(c);
  }
}

/* --workers: returns in each new worker; the parent stays here until it is told to stop */
static void supervise(long workers) {
  struct sigaction stop = {.sa_handler = on_signal}; /* no SA_RESTART: a signal ends waitpid */
  sigaction(SIGTERM, &stop, NULL);
  sigaction(SIGINT, &stop, NULL);
  for (long started = 0; !stopping && (workers == 0 || started < workers); started++) {
    pid_t worker = fork();
    if (worker == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      return;
    }
    if (worker < 0) {
      fprintf(stderr, "stress: fork: %s\n", strerror(errno));
      exit(1);
    }
    printf("stress: worker pid %d started\n", (int)worker);
    int status;
    while (waitpid(worker, &status, 0) < 0) {
      if (errno != EINTR) exit(1);
      if (stopping) kill(worker, SIGTERM);
    }
    if (WIFSIGNALED(status)) printf("stress: worker pid %d killed by signal %d\n", (int)worker, WTERMSIG(status));
    else printf("stress: worker pid %d exited with %d\n", (int)worker, WEXITSTATUS(status));
    if (!stopping) sleep(1);
  }
  if (!stopping) printf("stress: all %ld workers started, idling\n", workers);
  while (!stopping) pause();
  exit(0);
}

int main(int argc, char **argv) {
  double rate = -1, max = -1, port = 0, churn = 0;
  const char *into = "anon", *path = NULL;
  double workers = -1;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage();
    if (strcmp(argv[i], "--rate") == 0) rate = number_arg("--rate", argv[++i]);
    else if (strcmp(argv[i], "--max") == 0) max = number_arg("--max", argv[++i]);
    else if (strcmp(argv[i], "--into") == 0) into = argv[++i];
    else if (strcmp(argv[i], "--path") == 0) path = argv[++i];
    else if (strcmp(argv[i], "--serve") == 0) port = number_arg("--serve", argv[++i]);
    else if (strcmp(argv[i], "--churn") == 0) churn = number_arg("--churn", argv[++i]);
    else if (strcmp(argv[i], "--workers") == 0) workers = number_arg("--workers", argv[++i]);
    else usage();
  }
  if (rate <= 0 || max < 0) usage();
  if (strcmp(into, "anon") != 0 && strcmp(into, "shmem") != 0 && strcmp(into, "file") != 0) usage();
  if (strcmp(into, "anon") != 0 && path == NULL) {
    fprintf(stderr, "stress: --into %s needs --path DIR\n", into);
    return 2;
  }
  if (path != NULL && mkdir(path, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "stress: cannot create --path %s: %s\n", path, strerror(errno));
    return 2;
  }
  if (port < 0 || port > 65535 || port != (int)port) usage();
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (port > 0) {
    pid_t child = fork();
    if (child == 0) serve((int)port);
    if (child < 0) {
      fprintf(stderr, "stress: fork: %s\n", strerror(errno));
      return 1;
    }
    printf("stress: serving HTTP on port %.0f (pid %d)\n", port, (int)child);
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  if (workers >= 0) supervise((long)workers);
  char *page_buf = malloc(MIB);
  if (!page_buf) return 1;
  memset(page_buf, 0x5a, MIB);

  long done = 0;
  double start = now(), last_report = start;
  printf("stress: %s at %.1f MiB/s up to %s%.0f MiB\n", into, rate, max == 0 ? "no end " : "", max);
  while (!stopping) {
    if (max > 0 && done >= (long)max) {
      printf("stress: holding %ld MiB%s\n", done, churn > 0 ? ", churning" : "");
      while (!stopping && churn <= 0) pause();
      while (!stopping) {
        volatile char *m = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) {
          for (long off = 0; off < MIB; off += 4096) m[off] = 1;
          munmap((void *)m, MIB);
        }
        struct timespec ts = {(time_t)(1 / churn), (long)((1 / churn - (time_t)(1 / churn)) * 1e9)};
        nanosleep(&ts, NULL);
      }
      break;
    }
    double due = start + (done + 1) / rate;
    double t = now();
    if (t < due) {
      double wait = due - t;
      struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
      nanosleep(&ts, NULL);
      continue;
    }
    if (grow(into, path, done, page_buf) != 0) {
      fprintf(stderr, "stress: could not add MiB %ld: %s\n", done + 1, strerror(errno));
      sleep(1);
      continue;
    }
    done++;
    if (t - last_report >= 1) {
      printf("stress: %ld MiB\n", done);
      last_report = t;
    }
  }
  return 0;
}
