/* The pod sandbox's process: sleeps until told to stop, reaps nothing else (a hostNetwork-only
 * cluster needs no namespace holder beyond this). */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }

int main(void) {
  signal(SIGINT, stop);
  signal(SIGTERM, stop);
  for (;;) pause();
}
