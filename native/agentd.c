/*
 * ascend-agentd: what stays resident of an agent that runs on demand (`ascend agent run
 * --idle-exit SECONDS`, issue 16). The Node agent checks its command line and the socket's
 * folder, then replaces itself with this program, which:
 *
 *   - binds the agent's socket (a stale socket file is replaced; a live agent's or any other
 *     file is refused), makes it 0666 and listens on it;
 *   - starts the agent (PROGRAM ARG..., the same command line) at once, with the listening
 *     socket as fd 3 and ASCEND_AGENT_LISTEN_FD=3, ASCEND_AGENT_STARTED=boot in its
 *     environment, and waits for it: the agent accepts and answers while it runs;
 *   - once the agent has rested (exit status 0 after its idle time), waits until a client
 *     connects (the connection waits in the socket's queue; the agent is started with
 *     ASCEND_AGENT_STARTED=request and accepts it) or WAKE-SECONDS pass (the agent is
 *     started for its housekeeping, with ASCEND_AGENT_STARTED=wake);
 *   - passes SIGTERM and SIGINT to a running agent and ends with it; without one, removes its
 *     socket and ends. SIGHUP is ignored.
 *
 * It never accepts a connection and reads nothing from one: nothing a user sends reaches it.
 * The agent is ended (SIGKILL) should this program die. An agent that fails (ends other than
 * by resting: a bad configuration, a crash, a kill) ends this program with its status and
 * the socket is removed: the service fails as it failed with a resident agent.
 *
 * Elevated programs run in the cgroups of this agent's instance (CGROUP-PARENT/<instance>/,
 * the instance id read from INSTANCE-FILE), outside the service's own cgroup: when the agent
 * fails, they are ended here (cgroup.kill), as no agent watches them any more; the next agent's
 * orphan cleanup removes their accounts. CGROUP-PARENT is "-" where no cgroup v2 is used.
 *
 * The agent rests with exit status 75 (REST_STATUS); any other end is a failure, or a stop
 * when this program passed it SIGTERM or SIGINT.
 *
 * Usage (run by the agent only):
 *   ascend-agentd SOCKET-PATH WAKE-SECONDS CGROUP-PARENT INSTANCE-FILE PROGRAM [ARG...]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The fd the agent finds its listening socket on. */
#define AGENT_FD 3
/* The agent's exit status when it rests (agent/daemon/launch.ts REST_EXIT_STATUS). */
#define REST_STATUS 75
/* The socket's queue: clients that connect while the agent starts wait in it. */
#define BACKLOG 511

static const char *sock_path;
static const char *cgroup_parent;
static const char *instance_file;
static dev_t sock_dev;
static ino_t sock_ino;

/* One line on stderr as the agent writes its own: time, level, message. */
static void say(const char *level, const char *fmt, ...) {
  char when[32] = "";
  struct timespec ts;
  struct tm tm;
  if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm)) {
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
  }
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* Nothing a user chose is ever in msg; control characters are dropped all the same. */
  for (char *p = msg; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  dprintf(2, "%s %s %s\n", when, level, msg);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Removes the socket file only if it is still the one this program bound. */
static void remove_socket(void) {
  struct stat st;
  if (lstat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == sock_dev && st.st_ino == sock_ino) unlink(sock_path);
}

/* Binds and listens on the socket; on failure says why and ends with status 1. */
static int bind_socket(void) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(sock_path) >= sizeof addr.sun_path) {
    say("error", "the socket path %s is longer than %zu bytes", sock_path, sizeof addr.sun_path - 1);
    exit(1);
  }
  strcpy(addr.sun_path, sock_path);
  struct stat st;
  if (lstat(sock_path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      say("error", "%s exists and is not a socket; not replacing it", sock_path);
      exit(1);
    }
    /* Non-blocking: a live agent whose queue is full answers EAGAIN at once. */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) {
      say("error", "cannot make a socket: %s", strerror(errno));
      exit(1);
    }
    int r = connect(probe, (struct sockaddr *)&addr, sizeof addr);
    int err = errno;
    close(probe);
    if (r == 0 || err == EAGAIN || err == EINPROGRESS) {
      say("error", "another agent is running on %s", sock_path);
      exit(1);
    }
    if (err != ECONNREFUSED && err != ENOENT) {
      say("error", "cannot tell whether an agent listens on %s: %s", sock_path, strerror(err));
      exit(1);
    }
    if (unlink(sock_path) != 0 && errno != ENOENT) {
      say("error", "cannot remove the stale socket %s: %s", sock_path, strerror(errno));
      exit(1);
    }
  } else if (errno != ENOENT) {
    say("error", "cannot examine %s: %s", sock_path, strerror(errno));
    exit(1);
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    say("error", "cannot make a socket: %s", strerror(errno));
    exit(1);
  }
  /* Bound 0600 (nobody connects before it listens and has its mode), then 0666. */
  mode_t old = umask(0177);
  int r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
  int err = errno;
  umask(old);
  if (r != 0) {
    say("error", "cannot listen on %s: %s", sock_path, err == EADDRINUSE ? "another agent is running" : strerror(err));
    exit(1);
  }
  if (lstat(sock_path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    say("error", "the socket %s went away as it was made", sock_path);
    exit(1);
  }
  sock_dev = st.st_dev;
  sock_ino = st.st_ino;
  if (chmod(sock_path, 0666) != 0 || listen(fd, BACKLOG) != 0) {
    say("error", "cannot set up the socket %s: %s", sock_path, strerror(errno));
    remove_socket();
    exit(1);
  }
  /* Kept above the agent's fd, so that the child's dup2 always makes a new fd 3. */
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (high < 0) {
    say("error", "cannot move the socket's fd: %s", strerror(errno));
    remove_socket();
    exit(1);
  }
  close(fd);
  return high;
}

/* Ends every process in the cgroup folder `dir` and below it, where cgroup.kill is missing
   (Linux before 5.14): each pid of each cgroup.procs, a few rounds. */
static void kill_tree(const char *dir, int depth) {
  char path[4096];
  if (depth > 8 || snprintf(path, sizeof path, "%s/cgroup.procs", dir) >= (int)sizeof path) return;
  for (int round = 0; round < 5; round++) {
    FILE *f = fopen(path, "re");
    if (!f) break;
    long pid;
    int any = 0;
    while (fscanf(f, "%ld", &pid) == 1) {
      if (pid > 1) {
        kill((pid_t)pid, SIGKILL);
        any = 1;
      }
    }
    fclose(f);
    if (!any) break;
    usleep(20000);
  }
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
    kill_tree(path, depth + 1);
  }
  closedir(d);
}

/* The agent failed: the processes of its elevations are ended (see the top of this file). */
static void end_elevations(void) {
  if (strcmp(cgroup_parent, "-") == 0) return;
  char id[64];
  int fd = open(instance_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return; /* no instance yet: no elevation was ever made */
  ssize_t n = read(fd, id, sizeof id - 1);
  close(fd);
  if (n < 16) return;
  id[n] = '\0';
  for (int i = 0; i < 16; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return;
  if (id[16] != '\n' && id[16] != '\0') return;
  id[16] = '\0';
  char dir[4096], kill_file[4200];
  if (snprintf(dir, sizeof dir, "%s/%s", cgroup_parent, id) >= (int)sizeof dir) return;
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return;
  snprintf(kill_file, sizeof kill_file, "%s/cgroup.kill", dir);
  int k = open(kill_file, O_WRONLY | O_CLOEXEC);
  if (k >= 0) {
    ssize_t w = write(k, "1", 1);
    close(k);
    if (w == 1) {
      say("warn", "the processes of this agent's elevations were ended (cgroup %s)", dir);
      return;
    }
  }
  kill_tree(dir, 0);
  say("warn", "the processes of this agent's elevations were ended (cgroup %s, one by one)", dir);
}

static pid_t start_agent(char **argv, int listen_fd, const sigset_t *blocked, const char *why) {
  pid_t self = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    say("error", "cannot start the agent: %s", strerror(errno));
    return -1;
  }
  if (pid > 0) return pid;
  /* The child: ended with this program (a SIGKILL of the service's main process ends the
     agent too, as it ended a resident one), signals as a new program expects them, the socket
     at fd 3. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != self) _exit(126);
  signal(SIGPIPE, SIG_DFL);
  sigprocmask(SIG_UNBLOCK, blocked, NULL);
  if (dup2(listen_fd, AGENT_FD) != AGENT_FD) _exit(126);
  if (setenv("ASCEND_AGENT_LISTEN_FD", "3", 1) != 0 || setenv("ASCEND_AGENT_STARTED", why, 1) != 0) _exit(126);
  execv(argv[0], argv);
  dprintf(2, "ascend-agentd: cannot run %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

int main(int argc, char **argv) {
  if (argc < 6) {
    dprintf(2, "ascend-agentd is started by `ascend agent run --idle-exit SECONDS`, not by hand\n");
    return 2;
  }
  sock_path = argv[1];
  char *end = NULL;
  errno = 0;
  long wake_s = strtol(argv[2], &end, 10);
  if (errno != 0 || end == argv[2] || *end != '\0' || wake_s < 1 || wake_s > 86400 * 7) {
    dprintf(2, "ascend-agentd: WAKE-SECONDS must be a whole number from 1 to 604800, not \"%s\"\n", argv[2]);
    return 2;
  }
  cgroup_parent = argv[3];
  instance_file = argv[4];
  if ((cgroup_parent[0] != '/' && strcmp(cgroup_parent, "-") != 0) || instance_file[0] != '/' || argv[5][0] != '/') {
    dprintf(2, "ascend-agentd: CGROUP-PARENT (or -), INSTANCE-FILE and PROGRAM must be absolute paths\n");
    return 2;
  }
  if (geteuid() != 0) {
    dprintf(2, "ascend-agentd: the agent runs as root\n");
    return 1;
  }
  char **agent_argv = argv + 5;

  /* Whatever the starter left ignored (SIGINT under `cmd &`) is taken back, so the signalfd
     sees it, and the agent does not inherit it. */
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGHUP);
  sigaddset(&blocked, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &blocked, NULL) != 0) return 1;
  int sfd = signalfd(-1, &blocked, SFD_CLOEXEC);
  if (sfd < 0) {
    say("error", "ascend-agentd: cannot wait for signals: %s", strerror(errno));
    return 1;
  }
  /* A client that leaves before its answer must not end this program. */
  signal(SIGPIPE, SIG_IGN);

  int lfd = bind_socket();
  const long long wake_ms = wake_s * 1000LL;
  int first = 1;
  const char *why = "boot";
  for (;;) {
    pid_t agent = start_agent(agent_argv, lfd, &blocked, why);
    int stopping = 0;
    int status = 0;
    if (agent > 0) {
      for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(sfd, &si, sizeof si);
        if (n != (ssize_t)sizeof si) {
          if (n < 0 && errno == EINTR) continue;
          say("error", "ascend-agentd: reading signals failed: %s", n < 0 ? strerror(errno) : "short read");
          kill(agent, SIGTERM);
          waitpid(agent, &status, 0);
          remove_socket();
          return 1;
        }
        if (si.ssi_signo == SIGCHLD) {
          pid_t w = waitpid(agent, &status, WNOHANG);
          if (w == agent) break;
          continue;
        }
        /* SIGTERM, SIGINT: the agent's to handle (it stops once, however often it is told).
           SIGHUP: nothing to reload; not passed on (the agent does not handle it). */
        if (si.ssi_signo == SIGHUP) continue;
        stopping = 1;
        kill(agent, (int)si.ssi_signo);
      }
    }
    int rested = agent > 0 && WIFEXITED(status) && WEXITSTATUS(status) == REST_STATUS;
    if (stopping) {
      remove_socket();
      if (agent <= 0) return 1;
      if (WIFEXITED(status)) return WEXITSTATUS(status) == REST_STATUS ? 0 : WEXITSTATUS(status);
      /* Told to stop before its handlers were in place: ended by that signal, as asked; what it
         left is the next start's orphan cleanup's. */
      end_elevations();
      return WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT ? 0 : 128 + WTERMSIG(status);
    }
    if (agent > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      /* Stopped cleanly, though not by this program (a SIGTERM sent to it alone): the service ends. */
      say("info", "the agent stopped; ascend-agentd ends with it");
      remove_socket();
      return 0;
    }
    if (!rested) {
      /* The agent failed (a bad configuration at its first start, a crash, a kill): the service
         fails with it (systemd starts it again), clients are refused rather than kept waiting,
         and the programs of its elevations, which no agent watches any more, are ended (they
         run outside the service's cgroup); the next agent's orphan cleanup removes their
         accounts. */
      remove_socket();
      end_elevations();
      if (agent <= 0) return 1;
      if (WIFSIGNALED(status)) {
        say("error", "the agent was ended by signal %d; ascend-agentd ends with it", WTERMSIG(status));
        return 128 + WTERMSIG(status);
      }
      if (!first) say("error", "the agent stopped with status %d; ascend-agentd ends with it", WEXITSTATUS(status));
      return WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1;
    }

    first = 0;
    /* Resting: wait for a client, the wake time or a signal. */
    long long wake_at = now_ms() + wake_ms;
    for (;;) {
      long long now = now_ms();
      struct pollfd fds[2] = {{.fd = sfd, .events = POLLIN}, {.fd = lfd, .events = POLLIN}};
      long long left = wake_at - now;
      int timeout = left <= 0 ? 0 : left > 3600000 ? 3600000 : (int)left;
      int r = poll(fds, 2, timeout);
      if (r < 0) {
        if (errno == EINTR) continue;
        say("error", "ascend-agentd: poll failed: %s", strerror(errno));
        remove_socket();
        return 1;
      }
      if (r > 0 && (fds[0].revents & POLLIN)) {
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
          if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            remove_socket();
            return 0;
          }
          /* SIGHUP: nothing to reload; SIGCHLD: none is due (the agent was reaped). */
        }
        continue;
      }
      if (r > 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) {
        why = "request";
        break;
      }
      if (now_ms() >= wake_at) {
        why = "wake";
        break;
      }
    }
  }
}
