/*
 * ascend-elevate: `ascend elevate` without Node (issue 16). /usr/bin/ascend sends `elevate`
 * here; it answers exactly as the lean client (src/cli/client/elevate.ts over
 * agent/ipc/client.ts) does: the same request, the same output, the same one-line errors and
 * exit statuses.
 *
 * What it does not answer itself it hands to Node with argv unchanged (execv of the Node entry
 * bin/run.js, found from this binary's own real path, never from the current folder, PATH or the
 * environment): --help/-h, --passcode, any command line the lean client would refuse (unknown
 * flags, a flag without its value, no program, a program not on PATH ...), a request too large,
 * and a socket it cannot reach for another reason than ENOENT, ECONNREFUSED or EACCES. All of
 * these happen before anything reaches the agent, so Node repeats the same steps and answers.
 *
 * Strings are what Node makes of them: argv, the environment and the folder are read as UTF-8
 * with each invalid sequence replaced by U+FFFD (the WHATWG decoder, as V8 does), and used in that
 * form everywhere (program lookup, request), as the lean client does.
 *
 * Frames from the agent are read by declared bounds: a line of at most 1 MiB, strict UTF-8
 * (a leading BOM dropped, as TextDecoder does), strict JSON (validated iteratively, the depth
 * bounded by the line's length), then only the fields the lean client reads. Two answers depend
 * on V8's own wording: the message of a JSON syntax error, and a result value the lean client
 * fails on with a TypeError or RangeError (a null value, a non-integer exit code ...). For those
 * the frame goes to dist/src/cli/client/native-oracle.js under the same Node, which runs the lean
 * client's own code on it and prints what the lean client prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "error-codes.h"

#ifndef ASCEND_NODE
#error "ASCEND_NODE (the absolute path of the node that built this binary) must be defined"
#endif

#define MAX_FRAME_BYTES (1024 * 1024)
#define STDIN_CHUNK (64 * 1024)
#define OUT_HIGH_WATER (512 * 1024)
#define DEFAULT_SOCKET "/run/ascend/agent.sock"
#define HINT "start the agent: ascend agent run ... (as root), or pass --socket"

extern char **environ;

static char **g_argv;
static const char *g_socket;

/* ---------------------------------------------------------------- buffers */

typedef struct {
  char *p;
  size_t n, cap;
} buf_t;

static void die_oom(void) {
  static const char msg[] = "ascend: out of memory\n";
  ssize_t r = write(2, msg, sizeof msg - 1);
  (void)r;
  _exit(70);
}

static void buf_reserve(buf_t *b, size_t extra) {
  if (extra > SIZE_MAX / 2 - b->n) die_oom();
  if (b->n + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->n + extra) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) die_oom();
  b->p = p;
  b->cap = cap;
}

static void buf_add(buf_t *b, const void *s, size_t n) {
  buf_reserve(b, n + 1);
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_ch(buf_t *b, char c) { buf_add(b, &c, 1); }

static char *xstrdup_buf(buf_t *b) {
  if (!b->p) buf_add(b, "", 0);
  return b->p;
}

/* ---------------------------------------------------------------- UTF-8 */

/*
 * Decodes one UTF-8 sequence at s[i..n): its length in *len and its code point, or -1 for an
 * invalid sequence with *len the maximal subpart to replace by one U+FFFD (WHATWG).
 */
static long utf8_next(const unsigned char *s, size_t n, size_t i, size_t *len) {
  unsigned c = s[i];
  if (c < 0x80) {
    *len = 1;
    return (long)c;
  }
  size_t need;
  unsigned long cp;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    cp = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    cp = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    *len = 1;
    return -1;
  }
  size_t j = 1;
  for (; j <= need; j++) {
    if (i + j >= n) break;
    unsigned b = s[i + j];
    if (b < lo || b > hi) break;
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (j > need) {
    *len = need + 1;
    return (long)cp;
  }
  *len = j;
  return -1;
}

/* The string as Node sees it: each invalid sequence replaced by U+FFFD. */
static char *node_string(const char *raw) {
  const unsigned char *s = (const unsigned char *)raw;
  size_t n = strlen(raw);
  buf_t b = {0};
  for (size_t i = 0; i < n;) {
    size_t len;
    if (utf8_next(s, n, i, &len) < 0) buf_add(&b, "\xEF\xBF\xBD", 3);
    else buf_add(&b, s + i, len);
    i += len;
  }
  return xstrdup_buf(&b);
}

static int utf8_valid(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t len;
    if (utf8_next(s, n, i, &len) < 0) return 0;
    i += len;
  }
  return 1;
}

/* ---------------------------------------------------------------- output */

static int g_stdout_gone;

/*
 * While the exchange lasts, SIGINT, SIGTERM and SIGHUP are blocked and read from a signalfd in
 * the poll loop. A write of the program's output to a reader that does not drain (a pager, a
 * terminal stopped with Ctrl-S) would then park the client in the kernel with the signals
 * pending: Ctrl-C would neither reach the agent nor, the second time, end the client. So output
 * is written with those signals unblocked, caught by a handler without SA_RESTART that only
 * counts them: the write returns EINTR (or short), the signals are taken as in the poll loop
 * (forwarded to the agent at once, the second of a kind ends the client) and the write goes on.
 */
static volatile sig_atomic_t g_sig_count[32];
static int g_in_exchange;
static sigset_t g_forwarded;
static void take_counted_signals(void);

static void count_signal(int sig) {
  if (sig > 0 && sig < 32) g_sig_count[sig]++;
}

/* One write with the forwarded signals unblocked when the exchange runs (see above). */
static ssize_t output_write(int fd, const void *p, size_t n) {
  if (!g_in_exchange || (fd != 1 && fd != 2)) return write(fd, p, n);
  sigprocmask(SIG_UNBLOCK, &g_forwarded, NULL);
  ssize_t w = -1;
  int e = EINTR;
  /* A signal taken between the unblock and the write is seen here, not lost (a counter). */
  if (!g_sig_count[SIGINT] && !g_sig_count[SIGTERM] && !g_sig_count[SIGHUP]) {
    w = write(fd, p, n);
    e = errno;
  }
  sigprocmask(SIG_BLOCK, &g_forwarded, NULL);
  take_counted_signals();
  errno = e;
  return w;
}

/* Writes everything (waiting out a non-blocking descriptor); 0, or -1 with errno. */
static int write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = output_write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR) return -1;
        continue;
      }
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Program output: a reader that went away (EPIPE) ends it quietly, as in the lean client. */
static void out_write(int fd, const void *data, size_t n) {
  if (fd == 1 && g_stdout_gone) return;
  if (write_all(fd, data, n) < 0 && fd == 1) g_stdout_gone = 1;
}

static void err_str(const char *s) { out_write(2, s, strlen(s)); }

/* `Error: MESSAGE (HINT)` on stderr and the exit status, as writeFailure() does (NULs kept). */
static void fail_text(const char *message, size_t message_len, const char *hint, size_t hint_len, int status) {
  buf_t b = {0};
  buf_str(&b, "Error: ");
  buf_add(&b, message, message_len);
  if (hint && hint_len) {
    buf_str(&b, " (");
    buf_add(&b, hint, hint_len);
    buf_ch(&b, ')');
  }
  buf_ch(&b, '\n');
  out_write(2, b.p, b.n);
  exit(status);
}

static void fail_line(const char *message, const char *hint, int status) { fail_text(message, strlen(message), hint, hint ? strlen(hint) : 0, status); }

static void protocol_fail(const char *message) { fail_line(message, NULL, 1); }

/* ---------------------------------------------------------------- Node */

static char g_root[PATH_MAX];
static char g_node[PATH_MAX];
/* The node a checkout hands over to, kept whole in the binary (a package test reads it there). */
__attribute__((used)) static const char g_built_node[] = ASCEND_NODE;

/* The checkout or package root: three levels above this binary's real path (build/native/x). Only
 * looked up when Node is needed: an elevation itself does not depend on /proc. */
static void find_root(void) {
  if (g_node[0]) return;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  /* A result that fills the buffer may have been cut: never derive the installation from it. */
  if (n <= 0 || (size_t)n >= sizeof self - 1) {
    err_str("ascend: cannot find the ascend installation (/proc/self/exe)\n");
    exit(1);
  }
  self[n] = '\0';
  for (int up = 0; up < 3; up++) {
    char *slash = strrchr(self, '/');
    if (!slash || slash == self) {
      err_str("ascend: cannot find the ascend installation (/proc/self/exe)\n");
      exit(1);
    }
    *slash = '\0';
  }
  snprintf(g_root, sizeof g_root, "%s", self);
  /*
   * The package bundles its Node in <root>/node: where that folder exists, its node is the only
   * one used (a broken install fails, never falls back to a path of the machine that built the
   * package). A checkout has none and uses the node that built this binary.
   */
  char bundled[PATH_MAX];
  struct stat st;
  if (snprintf(bundled, sizeof bundled, "%s/node", g_root) >= (int)sizeof bundled) exit(1);
  if (lstat(bundled, &st) == 0) {
    if (snprintf(g_node, sizeof g_node, "%s/bin/node", bundled) >= (int)sizeof g_node) exit(1);
  } else {
    snprintf(g_node, sizeof g_node, "%s", g_built_node);
  }
}

static void exec_failed(const char *what) {
  buf_t b = {0};
  buf_str(&b, "ascend: cannot run ");
  buf_str(&b, g_node);
  buf_str(&b, " ");
  buf_str(&b, what);
  buf_str(&b, ": ");
  buf_str(&b, strerror(errno));
  buf_ch(&b, '\n');
  out_write(2, b.p, b.n);
  exit(1);
}

/* The command line, unchanged, to bin/run.js under Node. */
static void hand_over(void) {
  find_root();
  char runjs[PATH_MAX];
  if (snprintf(runjs, sizeof runjs, "%s/bin/run.js", g_root) >= (int)sizeof runjs) exec_failed("bin/run.js");
  size_t argc = 0;
  while (g_argv[argc]) argc++;
  char **args = calloc(argc + 3, sizeof *args);
  if (!args) die_oom();
  args[0] = g_node;
  args[1] = runjs;
  for (size_t i = 1; i < argc; i++) args[i + 1] = g_argv[i];
  execv(g_node, args);
  exec_failed(runjs);
}

static void restore_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  sigprocmask(SIG_SETMASK, &set, NULL);
}

/* A frame only V8 can judge exactly: the lean client's own code answers it (see the top). */
static void oracle(const char *line, size_t n) {
  find_root();
  char script[PATH_MAX];
  if (snprintf(script, sizeof script, "%s/dist/src/cli/client/native-oracle.js", g_root) >= (int)sizeof script) exec_failed("native-oracle.js");
  int fd = memfd_create("ascend-frame", MFD_CLOEXEC);
  if (fd < 0 || write_all(fd, line, n) < 0 || lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, 0) < 0) {
    protocol_fail("the agent sent a malformed frame");
  }
  restore_signals();
  char *args[] = {g_node, script, NULL};
  execv(g_node, args);
  exec_failed(script);
}

/* ---------------------------------------------------------------- paths (node:path, POSIX) */

/* normalizeString(): '.', '..' and repeated slashes resolved; '..' kept above a relative start. */
static void normalize(buf_t *out, const char *path, int absolute) {
  buf_t res = {0};
  size_t segs = 0; /* segments in res that are not '..' */
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == 1 && p[0] == '.') {
      /* nothing */
    } else if (len == 2 && p[0] == '.' && p[1] == '.') {
      if (segs > 0) {
        char *last = res.n ? memrchr(res.p, '/', res.n) : NULL;
        res.n = last ? (size_t)(last - res.p) : 0;
        if (res.p) res.p[res.n] = '\0';
        segs--;
      } else if (!absolute) {
        if (res.n) buf_ch(&res, '/');
        buf_str(&res, "..");
      }
    } else {
      if (res.n) buf_ch(&res, '/');
      buf_add(&res, p, len);
      segs++;
    }
    p += len;
  }
  if (absolute) buf_ch(out, '/');
  if (res.n) buf_add(out, res.p, res.n);
  free(res.p);
}

/* path.resolve(cwd, name) for a name with a slash. */
static char *path_resolve(const char *cwd, const char *name) {
  buf_t joined = {0}, out = {0};
  if (name[0] != '/') {
    buf_str(&joined, cwd);
    buf_ch(&joined, '/');
  }
  buf_str(&joined, name);
  normalize(&out, joined.p, 1);
  free(joined.p);
  return xstrdup_buf(&out);
}

/* path.join(dir, name) (name not empty, without a slash). */
static char *path_join(const char *dir, const char *name) {
  buf_t joined = {0}, out = {0};
  buf_str(&joined, dir);
  buf_ch(&joined, '/');
  buf_str(&joined, name);
  int absolute = joined.p[0] == '/';
  normalize(&out, joined.p, absolute);
  if (out.n == 0) buf_ch(&out, '.');
  free(joined.p);
  return xstrdup_buf(&out);
}

/* ---------------------------------------------------------------- JSON out */

static void json_string(buf_t *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  buf_ch(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned c = *p;
    switch (c) {
      case '"': buf_str(b, "\\\""); break;
      case '\\': buf_str(b, "\\\\"); break;
      case '\b': buf_str(b, "\\b"); break;
      case '\f': buf_str(b, "\\f"); break;
      case '\n': buf_str(b, "\\n"); break;
      case '\r': buf_str(b, "\\r"); break;
      case '\t': buf_str(b, "\\t"); break;
      default:
        if (c < 0x20) {
          char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
          buf_str(b, esc);
        } else {
          buf_ch(b, (char)c);
        }
    }
  }
  buf_ch(b, '"');
}

/* ---------------------------------------------------------------- JSON in */

/*
 * A value's place in the frame: its type and its bytes [start, end). Strings are decoded on
 * demand into UTF-16 code units, which is what the lean client's JavaScript strings are.
 */
enum jtype { J_NONE, J_OBJECT, J_ARRAY, J_STRING, J_NUMBER, J_TRUE, J_FALSE, J_NULL };

typedef struct {
  enum jtype type;
  size_t start, end;
} jval;

typedef struct {
  const char *s;
  size_t n;
} jdoc;

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t skip_ws(const jdoc *d, size_t i) {
  while (i < d->n && is_ws(d->s[i])) i++;
  return i;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A string token at s[i] == '"': the index after its closing quote, or 0 when it is invalid. */
static size_t scan_string(const jdoc *d, size_t i) {
  i++;
  while (i < d->n) {
    unsigned char c = (unsigned char)d->s[i];
    if (c == '"') return i + 1;
    if (c < 0x20) return 0;
    if (c == '\\') {
      if (i + 1 >= d->n) return 0;
      char e = d->s[i + 1];
      if (e == 'u') {
        if (i + 5 >= d->n) return 0;
        for (int k = 2; k < 6; k++)
          if (hexval(d->s[i + k]) < 0) return 0;
        i += 6;
      } else if (strchr("\"\\/bfnrt", e) && e) {
        i += 2;
      } else {
        return 0;
      }
    } else {
      i++;
    }
  }
  return 0;
}

/* A number token: the index after it, or 0 when it is invalid. */
static size_t scan_number(const jdoc *d, size_t i) {
  if (i < d->n && d->s[i] == '-') i++;
  if (i >= d->n) return 0;
  if (d->s[i] == '0') {
    i++;
  } else if (d->s[i] >= '1' && d->s[i] <= '9') {
    while (i < d->n && d->s[i] >= '0' && d->s[i] <= '9') i++;
  } else {
    return 0;
  }
  if (i < d->n && d->s[i] == '.') {
    i++;
    size_t at = i;
    while (i < d->n && d->s[i] >= '0' && d->s[i] <= '9') i++;
    if (i == at) return 0;
  }
  if (i < d->n && (d->s[i] == 'e' || d->s[i] == 'E')) {
    i++;
    if (i < d->n && (d->s[i] == '+' || d->s[i] == '-')) i++;
    size_t at = i;
    while (i < d->n && d->s[i] >= '0' && d->s[i] <= '9') i++;
    if (i == at) return 0;
  }
  return i;
}

static size_t scan_literal(const jdoc *d, size_t i, const char *word) {
  size_t len = strlen(word);
  if (d->n - i < len || memcmp(d->s + i, word, len) != 0) return 0;
  return i + len;
}

/*
 * The whole line as JSON.parse reads it: one value, whitespace around it. Iterative, with a
 * stack of open containers no deeper than the line is long. 1 when valid.
 */
static int json_valid(const jdoc *d) {
  char *stack = malloc(d->n + 1);
  if (!stack) die_oom();
  size_t depth = 0, i = skip_ws(d, 0);
  int ok = 0;
  for (;;) {
    /* A value is expected at i. */
    if (i >= d->n) goto out;
    char c = d->s[i];
    size_t next = 0;
    if (c == '{' || c == '[') {
      stack[depth++] = c;
      i = skip_ws(d, i + 1);
      if (i < d->n && d->s[i] == (c == '{' ? '}' : ']')) {
        depth--;
        next = i + 1;
      } else if (c == '{') {
        if (i >= d->n || d->s[i] != '"' || !(i = scan_string(d, i))) goto out;
        i = skip_ws(d, i);
        if (i >= d->n || d->s[i] != ':') goto out;
        i = skip_ws(d, i + 1);
        continue;
      } else {
        continue;
      }
    } else if (c == '"') {
      next = scan_string(d, i);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      next = scan_number(d, i);
    } else if (c == 't') {
      next = scan_literal(d, i, "true");
    } else if (c == 'f') {
      next = scan_literal(d, i, "false");
    } else if (c == 'n') {
      next = scan_literal(d, i, "null");
    }
    if (!next) goto out;
    i = skip_ws(d, next);
    /* After a value: close containers, or a comma and the next member. */
    for (;;) {
      if (depth == 0) {
        ok = i == d->n;
        goto out;
      }
      char open = stack[depth - 1];
      if (i >= d->n) goto out;
      if (d->s[i] == (open == '{' ? '}' : ']')) {
        depth--;
        i = skip_ws(d, i + 1);
        continue;
      }
      if (d->s[i] != ',') goto out;
      i = skip_ws(d, i + 1);
      if (open == '{') {
        if (i >= d->n || d->s[i] != '"' || !(i = scan_string(d, i))) goto out;
        i = skip_ws(d, i);
        if (i >= d->n || d->s[i] != ':') goto out;
        i = skip_ws(d, i + 1);
      }
      break;
    }
  }
out:
  free(stack);
  return ok;
}

/* The end of the (valid) value at i. */
static size_t skip_value(const jdoc *d, size_t i) {
  char c = d->s[i];
  if (c == '"') return scan_string(d, i);
  if (c == '{' || c == '[') {
    size_t depth = 0;
    while (i < d->n) {
      char x = d->s[i];
      if (x == '"') {
        i = scan_string(d, i);
        continue;
      }
      if (x == '{' || x == '[') depth++;
      if (x == '}' || x == ']') {
        if (--depth == 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  if (c == 't') return i + 4;
  if (c == 'f') return i + 5;
  if (c == 'n') return i + 4;
  return scan_number(d, i);
}

static enum jtype type_at(const jdoc *d, size_t i) {
  switch (d->s[i]) {
    case '{': return J_OBJECT;
    case '[': return J_ARRAY;
    case '"': return J_STRING;
    case 't': return J_TRUE;
    case 'f': return J_FALSE;
    case 'n': return J_NULL;
    default: return J_NUMBER;
  }
}

/* UTF-16 code units of a JSON string (its token at [start, end)), as JavaScript holds it. */
typedef struct {
  uint16_t *u;
  size_t n;
} units_t;

static units_t string_units(const jdoc *d, jval v) {
  units_t r = {malloc((v.end - v.start + 1) * sizeof(uint16_t)), 0};
  if (!r.u) die_oom();
  const unsigned char *s = (const unsigned char *)d->s;
  size_t i = v.start + 1, end = v.end - 1;
  while (i < end) {
    if (s[i] == '\\') {
      char e = (char)s[i + 1];
      uint16_t u;
      switch (e) {
        case 'b': u = '\b'; break;
        case 'f': u = '\f'; break;
        case 'n': u = '\n'; break;
        case 'r': u = '\r'; break;
        case 't': u = '\t'; break;
        case 'u':
          u = (uint16_t)((hexval((char)s[i + 2]) << 12) | (hexval((char)s[i + 3]) << 8) | (hexval((char)s[i + 4]) << 4) | hexval((char)s[i + 5]));
          i += 4;
          break;
        default: u = (uint16_t)e;
      }
      r.u[r.n++] = u;
      i += 2;
      continue;
    }
    size_t len;
    long cp = utf8_next(s, end, i, &len); /* the frame is valid UTF-8 */
    if (cp < 0) cp = 0xFFFD;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      r.u[r.n++] = (uint16_t)(0xD800 | (cp >> 10));
      r.u[r.n++] = (uint16_t)(0xDC00 | (cp & 0x3FF));
    } else {
      r.u[r.n++] = (uint16_t)cp;
    }
    i += len;
  }
  return r;
}

/* Code units to UTF-8 as Node writes a string: a lone surrogate becomes U+FFFD. */
static void units_utf8(buf_t *b, units_t u) {
  for (size_t i = 0; i < u.n; i++) {
    unsigned long cp = u.u[i];
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < u.n && u.u[i + 1] >= 0xDC00 && u.u[i + 1] <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (u.u[i + 1] - 0xDC00);
      i++;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      cp = 0xFFFD;
    }
    char o[4];
    if (cp < 0x80) {
      buf_ch(b, (char)cp);
    } else if (cp < 0x800) {
      o[0] = (char)(0xC0 | (cp >> 6));
      o[1] = (char)(0x80 | (cp & 0x3F));
      buf_add(b, o, 2);
    } else if (cp < 0x10000) {
      o[0] = (char)(0xE0 | (cp >> 12));
      o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
      o[2] = (char)(0x80 | (cp & 0x3F));
      buf_add(b, o, 3);
    } else {
      o[0] = (char)(0xF0 | (cp >> 18));
      o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
      o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
      o[3] = (char)(0x80 | (cp & 0x3F));
      buf_add(b, o, 4);
    }
  }
}

/* A JSON string as UTF-8 text (NUL-terminated; an embedded NUL is kept in the length). */
static char *string_text(const jdoc *d, jval v, size_t *len) {
  units_t u = string_units(d, v);
  buf_t b = {0};
  units_utf8(&b, u);
  free(u.u);
  if (len) *len = b.n;
  return xstrdup_buf(&b);
}

static int string_is(const jdoc *d, jval v, const char *want) {
  if (v.type != J_STRING) return 0;
  size_t len;
  /* A key or a kind worth decoding is short; a long token cannot be one of ours. */
  if (v.end - v.start > 6 * strlen(want) + 2) return 0;
  char *t = string_text(d, v, &len);
  int same = len == strlen(want) && memcmp(t, want, len) == 0;
  free(t);
  return same;
}

/* The members named in keys[] of the object at i (the last one of a name wins, as in JSON.parse). */
static void object_members(const jdoc *d, size_t i, const char *const keys[], jval out[], size_t nkeys) {
  for (size_t k = 0; k < nkeys; k++) out[k].type = J_NONE;
  i = skip_ws(d, i + 1);
  if (d->s[i] == '}') return;
  for (;;) {
    jval key = {J_STRING, i, scan_string(d, i)};
    i = skip_ws(d, key.end);
    i = skip_ws(d, i + 1); /* ':' */
    jval val = {type_at(d, i), i, skip_value(d, i)};
    for (size_t k = 0; k < nkeys; k++)
      if (string_is(d, key, keys[k])) out[k] = val;
    i = skip_ws(d, val.end);
    if (d->s[i] == '}') return;
    i = skip_ws(d, i + 1); /* ',' */
  }
}

/* ---------------------------------------------------------------- base64 as Buffer.from(s, 'base64') */

static unsigned unbase64(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return 255;
}

/*
 * Node's lenient decoder (nbytes::Base64Decode, which Node falls back to whenever the strict
 * one refuses): characters outside the alphabet are skipped, '=' ends the data, base64url's
 * '-' and '_' count, and each UTF-16 code unit is read by its low byte.
 */
static int b64_group_slow(unsigned char *dst, size_t dstlen, const uint16_t *src, size_t srclen, size_t *i, size_t *k) {
  unsigned hi = 0, lo = 0;
  for (int step = 0; step < 4; step++) {
    for (;;) {
      unsigned char c = (unsigned char)src[*i];
      lo = unbase64(c);
      *i += 1;
      if (lo < 64) break;
      if (c == '=' || *i >= srclen) return 0;
    }
    if (step == 1) dst[(*k)++] = (unsigned char)(((hi & 0x3F) << 2) | ((lo & 0x30) >> 4));
    if (step == 2) dst[(*k)++] = (unsigned char)(((hi & 0x0F) << 4) | ((lo & 0x3C) >> 2));
    if (step == 3) dst[(*k)++] = (unsigned char)(((hi & 0x03) << 6) | (lo & 0x3F));
    if (*i >= srclen) return 0;
    if (*k >= dstlen) return 0;
    hi = lo;
  }
  return 1;
}

static size_t b64_decode(unsigned char *dst, const uint16_t *src, size_t srclen) {
  /* The buffer Buffer.from allocates: base64ByteLength(). */
  size_t bytes = srclen;
  if (bytes > 0 && src[bytes - 1] == '=') bytes--;
  if (bytes > 1 && src[bytes - 1] == '=') bytes--;
  size_t dstlen = (bytes * 3) >> 2;
  /* nbytes::Base64DecodedSize() */
  size_t size = srclen, decoded = 0;
  if (size >= 2) {
    if (src[size - 1] == '=') {
      size--;
      if (src[size - 1] == '=') size--;
    }
    decoded = size > 1 ? (size / 4) * 3 + (size % 4 + 1) / 2 : 0;
  }
  size_t available = dstlen < decoded ? dstlen : decoded;
  size_t max_k = available / 3 * 3, max_i = srclen / 4 * 4, i = 0, k = 0;
  while (i < max_i && k < max_k) {
    unsigned t0 = unbase64((unsigned char)src[i]), t1 = unbase64((unsigned char)src[i + 1]);
    unsigned t2 = unbase64((unsigned char)src[i + 2]), t3 = unbase64((unsigned char)src[i + 3]);
    if ((t0 | t1 | t2 | t3) & 0x80) {
      if (!b64_group_slow(dst, dstlen, src, srclen, &i, &k)) return k;
      max_i = i + (srclen - i) / 4 * 4;
    } else {
      dst[k] = (unsigned char)((t0 << 2) | (t1 >> 4));
      dst[k + 1] = (unsigned char)(((t1 & 0x0F) << 4) | (t2 >> 2));
      dst[k + 2] = (unsigned char)(((t2 & 0x03) << 6) | t3);
      i += 4;
      k += 3;
    }
  }
  if (i < srclen && k < dstlen) b64_group_slow(dst, dstlen, src, srclen, &i, &k);
  return k;
}

/* ---------------------------------------------------------------- frames from the agent */

static const char *const FRAME_KEYS[] = {"kind", "data", "message", "ok", "value", "error"};
enum { K_KIND, K_DATA, K_MESSAGE, K_OK, K_VALUE, K_ERROR, K_COUNT };

static const char *const PROTO_NAMES[] = {"constructor", "__defineGetter__", "__defineSetter__", "hasOwnProperty", "__lookupGetter__", "__lookupSetter__",
                                          "isPrototypeOf", "propertyIsEnumerable", "toString", "valueOf", "__proto__", "toLocaleString"};

static int known_code(const char *code, size_t len) {
  if (strlen(code) != len) return 0;
  for (size_t i = 0; i < sizeof ASCEND_ERROR_CODES / sizeof *ASCEND_ERROR_CODES; i++)
    if (strcmp(code, ASCEND_ERROR_CODES[i]) == 0) return 1;
  return 0;
}

/* The exit status of `ok: true`, as elevate() computes it; -1 when only V8 can say (oracle). */
static int result_status(const jdoc *d, jval value) {
  if (value.type == J_NONE || value.type == J_NULL) return -1; /* a TypeError */
  if (value.type != J_OBJECT) return 129;                          /* (5).exitCode is undefined */
  static const char *const keys[] = {"exitCode", "signal"};
  jval m[2];
  object_members(d, value.start, keys, m, 2);
  if (m[0].type == J_NUMBER) {
    char num[64];
    size_t len = m[0].end - m[0].start;
    if (len >= sizeof num) return -1;
    memcpy(num, d->s + m[0].start, len);
    num[len] = '\0';
    double x = strtod(num, NULL);
    if (!(x >= -9007199254740991.0 && x <= 9007199254740991.0) || x != (double)(long long)x) return -1;
    return (int)((unsigned long long)(long long)x & 0xFF);
  }
  if (m[0].type != J_NONE && m[0].type != J_NULL) return -1; /* process.exitCode refuses it */
  if (m[1].type == J_NONE || m[1].type == J_NULL || m[1].type == J_NUMBER || m[1].type == J_TRUE || m[1].type == J_FALSE) return 129;
  if (m[1].type != J_STRING) return -1;
  static const struct {
    const char *name;
    int number;
  } SIGNALS[] = {{"SIGHUP", 1}, {"SIGINT", 2}, {"SIGQUIT", 3}, {"SIGKILL", 9}, {"SIGTERM", 15}};
  for (size_t i = 0; i < sizeof SIGNALS / sizeof *SIGNALS; i++)
    if (string_is(d, m[1], SIGNALS[i].name)) return 128 + SIGNALS[i].number;
  for (size_t i = 0; i < sizeof PROTO_NAMES / sizeof *PROTO_NAMES; i++)
    if (string_is(d, m[1], PROTO_NAMES[i])) return -1;
  return 129;
}

static void handle_result(const jdoc *d, const jval *f, const char *line, size_t n) {
  if (f[K_OK].type == J_TRUE) {
    int status = result_status(d, f[K_VALUE]);
    if (status < 0) oracle(line, n);
    exit(status);
  }
  jval m[3] = {{J_NONE, 0, 0}, {J_NONE, 0, 0}, {J_NONE, 0, 0}};
  if (f[K_ERROR].type == J_OBJECT) {
    static const char *const keys[] = {"code", "message", "hint"};
    object_members(d, f[K_ERROR].start, keys, m, 3);
  }
  if (f[K_OK].type != J_FALSE || m[0].type != J_STRING || m[1].type != J_STRING) protocol_fail("the agent sent a malformed result");
  size_t code_len, message_len, hint_len = 0;
  char *code = string_text(d, m[0], &code_len);
  char *message = string_text(d, m[1], &message_len);
  char *hint = m[2].type == J_STRING ? string_text(d, m[2], &hint_len) : NULL;
  if (!known_code(code, code_len)) {
    buf_t b = {0};
    buf_str(&b, "the agent answered with an unknown error code ");
    buf_add(&b, code, code_len);
    buf_str(&b, ": ");
    buf_add(&b, message, message_len);
    fail_text(b.p, b.n, hint, hint_len, 1);
  }
  fail_text(message, message_len, hint, hint_len, strcmp(code, "ASC_USAGE") == 0 ? 2 : 1);
}

/* One complete line from the agent. */
static void handle_line(const char *line, size_t n) {
  if (!utf8_valid((const unsigned char *)line, n)) protocol_fail("a frame is not valid UTF-8");
  jdoc d = {line, n};
  if (n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) d = (jdoc){line + 3, n - 3}; /* TextDecoder drops a BOM */
  if (!json_valid(&d)) oracle(line, n);
  size_t i = skip_ws(&d, 0);
  if (d.s[i] != '{') protocol_fail("a frame is not a JSON object");
  jval f[K_COUNT];
  object_members(&d, i, FRAME_KEYS, f, K_COUNT);
  if (string_is(&d, f[K_KIND], "result")) handle_result(&d, f, line, n);
  int out = string_is(&d, f[K_KIND], "stdout") ? 1 : string_is(&d, f[K_KIND], "stderr") ? 2 : 0;
  if (out && f[K_DATA].type == J_STRING) {
    units_t u = string_units(&d, f[K_DATA]);
    unsigned char *bytes = malloc(u.n + 1);
    if (!bytes) die_oom();
    size_t len = b64_decode(bytes, u.u, u.n);
    out_write(out, bytes, len);
    free(bytes);
    free(u.u);
  } else if (string_is(&d, f[K_KIND], "event") && f[K_MESSAGE].type == J_STRING) {
    buf_t b = {0};
    buf_str(&b, "ascend: ");
    units_t u = string_units(&d, f[K_MESSAGE]);
    units_utf8(&b, u);
    free(u.u);
    buf_ch(&b, '\n');
    out_write(2, b.p, b.n);
    free(b.p);
  }
}

static buf_t g_line;

static void too_large(void) {
  char msg[80];
  snprintf(msg, sizeof msg, "a frame is larger than the %d-byte limit", MAX_FRAME_BYTES);
  protocol_fail(msg);
}

/* Bytes from the agent, cut into lines as FrameDecoder does. */
static void feed(const char *chunk, size_t n) {
  size_t start = 0;
  for (;;) {
    const char *nl = memchr(chunk + start, '\n', n - start);
    if (!nl) break;
    size_t len = (size_t)(nl - (chunk + start));
    if (g_line.n + len > MAX_FRAME_BYTES) too_large();
    if (g_line.n == 0) {
      handle_line(chunk + start, len);
    } else {
      buf_add(&g_line, chunk + start, len);
      handle_line(g_line.p, g_line.n);
      g_line.n = 0;
    }
    start += len + 1;
  }
  if (n > start) {
    if (g_line.n + (n - start) > MAX_FRAME_BYTES) too_large();
    buf_add(&g_line, chunk + start, n - start);
  }
}

/* ---------------------------------------------------------------- the command line */

static const char *const FLAGS[] = {"socket", "passcode", "justify", "otp"};
enum { F_SOCKET, F_PASSCODE, F_JUSTIFY, F_OTP, F_COUNT };

static int flag_of(const char *arg) {
  if (strncmp(arg, "--", 2) != 0) return -1;
  for (int f = 0; f < F_COUNT; f++)
    if (strcmp(arg + 2, FLAGS[f]) == 0) return f;
  return -1;
}

typedef struct {
  const char *flag[F_COUNT];
  char **tokens;
  size_t ntokens;
} line_t;

/* The line as src/cli/client/args.ts reads it; 0 when it would refuse it (Node then answers). */
static int parse_line(char **args, size_t n, line_t *out) {
  memset(out, 0, sizeof *out);
  out->tokens = calloc(n + 1, sizeof *out->tokens);
  if (!out->tokens) die_oom();
  int parsing = 1;
  for (size_t i = 0; i < n;) {
    char *a = args[i++];
    if (parsing && a[0] == '-' && strcmp(a, "-") != 0) {
      if (strcmp(a, "--") == 0) {
        parsing = 0;
        continue;
      }
      int f = flag_of(a);
      const char *value = NULL;
      if (f < 0) {
        char *eq = strchr(a, '=');
        if (eq) {
          *eq = '\0';
          f = flag_of(a);
          *eq = '=';
          if (f >= 0) value = eq + 1;
        }
      }
      if (f >= 0) {
        if (out->flag[f]) return 0;
        if (!value) {
          if (i >= n) return 0;
          value = args[i++];
        }
        if (flag_of(value) >= 0) return 0;
        out->flag[f] = value;
        continue;
      }
      if (!(a[1] >= '0' && a[1] <= '9')) return 0; /* a flag it does not know */
    }
    out->tokens[out->ntokens++] = a;
  }
  return 1;
}

static int passed_env(const char *name, size_t len) {
  static const char *const NAMES[] = {"TERM", "LANG", "LANGUAGE", "TZ", "COLUMNS", "LINES"};
  for (size_t i = 0; i < sizeof NAMES / sizeof *NAMES; i++)
    if (len == strlen(NAMES[i]) && memcmp(name, NAMES[i], len) == 0) return 1;
  if (len > 3 && memcmp(name, "LC_", 3) == 0) {
    for (size_t i = 3; i < len; i++)
      if (name[i] < 'A' || name[i] > 'Z') return 0;
    return 1;
  }
  return 0;
}

/* The program as the shell finds it; NULL when it is not found (Node then says so). */
static char *resolve_program(const char *name, const char *cwd) {
  if (*name == '\0') return NULL;
  if (strchr(name, '/')) return path_resolve(cwd, name);
  const char *raw = getenv("PATH");
  char *path = raw ? node_string(raw) : strdup("/usr/local/bin:/usr/bin:/bin");
  if (!path) die_oom();
  char *found = NULL;
  for (char *dir = path, *next; dir && !found; dir = next) {
    next = strchr(dir, ':');
    if (next) *next++ = '\0';
    if (!*dir) continue;
    char *candidate = path_join(dir, name);
    struct stat st;
    if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) == 0) found = candidate;
    else free(candidate);
  }
  free(path);
  return found;
}

static char *build_request(const line_t *line) {
  char **command = line->tokens;
  size_t ncommand = line->ntokens;
  if (ncommand > 0 && strcmp(command[0], "--") == 0) {
    command++;
    ncommand--;
  }
  if (ncommand == 0) return NULL;
  char cwd_raw[PATH_MAX];
  if (!getcwd(cwd_raw, sizeof cwd_raw)) return NULL;
  char *cwd = node_string(cwd_raw);
  char *program = resolve_program(command[0], cwd);
  if (!program) return NULL;
  buf_t b = {0};
  buf_str(&b, "{\"op\":\"elevate\",\"argv\":[");
  json_string(&b, program);
  for (size_t i = 1; i < ncommand; i++) {
    buf_ch(&b, ',');
    json_string(&b, command[i]);
  }
  buf_str(&b, "],\"cwd\":");
  json_string(&b, cwd);
  buf_str(&b, ",\"env\":{");
  /* In the environment's order, the first of a name wins (getenv()). */
  int first = 1;
  for (char **e = environ; *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq || !passed_env(*e, (size_t)(eq - *e))) continue;
    int seen = 0;
    for (char **p = environ; p < e; p++)
      if (strncmp(*p, *e, (size_t)(eq - *e) + 1) == 0) seen = 1;
    if (seen) continue;
    if (!first) buf_ch(&b, ',');
    first = 0;
    char *name = strndup(*e, (size_t)(eq - *e));
    char *value = node_string(eq + 1);
    if (!name) die_oom();
    json_string(&b, name);
    buf_ch(&b, ':');
    json_string(&b, value);
    free(name);
    free(value);
  }
  buf_ch(&b, '}');
  if (line->flag[F_JUSTIFY]) {
    buf_str(&b, ",\"justification\":");
    json_string(&b, line->flag[F_JUSTIFY]);
  }
  if (line->flag[F_OTP]) {
    buf_str(&b, ",\"otp\":");
    json_string(&b, line->flag[F_OTP]);
  }
  buf_str(&b, "}");
  if (b.n > MAX_FRAME_BYTES) return NULL; /* Node refuses it with its own words */
  buf_ch(&b, '\n');
  return b.p;
}

/* ---------------------------------------------------------------- the exchange */

static const char *errno_code(int e) {
  switch (e) {
    case EPIPE: return "EPIPE";
    case ECONNRESET: return "ECONNRESET";
    case ENOTCONN: return "ENOTCONN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EIO: return "EIO";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    default: return "UNKNOWN";
  }
}

static void connection_failed(const char *syscall, int e) {
  buf_t b = {0};
  buf_str(&b, "the connection to the agent on ");
  buf_str(&b, g_socket);
  buf_str(&b, " failed: ");
  buf_str(&b, syscall);
  buf_ch(&b, ' ');
  buf_str(&b, errno_code(e));
  protocol_fail(b.p);
}

static void append_frame(buf_t *out, const char *json) {
  buf_str(out, json);
  buf_ch(out, '\n');
}

static void append_stdin(buf_t *out, const unsigned char *data, size_t n) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  buf_reserve(out, n / 3 * 4 + 64);
  buf_str(out, "{\"op\":\"stdin\",\"data\":\"");
  char *o = out->p + out->n;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = alphabet[(v >> 6) & 63];
    *o++ = alphabet[v & 63];
  }
  if (n - i == 1) {
    unsigned v = (unsigned)data[i] << 16;
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = '=';
    *o++ = '=';
  } else if (n - i == 2) {
    unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = alphabet[(v >> 6) & 63];
    *o++ = '=';
  }
  out->n = (size_t)(o - out->p);
  buf_str(out, "\"}\n");
}

/* The exchange's state the output path needs too: what is queued for the agent, and which signals were seen. */
static buf_t g_out;
static size_t g_sent;
static int g_sock = -1, g_write_error, g_seen[32];

/* A forwarded signal: a signal frame to the agent, sent now if the socket takes it; the second of a kind ends the client by it. */
static void take_signal(int sig) {
  if (sig <= 0 || sig >= 32) return;
  if (g_seen[sig]) {
    /* Asked twice: stop waiting for the agent and die of the signal. */
    signal(sig, SIG_DFL);
    restore_signals();
    raise(sig);
    _exit(128 + sig);
  }
  g_seen[sig] = 1;
  if (g_write_error) return;
  append_frame(&g_out, sig == SIGINT ? "{\"op\":\"signal\",\"signal\":\"SIGINT\"}" : sig == SIGTERM ? "{\"op\":\"signal\",\"signal\":\"SIGTERM\"}" : "{\"op\":\"signal\",\"signal\":\"SIGHUP\"}");
  /* While the output is stalled the poll loop does not run: the frame goes out from here. */
  while (g_sent < g_out.n) {
    ssize_t w = send(g_sock, g_out.p + g_sent, g_out.n - g_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      g_sent += (size_t)w;
    } else {
      if (w < 0 && errno != EAGAIN && errno != EINTR) g_write_error = errno;
      break;
    }
  }
  if (g_sent == g_out.n) g_sent = g_out.n = 0;
}

static void take_counted_signals(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    while (g_sig_count[sigs[i]] > 0) {
      g_sig_count[sigs[i]]--;
      take_signal(sigs[i]);
    }
  }
}

static int exchange(int sock, char *request) {
  g_sock = sock;
  buf_str(&g_out, request);

  /* SIGINT, SIGTERM and SIGHUP go to the agent as signal frames while the call lasts. */
  sigemptyset(&g_forwarded);
  sigaddset(&g_forwarded, SIGINT);
  sigaddset(&g_forwarded, SIGTERM);
  sigaddset(&g_forwarded, SIGHUP);
  sigprocmask(SIG_BLOCK, &g_forwarded, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = count_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a blocked output write returns EINTR */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  int sfd = signalfd(-1, &g_forwarded, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    restore_signals();
    protocol_fail("cannot watch signals");
  }
  g_in_exchange = 1;

  int stdin_open = 1;
  static char chunk[64 * 1024];
  static unsigned char inbuf[STDIN_CHUNK];
  for (;;) {
    struct pollfd p[3] = {
        {.fd = sock, .events = (short)(POLLIN | (g_sent < g_out.n && !g_write_error ? POLLOUT : 0))},
        {.fd = sfd, .events = POLLIN},
        {.fd = stdin_open && g_out.n - g_sent < OUT_HIGH_WATER && !g_write_error ? 0 : -1, .events = POLLIN},
    };
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      protocol_fail("poll failed");
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) take_signal((int)si.ssi_signo);
    }
    if (p[2].revents) {
      ssize_t r = read(0, inbuf, sizeof inbuf);
      if (r > 0) {
        append_stdin(&g_out, inbuf, (size_t)r);
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        append_frame(&g_out, "{\"op\":\"stdin-end\"}");
        stdin_open = 0;
      }
    }
    if ((p[0].revents & POLLOUT) && g_sent < g_out.n && !g_write_error) {
      ssize_t w = send(sock, g_out.p + g_sent, g_out.n - g_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        g_sent += (size_t)w;
        if (g_sent == g_out.n) g_sent = g_out.n = 0;
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        g_write_error = errno;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = recv(sock, chunk, sizeof chunk, MSG_DONTWAIT);
      if (r > 0) {
        feed(chunk, (size_t)r);
      } else if (r == 0) {
        if (g_write_error) connection_failed("write", g_write_error);
        buf_t b = {0};
        buf_str(&b, "the agent on ");
        buf_str(&b, g_socket);
        buf_str(&b, " closed the connection without an answer");
        protocol_fail(b.p);
      } else if (errno != EAGAIN && errno != EINTR) {
        connection_failed("read", errno);
      }
    }
  }
  return 70; /* not reached: the loop ends only through exit() */
}

int main(int argc, char **argv) {
  g_argv = argv;
  /* As Node does at start: a closed standard descriptor is opened on /dev/null, so that no socket or file takes its number. */
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (null != fd) _exit(70);
    }
  }
  if (argc < 2 || strcmp(argv[1], "elevate") != 0) hand_over();
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) hand_over();

  size_t n = (size_t)argc - 2;
  char **args = calloc(n + 1, sizeof *args);
  if (!args) die_oom();
  for (size_t i = 0; i < n; i++) args[i] = node_string(argv[i + 2]);
  line_t line;
  if (!parse_line(args, n, &line) || line.flag[F_PASSCODE]) hand_over();

  const char *socket_path = line.flag[F_SOCKET];
  if (!socket_path) {
    const char *env = getenv("ASCEND_AGENT_SOCKET");
    socket_path = env && *env ? env : DEFAULT_SOCKET;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  /* An empty path, one Node would read differently, or one too long: Node answers. */
  if (!*socket_path || strlen(socket_path) >= sizeof addr.sun_path || !utf8_valid((const unsigned char *)socket_path, strlen(socket_path))) hand_over();
  memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
  g_socket = socket_path;

  char *request = build_request(&line);
  if (!request) hand_over();

  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) hand_over();
  if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    const char *why = e == EACCES ? "permission denied" : e == ENOENT ? "no such socket" : e == ECONNREFUSED ? "connection refused" : NULL;
    if (!why) {
      close(sock);
      hand_over();
    }
    buf_t b = {0};
    buf_str(&b, "no agent answers on ");
    buf_str(&b, socket_path);
    buf_str(&b, " (");
    buf_str(&b, why);
    buf_ch(&b, ')');
    fail_line(b.p, HINT, 1);
  }
  /* Node ignores SIGPIPE: a closed reader is an EPIPE error, handled where it happens. */
  signal(SIGPIPE, SIG_IGN);
  return exchange(sock, request);
}
