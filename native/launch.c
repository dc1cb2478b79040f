/*
 * ascend-launch: every elevated program on Linux is started through this small root helper
 * (agent/executor/launcher.ts runs it; scripts/build-native.js builds it into
 * build/native/ascend-launch).
 *
 *   ascend-launch --cwd DIR --as-uid N --as-gid N [--as-groups G,G...]
 *                 [--uid N --gid N --groups G,G...] [--cgroup-procs FILE] -- ARGV0 [ARG...]
 *
 * Inherited: fds 0-2 (the program's stdio), fd 3 (a control socket to the agent), fd 4 (the
 * judged program, opened by the agent). The environment is the program's environment.
 *
 *  1. --cgroup-procs: the launcher writes its own pid into that cgroup.procs (a cgroup2 file,
 *     opened without following links) before anything else, so every process it makes is
 *     born inside the cgroup.
 *  2. Every fd above 4 is closed; the program gets only 0-2 (and fd 4 for a #! script, which
 *     the kernel hands to the interpreter as /dev/fd/4).
 *  3. The working folder is opened AS THE REQUESTER (--as-uid/--as-gid/--as-groups), so path
 *     resolution cannot pass a folder the requester could not, and entered by handle; '/'
 *     when that fails. The folder used is reported to the agent.
 *  4. fork. The child installs a seccomp filter (below) while still root, hands the filter's
 *     listener to the parent, drops to --uid/--gid/--groups (no capabilities left, ambient
 *     and inheritable sets cleared; no_new_privs stays off so set-uid programs behave as for
 *     any member of the groups), and runs the program from fd 4 with execveat(AT_EMPTY_PATH):
 *     never by reopening the path.
 *  5. The parent stays root and supervises: every later execve/execveat in the tree stops in
 *     the kernel until the parent has read the path and argv from /proc/PID/mem, asked the
 *     agent over fd 3 and answered (allow: the exec continues; deny, anything unreadable or
 *     oversized, a lost agent or no answer in time: EPERM). When the parent is gone the
 *     kernel fails every further exec in the tree (ENOSYS): fail closed. It forwards SIGINT,
 *     SIGTERM and SIGHUP to the program's process group and exits as the program did.
 *
 * The filter, besides exec: EPERM for chmod/fchmod/fchmodat/fchmodat2 with a set-uid or
 * set-gid bit, for open/openat/creat/mknod/mknodat creating a file with one of them, for
 * io_uring_setup/io_uring_enter/io_uring_register (a ring made outside can be passed in), setns,
 * and unshare/clone with CLONE_NEWUSER or CLONE_NEWNS; ENOSYS for
 * openat2 and clone3 (libc falls back to openat and clone, whose arguments it checks) and for
 * x32 system calls; any architecture but x86_64 kills the process.
 *
 * Protocol on fd 3, one JSON object a line:
 *   launcher -> agent  {"type":"started","pid":N,"cwd":"..."}
 *                      {"type":"exec","id":"N","pid":N,"path":"...","exe":"...","argv":[...]}
 *                      {"type":"error","message":"..."}   (could not start; exit 125)
 *   agent -> launcher  "allow ID" or "deny ID"; "allow 0" is the go for the program's own
 *                      first exec (sent once the elevation is recorded), "deny 0" cancels it
 *
 * The exec path is read from the process's memory: another thread of that process can change
 * the string after it was read (TOCTOU). A denylist built on this stops ordinary nesting
 * (env bash, sh -c bash, find -exec bash); it cannot stop a determined elevated process or a
 * renamed copy. Allow rules are the strong control.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#ifndef __x86_64__
#error "ascend-launch supports x86_64 only"
#endif

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#define X32_SYSCALL_BIT 0x40000000u
#define O_TMPFILE_BIT 020000000u

#define CONTROL_FD 3
#define PROGRAM_FD 4
#define MAX_GROUPS 256
#define MAX_PATH_BYTES 4096
#define MAX_ARGS 4096
#define MAX_ARG_BYTES (256 * 1024)
#define ANSWER_TIMEOUT_MS 15000
#define EXIT_LAUNCH_FAILED 125

struct options {
  const char *cwd;
  const char *cgroup_procs;
  long as_uid, as_gid, uid, gid;
  gid_t as_groups[MAX_GROUPS];
  int n_as_groups;
  gid_t groups[MAX_GROUPS];
  int n_groups;
  int has_groups;
  char **argv;
};

/* ---------- output on fd 3 ---------- */

struct buf {
  char *p;
  size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_fmt(struct buf *b, const char *fmt, long long v) {
  char tmp[64];
  int n = snprintf(tmp, sizeof tmp, fmt, v);
  buf_add(b, tmp, (size_t)n);
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) len = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) len = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) len = 4, min = 0x10000;
  else return 0;
  if (len > n) return 0;
  unsigned cp = c & (0xff >> (len + 1));
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

static int valid_utf8(const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    size_t l = utf8_len((const unsigned char *)s + i, n - i);
    if (!l) return 0;
    i += l;
  }
  return 1;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD, control characters are escaped. */
static void buf_json(struct buf *b, const char *s) {
  size_t n = strlen(s);
  buf_add(b, "\"", 1);
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      buf_add(b, "\\", 1);
      buf_add(b, (const char *)&s[i], 1);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      buf_fmt(b, "\\u%04llx", c);
      i++;
    } else {
      size_t l = utf8_len((const unsigned char *)s + i, n - i);
      if (l) buf_add(b, s + i, l);
      else buf_str(b, "\\ufffd");
      i += l ? l : 1;
    }
  }
  buf_add(b, "\"", 1);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int send_line(struct buf *b) {
  buf_add(b, "\n", 1);
  return write_all(CONTROL_FD, b->p, b->len);
}

/* Before the program started: say why on fd 3 (and stderr) and exit 125. */
static void fail_start(const char *what, int err) {
  char msg[512];
  if (err) snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  else snprintf(msg, sizeof msg, "%s", what);
  struct buf b = {0};
  buf_str(&b, "{\"type\":\"error\",\"message\":");
  buf_json(&b, msg);
  buf_str(&b, "}");
  if (send_line(&b) != 0) dprintf(2, "ascend-launch: %s\n", msg);
  _exit(EXIT_LAUNCH_FAILED);
}

/* ---------- arguments ---------- */

static int parse_id(const char *s, long *out) {
  if (!s || !*s || strlen(s) > 10) return -1;
  long v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (*p - '0');
  }
  if (v > 0xfffffffeL || (s[0] == '0' && s[1])) return -1;
  *out = v;
  return 0;
}

static int parse_groups(const char *s, gid_t *out, int *n) {
  *n = 0;
  if (!s) return -1;
  if (!*s) return 0;
  char tmp[MAX_GROUPS * 12];
  if (strlen(s) >= sizeof tmp) return -1;
  strcpy(tmp, s);
  char *save = NULL;
  for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    long v;
    if (*n >= MAX_GROUPS || parse_id(tok, &v) != 0) return -1;
    out[(*n)++] = (gid_t)v;
  }
  return 0;
}

static void parse_options(int argc, char **argv, struct options *o) {
  memset(o, 0, sizeof *o);
  o->as_uid = o->as_gid = o->uid = o->gid = -1;
  int seen_as_groups = 0;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (i + 1 >= argc) fail_start("bad arguments: an option without a value", 0);
    const char *v = argv[++i];
    long *num = NULL;
    if (strcmp(a, "--cwd") == 0 && !o->cwd) o->cwd = v;
    else if (strcmp(a, "--cgroup-procs") == 0 && !o->cgroup_procs) o->cgroup_procs = v;
    else if (strcmp(a, "--as-uid") == 0 && o->as_uid < 0) num = &o->as_uid;
    else if (strcmp(a, "--as-gid") == 0 && o->as_gid < 0) num = &o->as_gid;
    else if (strcmp(a, "--uid") == 0 && o->uid < 0) num = &o->uid;
    else if (strcmp(a, "--gid") == 0 && o->gid < 0) num = &o->gid;
    else if (strcmp(a, "--as-groups") == 0 && !seen_as_groups) {
      seen_as_groups = 1;
      if (parse_groups(v, o->as_groups, &o->n_as_groups) != 0) fail_start("bad arguments: --as-groups", 0);
    } else if (strcmp(a, "--groups") == 0 && !o->has_groups) {
      o->has_groups = 1;
      if (parse_groups(v, o->groups, &o->n_groups) != 0) fail_start("bad arguments: --groups", 0);
    } else fail_start("bad arguments: unknown or repeated option", 0);
    if (num && parse_id(v, num) != 0) fail_start("bad arguments: not a uid or gid", 0);
  }
  if (i >= argc || !argv[i][0]) fail_start("bad arguments: no program after --", 0);
  o->argv = argv + i;
  if (!o->cwd || o->cwd[0] != '/') fail_start("bad arguments: --cwd must be an absolute path", 0);
  if (o->as_uid < 0 || o->as_gid < 0) fail_start("bad arguments: --as-uid and --as-gid are required", 0);
  int account = o->uid >= 0 || o->gid >= 0 || o->has_groups;
  if (account && (o->uid <= 0 || o->gid < 0 || !o->has_groups)) fail_start("bad arguments: --uid (not 0), --gid and --groups go together", 0);
  if (o->cgroup_procs && o->cgroup_procs[0] != '/') fail_start("bad arguments: --cgroup-procs must be an absolute path", 0);
}

/* ---------- set-up steps ---------- */

static void join_cgroup(const char *procs) {
  int fd = open(procs, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail_start("cannot open the cgroup", errno);
  struct statfs sf;
  if (fstatfs(fd, &sf) != 0) fail_start("cannot check the cgroup", errno);
  if (sf.f_type != CGROUP2_SUPER_MAGIC) fail_start("the cgroup file is not on a cgroup2 filesystem", 0);
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  if (write(fd, pid, (size_t)n) != n) fail_start("cannot join the cgroup", errno);
  close(fd);
}

/* Enters the working folder as the requester would (their uid, gid and groups resolve the
 * path and need search permission); '/' when they cannot. Returns the folder entered. */
static void enter_cwd(const struct options *o, char *used, size_t usedLen) {
  gid_t saved[MAX_GROUPS];
  int n_saved = getgroups(MAX_GROUPS, saved);
  if (n_saved < 0) fail_start("getgroups", errno);
  int ok = 0;
  if (setgroups((size_t)o->n_as_groups, o->as_groups) == 0 && setegid((gid_t)o->as_gid) == 0 && seteuid((uid_t)o->as_uid) == 0) {
    int fd = open(o->cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ok = fchdir(fd) == 0;
      close(fd);
    }
  }
  /* Back to root: the real and saved ids stayed 0. Any failure here is fatal. */
  if (seteuid(0) != 0 || setegid(0) != 0 || setgroups((size_t)n_saved, saved) != 0) fail_start("cannot restore root after entering the folder", errno);
  ssize_t n = ok ? readlink("/proc/self/cwd", used, usedLen - 1) : -1;
  if (n <= 0 || used[0] != '/' || (size_t)n >= usedLen - 1) {
    if (chdir("/") != 0) fail_start("chdir /", errno);
    strcpy(used, "/");
    return;
  }
  used[n] = '\0';
}

/* ---------- the seccomp filter ---------- */

#define MAX_INSNS 256
struct prog {
  struct sock_filter f[MAX_INSNS];
  unsigned short n;
};

static void ins(struct prog *p, struct sock_filter x) {
  if (p->n >= MAX_INSNS) abort();
  p->f[p->n++] = x;
}

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARG(k) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args) + 8 * (k))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define RET_ERRNO(e) RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

/* "if nr == NR: <body>" where body always returns; the jump skips it otherwise. */
static void rule(struct prog *p, unsigned nr, const struct sock_filter *body, unsigned char len) {
  ins(p, (struct sock_filter)LD_NR);
  ins(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, len));
  for (unsigned i = 0; i < len; i++) ins(p, body[i]);
}

static void rule_ret(struct prog *p, unsigned nr, unsigned ret) {
  struct sock_filter body[] = {RET(ret)};
  rule(p, nr, body, 1);
}

/* EPERM when args[k] (a mode) has S_ISUID or S_ISGID. */
static void rule_mode(struct prog *p, unsigned nr, unsigned k) {
  struct sock_filter body[] = {
      LD_ARG(k),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, S_ISUID | S_ISGID, 0, 1),
      RET_ERRNO(EPERM),
      RET(SECCOMP_RET_ALLOW),
  };
  rule(p, nr, body, 4);
}

/* EPERM when args[flags] has O_CREAT or O_TMPFILE and args[mode] a set-uid or set-gid bit. */
static void rule_open(struct prog *p, unsigned nr, unsigned flags, unsigned mode) {
  struct sock_filter body[] = {
      LD_ARG(flags),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_CREAT | O_TMPFILE_BIT, 0, 3),
      LD_ARG(mode),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, S_ISUID | S_ISGID, 0, 1),
      RET_ERRNO(EPERM),
      RET(SECCOMP_RET_ALLOW),
  };
  rule(p, nr, body, 6);
}

/* EPERM when args[0] (clone/unshare flags) asks for a new user or mount namespace. */
static void rule_ns(struct prog *p, unsigned nr) {
  struct sock_filter body[] = {
      LD_ARG(0),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER | CLONE_NEWNS, 0, 1),
      RET_ERRNO(EPERM),
      RET(SECCOMP_RET_ALLOW),
  };
  rule(p, nr, body, 4);
}

static void build_filter(struct prog *p) {
  p->n = 0;
  ins(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  ins(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  ins(p, (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS));
  ins(p, (struct sock_filter)LD_NR);
  ins(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1));
  ins(p, (struct sock_filter)RET_ERRNO(ENOSYS));
  rule_ret(p, __NR_execve, SECCOMP_RET_USER_NOTIF);
  rule_ret(p, __NR_execveat, SECCOMP_RET_USER_NOTIF);
  rule_ret(p, __NR_openat2, SECCOMP_RET_ERRNO | ENOSYS);
  rule_ret(p, __NR_clone3, SECCOMP_RET_ERRNO | ENOSYS);
  rule_ret(p, __NR_io_uring_setup, SECCOMP_RET_ERRNO | EPERM);
  /* A ring set up outside the tree can be passed in over a socket (SCM_RIGHTS); its openat
   * with O_CREAT never passes the checks below. So using a ring is refused too. */
  rule_ret(p, __NR_io_uring_enter, SECCOMP_RET_ERRNO | EPERM);
  rule_ret(p, __NR_io_uring_register, SECCOMP_RET_ERRNO | EPERM);
  rule_ret(p, __NR_setns, SECCOMP_RET_ERRNO | EPERM);
  rule_ns(p, __NR_unshare);
  rule_ns(p, __NR_clone);
  rule_mode(p, __NR_chmod, 1);
  rule_mode(p, __NR_fchmod, 1);
  rule_mode(p, __NR_fchmodat, 2);
  rule_mode(p, __NR_fchmodat2, 2);
  rule_mode(p, __NR_creat, 1);
  rule_mode(p, __NR_mknod, 1);
  rule_mode(p, __NR_mknodat, 2);
  rule_open(p, __NR_open, 1, 2);
  rule_open(p, __NR_openat, 2, 3);
  ins(p, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
}

/* ---------- the child: filter, credentials, exec ---------- */

static void send_fd(int sock, int fd) {
  char dummy = 'L';
  struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  while (sendmsg(sock, &msg, 0) < 0) {
    if (errno != EINTR) fail_start("cannot hand the seccomp listener over", errno);
  }
}

static int recv_fd(int sock) {
  char dummy;
  struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n != 1) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static void clear_inheritable_caps(void) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) != 0) fail_start("capget", errno);
  d[0].inheritable = d[1].inheritable = 0;
  if (syscall(SYS_capset, &h, d) != 0) fail_start("capset", errno);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) fail_start("clearing the ambient capabilities", errno);
}

static void die_child(const char *what, int err) {
  dprintf(2, "ascend-launch: %s: %s\n", what, strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}

static void run_child(const struct options *o, int sock, const sigset_t *oldmask) {
  if (setpgid(0, 0) != 0) fail_start("setpgid", errno);
  struct prog p;
  build_filter(&p);
  struct sock_fprog fp = {.len = p.n, .filter = p.f};
  int listener = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
  if (listener < 0) fail_start("cannot install the seccomp filter", errno);
  send_fd(sock, listener);
  close(listener);
  close(sock);
  /* From here the parent has said "started": failures go to the program's stderr. */
  close(CONTROL_FD);
  struct stat st;
  if (fstat(PROGRAM_FD, &st) != 0 || !S_ISREG(st.st_mode)) die_child("the program is not a regular file", EACCES);
  char magic[2] = {0, 0};
  int script = pread(PROGRAM_FD, magic, 2, 0) == 2 && magic[0] == '#' && magic[1] == '!';
  /* A #! script is run by its interpreter as /dev/fd/4, which must stay open. */
  if (!script && fcntl(PROGRAM_FD, F_SETFD, FD_CLOEXEC) != 0) die_child("fcntl", errno);
  if (syscall(__NR_close_range, PROGRAM_FD + 1, ~0U, 0) != 0) die_child("close_range", errno);
  if (o->uid > 0) {
    gid_t gids[MAX_GROUPS + 1];
    int n = 0;
    gids[n++] = (gid_t)o->gid;
    for (int i = 0; i < o->n_groups; i++) gids[n++] = o->groups[i];
    if (setgroups((size_t)n, gids) != 0) die_child("setgroups", errno);
    if (setresgid((gid_t)o->gid, (gid_t)o->gid, (gid_t)o->gid) != 0) die_child("setresgid", errno);
    clear_inheritable_caps();
    if (setresuid((uid_t)o->uid, (uid_t)o->uid, (uid_t)o->uid) != 0) die_child("setresuid", errno);
    uid_t r, e, s;
    if (getresuid(&r, &e, &s) != 0 || r != (uid_t)o->uid || e != (uid_t)o->uid || s != (uid_t)o->uid) die_child("the uid did not change", EPERM);
  } else {
    clear_inheritable_caps();
  }
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, oldmask, NULL);
  extern char **environ;
  syscall(__NR_execveat, PROGRAM_FD, "", o->argv, environ, AT_EMPTY_PATH);
  die_child(o->argv[0], errno);
}

/* ---------- the parent: the supervisor ---------- */

static int listener = -1;
static int agent_lost = 0;
static char answer_buf[256];
static size_t answer_len = 0;

/* Reads a NUL-terminated string of at most max bytes (terminator excluded) at addr. */
static char *read_string(int mem, uint64_t addr, size_t max) {
  char *s = malloc(max + 1);
  if (!s) return NULL;
  size_t got = 0;
  while (got <= max) {
    size_t page = 4096 - ((addr + got) & 4095);
    size_t want = max + 1 - got < page ? max + 1 - got : page;
    ssize_t n = pread(mem, s + got, want, (off_t)(addr + got));
    if (n <= 0) break;
    void *nul = memchr(s + got, '\0', (size_t)n);
    if (nul) return s;
    got += (size_t)n;
  }
  free(s);
  return NULL;
}

static void free_argv(char **argv, size_t n) {
  for (size_t i = 0; i < n; i++) free(argv[i]);
  free(argv);
}

/* argv of the exec: NULL when unreadable or over the bounds. */
static char **read_argv(int mem, uint64_t addr, size_t *count) {
  *count = 0;
  char **argv = calloc(MAX_ARGS + 1, sizeof(char *));
  if (!argv) return NULL;
  if (addr == 0) return argv;
  size_t total = 0;
  for (size_t i = 0;; i++) {
    uint64_t ptr;
    if (pread(mem, &ptr, sizeof ptr, (off_t)(addr + 8 * i)) != (ssize_t)sizeof ptr) break;
    if (ptr == 0) return argv;
    if (i >= MAX_ARGS || total >= MAX_ARG_BYTES) break;
    char *s = read_string(mem, ptr, MAX_ARG_BYTES - total);
    if (!s) break;
    total += strlen(s) + 1;
    argv[i] = s;
    *count = i + 1;
  }
  free_argv(argv, *count);
  *count = 0;
  return NULL;
}

static int read_link(const char *path, char *out, size_t len) {
  ssize_t n = readlink(path, out, len - 1);
  if (n <= 0 || (size_t)n >= len - 1) return -1;
  out[n] = '\0';
  return 0;
}

/* The absolute path an exec names: `name` relative to the dirfd's folder (or cwd), inside the
 * process's root. -1 when it cannot be told. */
static int exec_path(pid_t pid, int dirfd, const char *name, int empty_path, char *out, size_t len) {
  char link[64], base[PATH_MAX], root[PATH_MAX];
  snprintf(link, sizeof link, "/proc/%d/root", (int)pid);
  if (read_link(link, root, sizeof root) != 0 || strcmp(root, "/") != 0) return -1; /* chroot: not told apart */
  if (empty_path && name[0] == '\0') {
    if (dirfd < 0) return -1;
    snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, dirfd);
    return read_link(link, out, len);
  }
  if (name[0] == '\0') return -1;
  if (name[0] == '/') {
    if (strlen(name) >= len) return -1;
    strcpy(out, name);
    return 0;
  }
  if (dirfd == AT_FDCWD) snprintf(link, sizeof link, "/proc/%d/cwd", (int)pid);
  else if (dirfd >= 0) snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, dirfd);
  else return -1;
  if (read_link(link, base, sizeof base) != 0 || base[0] != '/') return -1;
  int n = snprintf(out, len, "%s%s%s", base, strcmp(base, "/") == 0 ? "" : "/", name);
  return n > 0 && (size_t)n < len ? 0 : -1;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t child_pid;
static int child_status;
static int child_done = 0;

static void handle_signal(int sigfd) {
  struct signalfd_siginfo si;
  while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
    int sig = (int)si.ssi_signo;
    if (sig == SIGCHLD) {
      int st;
      pid_t r;
      while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
        if (r == child_pid) {
          child_status = st;
          child_done = 1;
        }
      }
    } else if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      if (!child_done && kill(-child_pid, sig) != 0) kill(child_pid, sig);
    }
  }
}

/* Waits for "allow ID" or "deny ID" on fd 3: 1 allow, 0 deny (or anything else). */
static int await_answer(uint64_t id, int sigfd) {
  long long deadline = now_ms() + ANSWER_TIMEOUT_MS;
  for (;;) {
    char *nl = memchr(answer_buf, '\n', answer_len);
    while (nl) {
      *nl = '\0';
      char word[8];
      unsigned long long got;
      char extra;
      int verdict = -1;
      if (sscanf(answer_buf, "%7s %llu%c", word, &got, &extra) == 2) {
        if (strcmp(word, "allow") == 0) verdict = 1;
        else if (strcmp(word, "deny") == 0) verdict = 0;
      }
      size_t used = (size_t)(nl - answer_buf) + 1;
      memmove(answer_buf, nl + 1, answer_len - used);
      answer_len -= used;
      if (verdict < 0) {
        agent_lost = 1; /* the agent speaks nonsense: ask it nothing more */
        return 0;
      }
      if (got == id) return verdict;
      /* a late answer to an earlier question that timed out: skip it */
      nl = memchr(answer_buf, '\n', answer_len);
    }
    if (answer_len >= sizeof answer_buf - 1) {
      agent_lost = 1;
      return 0;
    }
    long long left = deadline - now_ms();
    if (left <= 0) return 0;
    struct pollfd pf[2] = {{.fd = CONTROL_FD, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
    int r = poll(pf, 2, (int)left);
    if (r < 0) {
      if (errno == EINTR) continue;
      agent_lost = 1;
      return 0;
    }
    if (pf[1].revents & POLLIN) handle_signal(sigfd);
    if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(CONTROL_FD, answer_buf + answer_len, sizeof answer_buf - 1 - answer_len);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        agent_lost = 1;
        return 0;
      }
      answer_len += (size_t)n;
    }
  }
}

static int first_exec_pending = 1;

/* One exec notification: 0 to let it go on, else the errno it fails with. */
static int judge(struct seccomp_notif *req, int sigfd) {
  if (req->data.arch != AUDIT_ARCH_X86_64) return EPERM;
  int nr = req->data.nr;
  if (nr != __NR_execve && nr != __NR_execveat) return EPERM;
  if (first_exec_pending && (pid_t)req->pid == child_pid && nr == __NR_execveat) {
    /* The launcher's own exec of the judged program. It waits for the agent's go ("allow 0"),
     * which comes once the elevation is on record (its event durable with this pid): no program
     * runs that the audit trail does not know, and one whose agent died meanwhile never runs. */
    first_exec_pending = 0;
    return await_answer(0, sigfd) ? 0 : EPERM;
  }
  if (req->id == 0) return EPERM; /* id 0 is the start gate's */
  if (agent_lost) return EPERM;
  pid_t pid = (pid_t)req->pid;
  char memPath[64];
  snprintf(memPath, sizeof memPath, "/proc/%d/mem", (int)pid);
  int mem = open(memPath, O_RDONLY | O_CLOEXEC);
  if (mem < 0) return EPERM;
  uint64_t pathAddr = nr == __NR_execve ? req->data.args[0] : req->data.args[1];
  uint64_t argvAddr = nr == __NR_execve ? req->data.args[1] : req->data.args[2];
  int dirfd = nr == __NR_execve ? AT_FDCWD : (int)req->data.args[0];
  int empty = nr == __NR_execveat && (req->data.args[4] & AT_EMPTY_PATH);
  char *name = read_string(mem, pathAddr, MAX_PATH_BYTES);
  size_t argc = 0;
  char **argv = name ? read_argv(mem, argvAddr, &argc) : NULL;
  close(mem);
  char path[PATH_MAX + MAX_PATH_BYTES + 2], exe[PATH_MAX], link[64];
  int ok = name && argv && exec_path(pid, dirfd, name, empty, path, sizeof path) == 0 && valid_utf8(path);
  snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
  if (ok && read_link(link, exe, sizeof exe) != 0) exe[0] = '\0';
  /* What was read belongs to the process that is still waiting in this very exec. */
  if (ok && ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) != 0) ok = 0;
  /* A name that is not there fails as the kernel would fail it (execvp then tries the next
   * PATH entry), without asking; it is looked at again when the exec goes on. */
  struct stat st;
  if (ok && stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
    int missing = errno;
    free(name);
    free_argv(argv, argc);
    return missing;
  }
  int verdict = 0;
  if (ok) {
    struct buf b = {0};
    buf_str(&b, "{\"type\":\"exec\",\"id\":\"");
    buf_fmt(&b, "%llu", (long long)req->id);
    buf_str(&b, "\",\"pid\":");
    buf_fmt(&b, "%lld", (long long)pid);
    buf_str(&b, ",\"path\":");
    buf_json(&b, path);
    buf_str(&b, ",\"exe\":");
    buf_json(&b, exe);
    buf_str(&b, ",\"argv\":[");
    for (size_t i = 0; i < argc; i++) {
      if (i) buf_str(&b, ",");
      buf_json(&b, argv[i]);
    }
    buf_str(&b, "]}");
    if (send_line(&b) != 0) agent_lost = 1;
    else verdict = await_answer(req->id, sigfd);
    free(b.p);
  }
  free(name);
  if (argv) free_argv(argv, argc);
  return verdict ? 0 : EPERM;
}

static void serve_one(struct seccomp_notif *req, size_t reqSize, struct seccomp_notif_resp *resp, size_t respSize, int sigfd) {
  memset(req, 0, reqSize);
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) return; /* ENOENT: the task is gone */
  int err = judge(req, sigfd);
  memset(resp, 0, respSize);
  resp->id = req->id;
  if (err == 0) resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  else resp->error = -err;
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp); /* ENOENT: the task is gone */
}

static void exit_like_child(void) {
  if (WIFEXITED(child_status)) _exit(WEXITSTATUS(child_status));
  if (WIFSIGNALED(child_status)) {
    int sig = WTERMSIG(child_status);
    signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    raise(sig);
    _exit(128 + sig);
  }
  _exit(EXIT_LAUNCH_FAILED);
}

static void supervise(int sigfd) {
  struct seccomp_notif_sizes sizes;
  if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
    kill(child_pid, SIGKILL);
    fail_start("SECCOMP_GET_NOTIF_SIZES", errno);
  }
  size_t reqSize = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif : sizeof(struct seccomp_notif);
  size_t respSize = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ? sizes.seccomp_notif_resp : sizeof(struct seccomp_notif_resp);
  struct seccomp_notif *req = calloc(1, reqSize);
  struct seccomp_notif_resp *resp = calloc(1, respSize);
  if (!req || !resp) abort();
  int listening = 1;
  while (!child_done) {
    struct pollfd pf[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = listening ? listener : -1, .events = POLLIN}};
    int r = poll(pf, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pf[0].revents & POLLIN) handle_signal(sigfd);
    if (child_done) break;
    if (pf[1].revents & POLLIN) serve_one(req, reqSize, resp, respSize, sigfd);
    else if (pf[1].revents & (POLLHUP | POLLERR | POLLNVAL)) listening = 0; /* no task left in the filter */
  }
  while (!child_done) {
    int st;
    if (waitpid(child_pid, &st, 0) == child_pid) {
      child_status = st;
      child_done = 1;
    } else if (errno != EINTR) break;
  }
  exit_like_child();
}

int main(int argc, char **argv) {
  /* Nothing the agent inherited reaches the program: keep 0-4 only. */
  if (syscall(__NR_close_range, PROGRAM_FD + 1, ~0U, 0) != 0) fail_start("close_range", errno);
  struct stat st;
  if (fstat(CONTROL_FD, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    dprintf(2, "ascend-launch: fd 3 must be the agent's control socket\n");
    return EXIT_LAUNCH_FAILED;
  }
  if (geteuid() != 0 || getuid() != 0) fail_start("ascend-launch must be run by root", 0);
  struct options o;
  parse_options(argc, argv, &o);
  if (o.cgroup_procs) join_cgroup(o.cgroup_procs);
  if (fstat(PROGRAM_FD, &st) != 0) fail_start("no program on fd 4", errno);
  if (!S_ISREG(st.st_mode)) fail_start("the program on fd 4 is not a regular file", 0);
  char cwd[PATH_MAX];
  enter_cwd(&o, cwd, sizeof cwd);

  sigset_t mask, oldmask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &mask, &oldmask) != 0) fail_start("sigprocmask", errno);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) fail_start("socketpair", errno);
  pid_t pid = fork();
  if (pid < 0) fail_start("fork", errno);
  if (pid == 0) {
    close(sv[0]);
    run_child(&o, sv[1], &oldmask);
    _exit(EXIT_LAUNCH_FAILED);
  }
  child_pid = pid;
  close(sv[1]);
  close(PROGRAM_FD);
  setpgid(pid, pid); /* the child does it too; whichever runs first */
  signal(SIGPIPE, SIG_IGN);
  struct rlimit nocore = {0, 0};
  setrlimit(RLIMIT_CORE, &nocore);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) {
    kill(pid, SIGKILL);
    fail_start("signalfd", errno);
  }
  listener = recv_fd(sv[0]);
  close(sv[0]);
  if (listener < 0) {
    /* The child failed before it could start the program (it said why on fd 3). */
    int s;
    while (waitpid(pid, &s, 0) < 0 && errno == EINTR) {
    }
    _exit(EXIT_LAUNCH_FAILED);
  }
  struct buf b = {0};
  buf_str(&b, "{\"type\":\"started\",\"pid\":");
  buf_fmt(&b, "%lld", (long long)pid);
  buf_str(&b, ",\"cwd\":");
  buf_json(&b, cwd);
  buf_str(&b, "}");
  if (send_line(&b) != 0) agent_lost = 1;
  free(b.p);
  supervise(sigfd);
  return EXIT_LAUNCH_FAILED;
}
