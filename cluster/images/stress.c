/* stress: a small static test workload for memlens.
 *
 *   stress --rate MIB_PER_S --max MIB [--into anon|shmem|file] [--path DIR]
 *
 * Allocates and touches memory at MIB_PER_S up to MIB (0 = without end), then holds it.
 *   anon  (default) heap memory (malloc + memset): what the kernel cannot reclaim
 *   shmem writes files into DIR, which must be memory-backed (tmpfs, emptyDir medium Memory)
 *   file  writes files into DIR on disk and reads them back: page cache, reclaimable
 * DIR is created (one level) when it does not exist.
 * A line of progress is printed every second. SIGTERM/SIGINT end it with status 0. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
  fprintf(stderr, "usage: stress --rate MIB_PER_S --max MIB [--into anon|shmem|file] [--path DIR]\n");
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

int main(int argc, char **argv) {
  double rate = -1, max = -1;
  const char *into = "anon", *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage();
    if (strcmp(argv[i], "--rate") == 0) rate = number_arg("--rate", argv[++i]);
    else if (strcmp(argv[i], "--max") == 0) max = number_arg("--max", argv[++i]);
    else if (strcmp(argv[i], "--into") == 0) into = argv[++i];
    else if (strcmp(argv[i], "--path") == 0) path = argv[++i];
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
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  setvbuf(stdout, NULL, _IOLBF, 0);
  char *page_buf = malloc(MIB);
  if (!page_buf) return 1;
  memset(page_buf, 0x5a, MIB);

  long done = 0;
  double start = now(), last_report = start;
  printf("stress: %s at %.1f MiB/s up to %s%.0f MiB\n", into, rate, max == 0 ? "no end " : "", max);
  while (!stopping) {
    if (max > 0 && done >= (long)max) {
      printf("stress: holding %ld MiB\n", done);
      while (!stopping) pause();
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
