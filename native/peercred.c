/*
 * peercred: who is on the other end of a Unix socket, as the kernel says (SO_PEERCRED).
 *
 * peerCredentials(fd) -> { pid, uid, gid }: the credentials the peer had when it called
 * connect() (or socketpair()).
 *
 * Two more questions the agent asks the kernel about a file it holds open, before a rule may
 * elevate it (agent/daemon/trust.ts), which Node has no API for:
 *   posixAclAccess(fd) -> Buffer | null: the raw system.posix_acl_access extended attribute
 *     (fgetxattr), or null when the file has none or its filesystem has no ACLs.
 *   mountOf(fd) -> { type, nosuid }: the filesystem type (f_type) and whether the mount the
 *     descriptor is on ignores set-uid bits (fstatfs f_flags ST_NOSUID).
 *
 * And one the executor needs to share /etc/passwd with shadow-utils (agent/executor/pwdb.ts):
 *   tryWriteLock(fd) -> boolean: an fcntl write lock on the whole file (F_SETLK, F_WRLCK), as
 *     glibc's lckpwdf() takes on /etc/.pwd.lock; false when another process holds it. Released
 *     when the process closes any descriptor of that file (or exits).
 *   copySecurityXattrs(from, to): copies security.selinux and system.posix_acl_access between
 *     two open files (see below).
 *
 * And the name service, asked in the agent's own process instead of forking getent and id for
 * every request (agent/daemon/identity.ts):
 *   lookupAccount(uid, callback): on a thread of libuv's pool, getpwuid_r, getgrouplist and
 *     getgrgid_r, as `getent passwd UID` and `id -G NAME` / `id -Gn NAME` would answer; the
 *     callback gets (null, { name, home, gid, groups: [{ gid, name }] }) with the primary group
 *     first, (null, null) when the uid is unknown, or (Error) when the name service failed.
 *     A group without a name has name null; groups is null when the account is known but its
 *     groups could not be read (as `id -Gn` failing). The name must look back up
 *     (getpwnam_r) to the same uid, else nameElsewhere is "other-uid" (or "unknown": the name
 *     is not found) and groups null: the groups found by that name would be another account's.
 *   nssKnown(db, key, callback): whether `getent passwd|group KEY` would find KEY (a key of
 *     digits only is an id, anything else a name, as getent reads it): (null, true|false), or
 *     (Error) when the name service failed.
 *   groupMembership(group, member, callback): the group named `group` (getgrnam_r) and whether
 *     `member` is among the members it lists (case ignored): (null, { name, gid, member }), (null, null) when
 *     no group has that name, or (Error) when the name service failed.
 *
 * And one the daemon asks once a policy is applied, as Node has no API for it either:
 *   releaseMemory() -> number: the free memory of malloc's arenas given back to the system
 *     (malloc_trim; see below).
 *
 * Plain C against node_api.h only (N-API version 8), so the binary does not depend on the Node
 * version that loads it. Linux only. Built by scripts/build-native.js into
 * build/native/peercred.node.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <node_api.h>

#ifndef __linux__
#error "peercred uses SO_PEERCRED, which is Linux only"
#endif

/* Throws an Error with message, code and errno; returns NULL for the caller to return. */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char text[256];
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_value msg, code, error, num;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_string_utf8(env, "ERR_PEERCRED", NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok) {
    napi_throw_error(env, "ERR_PEERCRED", text);
    return NULL;
  }
  if (napi_create_int32(env, err, &num) == napi_ok) napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
  return NULL;
}

/* The one argument, a file descriptor: a non-negative int. Returns 0, or -1 with an exception pending. */
static int fd_argument(napi_env env, napi_callback_info info, const char *usage, int *fd) {
  char text[128];
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  if (argc < 1) {
    snprintf(text, sizeof text, "%s: fd is required", usage);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", text);
    return -1;
  }
  napi_valuetype type;
  if (napi_typeof(env, argv[0], &type) != napi_ok) return -1;
  if (type != napi_number) {
    snprintf(text, sizeof text, "%s: fd must be a number", usage);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", text);
    return -1;
  }
  double value;
  if (napi_get_value_double(env, argv[0], &value) != napi_ok) return -1;
  if (!(value >= 0 && value <= 2147483647.0) || value != (double)(int)value) {
    snprintf(text, sizeof text, "%s: fd must be a non-negative integer", usage);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", text);
    return -1;
  }
  *fd = (int)value;
  return 0;
}

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  int fd;
  if (fd_argument(env, info, "peerCredentials(fd)", &fd) != 0) return NULL;

  struct ucred cred;
  socklen_t len = sizeof cred;
  memset(&cred, 0, sizeof cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  }
  if (len != sizeof cred) return throw_errno(env, "getsockopt(SO_PEERCRED) returned a short answer", EPROTO);

  napi_value result, pid, uid, gid;
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_int32(env, (int32_t)cred.pid, &pid) != napi_ok ||
      napi_create_uint32(env, (uint32_t)cred.uid, &uid) != napi_ok ||
      napi_create_uint32(env, (uint32_t)cred.gid, &gid) != napi_ok ||
      napi_set_named_property(env, result, "pid", pid) != napi_ok ||
      napi_set_named_property(env, result, "uid", uid) != napi_ok ||
      napi_set_named_property(env, result, "gid", gid) != napi_ok) {
    return NULL;
  }
  return result;
}

/* An ACL xattr is 4 bytes of header and 8 per entry; the kernel allows at most 8191 entries. */
#define MAX_ACL_BYTES (4 + 8 * 8191)

static napi_value posix_acl_access(napi_env env, napi_callback_info info) {
  int fd;
  if (fd_argument(env, info, "posixAclAccess(fd)", &fd) != 0) return NULL;
  /* Asked for its size, then read; a change in between (ERANGE) is asked again, a few times. */
  for (int attempt = 0; attempt < 4; attempt++) {
    ssize_t size = fgetxattr(fd, "system.posix_acl_access", NULL, 0);
    if (size < 0) {
      if (errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP) {
        napi_value null;
        return napi_get_null(env, &null) == napi_ok ? null : NULL;
      }
      return throw_errno(env, "fgetxattr(system.posix_acl_access)", errno);
    }
    if (size > MAX_ACL_BYTES) return throw_errno(env, "fgetxattr(system.posix_acl_access) is larger than an ACL can be", EOVERFLOW);
    char *buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf == NULL) return throw_errno(env, "malloc", ENOMEM);
    ssize_t got = size > 0 ? fgetxattr(fd, "system.posix_acl_access", buf, (size_t)size) : 0;
    if (got < 0) {
      int err = errno;
      free(buf);
      if (err == ERANGE) continue;
      if (err == ENODATA || err == ENOTSUP || err == EOPNOTSUPP) {
        napi_value null;
        return napi_get_null(env, &null) == napi_ok ? null : NULL;
      }
      return throw_errno(env, "fgetxattr(system.posix_acl_access)", err);
    }
    napi_value result;
    napi_status status = napi_create_buffer_copy(env, (size_t)got, buf, NULL, &result);
    free(buf);
    return status == napi_ok ? result : NULL;
  }
  return throw_errno(env, "fgetxattr(system.posix_acl_access) kept changing size", ERANGE);
}

static napi_value mount_of(napi_env env, napi_callback_info info) {
  int fd;
  if (fd_argument(env, info, "mountOf(fd)", &fd) != 0) return NULL;
  struct statfs sfs;
  memset(&sfs, 0, sizeof sfs);
  if (fstatfs(fd, &sfs) != 0) return throw_errno(env, "fstatfs", errno);
  napi_value result, type, nosuid;
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_double(env, (double)(unsigned long)sfs.f_type, &type) != napi_ok ||
      napi_get_boolean(env, (sfs.f_flags & ST_NOSUID) != 0, &nosuid) != napi_ok ||
      napi_set_named_property(env, result, "type", type) != napi_ok ||
      napi_set_named_property(env, result, "nosuid", nosuid) != napi_ok) {
    return NULL;
  }
  return result;
}

static napi_value undefined_value(napi_env env);

/* closeOnExec(fd): sets FD_CLOEXEC on fd, so that no program the process starts inherits it
 * (the listening socket ascend-agentd passes an agent that runs on demand). */
static napi_value close_on_exec(napi_env env, napi_callback_info info) {
  int fd;
  if (fd_argument(env, info, "closeOnExec(fd)", &fd) != 0) return NULL;
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) return throw_errno(env, "fcntl(F_SETFD)", errno);
  return undefined_value(env);
}

static napi_value try_write_lock(napi_env env, napi_callback_info info) {
  int fd;
  if (fd_argument(env, info, "tryWriteLock(fd)", &fd) != 0) return NULL;
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  int got = 1;
  if (fcntl(fd, F_SETLK, &fl) != 0) {
    if (errno != EAGAIN && errno != EACCES) return throw_errno(env, "fcntl(F_SETLK)", errno);
    got = 0;
  }
  napi_value result;
  return napi_get_boolean(env, got != 0, &result) == napi_ok ? result : NULL;
}

/*
 * copySecurityXattrs(from, to): copies the extended attributes that carry a file's access
 * rules, security.selinux (its SELinux label) and system.posix_acl_access (its ACL), from the
 * file open on fd `from` to the one on fd `to`, as shadow-utils keeps them when it rewrites
 * /etc/passwd through a new file. One the file system or kernel does not have is skipped; one
 * that cannot be read whole or set throws (the caller then does not replace the file).
 */
static napi_value copy_security_xattrs(napi_env env, napi_callback_info info) {
  static const char *const names[] = { "security.selinux", "system.posix_acl_access" };
  size_t argc = 2;
  napi_value argv[2];
  int32_t from = -1, to = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &from) != napi_ok || napi_get_value_int32(env, argv[1], &to) != napi_ok || from < 0 || to < 0) {
    napi_throw_type_error(env, NULL, "copySecurityXattrs(from, to) takes two file descriptors");
    return NULL;
  }
  char *buf = malloc(65536); /* XATTR_SIZE_MAX */
  if (buf == NULL) return throw_errno(env, "malloc", ENOMEM);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    ssize_t got = fgetxattr(from, names[i], buf, 65536);
    if (got < 0) {
      int err = errno;
      if (err == ENODATA || err == ENOTSUP || err == EOPNOTSUPP) continue;
      free(buf);
      return throw_errno(env, names[i], err);
    }
    if (fsetxattr(to, names[i], buf, (size_t)got, 0) != 0) {
      int err = errno;
      free(buf);
      return throw_errno(env, names[i], err);
    }
  }
  free(buf);
  napi_value undefined;
  return napi_get_undefined(env, &undefined) == napi_ok ? undefined : NULL;
}

/*
 * releaseMemory() -> number: malloc_trim(0), the free memory of every malloc arena returned to
 * the kernel (reading and compiling a policy frees megabytes glibc would otherwise keep); answers
 * 1 when memory was released, else 0. The program's own pages are left alone: paging out clean
 * code only to show a smaller RSS would hide what the agent costs, not lower it.
 */
static napi_value release_memory(napi_env env, napi_callback_info info) {
  (void)info;
  int released = malloc_trim(0);
  napi_value result;
  return napi_create_int32(env, released, &result) == napi_ok ? result : NULL;
}

/* Queues `execute` on libuv's pool, `complete` after it on the main thread, with a reference
 * to the JS callback held until then: 0, or -1 with nothing queued and nothing held. */
static int queue_lookup(napi_env env, const char *label, napi_value callback, napi_async_execute_callback execute, napi_async_complete_callback complete,
                        void *data, napi_async_work *work, napi_ref *ref) {
  napi_value name;
  if (napi_create_reference(env, callback, 1, ref) != napi_ok ||
      napi_create_string_utf8(env, label, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, data, work) != napi_ok ||
      napi_queue_async_work(env, *work) != napi_ok) {
    if (*work) napi_delete_async_work(env, *work);
    if (*ref) napi_delete_reference(env, *ref);
    *work = NULL;
    *ref = NULL;
    return -1;
  }
  return 0;
}

/* A JS string as a new C string of 1 to 1024 bytes without NUL; NULL (a RangeError saying
 * `what`, or ENOMEM for `fn`, thrown) otherwise. */
static char *bounded_string(napi_env env, napi_value value, const char *fn, const char *what) {
  size_t len;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  if (len == 0 || len > 1024) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", what);
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) {
    throw_errno(env, fn, ENOMEM);
    return NULL;
  }
  if (napi_get_value_string_utf8(env, value, s, len + 1, &len) != napi_ok || strlen(s) != len) {
    free(s);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", what);
    return NULL;
  }
  return s;
}

/* The arguments (string, string, function) into argv; -1 with a TypeError saying `usage` thrown otherwise. */
static int two_strings_and_callback(napi_env env, napi_callback_info info, napi_value argv[3], const char *usage) {
  size_t argc = 3;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  napi_valuetype t0, t1, t2;
  if (argc < 3 || napi_typeof(env, argv[0], &t0) != napi_ok || napi_typeof(env, argv[1], &t1) != napi_ok || napi_typeof(env, argv[2], &t2) != napi_ok ||
      t0 != napi_string || t1 != napi_string || t2 != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return -1;
  }
  return 0;
}

static napi_value undefined_value(napi_env env) {
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

/* ---------------------------------------------------------------- lookupAccount */

/* At most this many groups of one account (NGROUPS_MAX is 65536 on Linux). */
#define MAX_ACCOUNT_GROUPS 65536

typedef struct {
  char *name;
} group_name_t;

typedef struct {
  uid_t uid;
  napi_async_work work;
  napi_ref callback;
  int err;          /* an errno of the name service, 0 when it answered */
  int groups_failed; /* the account is known, its groups could not be read */
  int found;        /* the uid is known */
  int name_elsewhere; /* its name looks up to no account (2) or another uid (1: a local and a directory account sharing a name) */
  char *name, *home;
  gid_t gid;
  int ngroups;
  gid_t *gids;
  char **gnames;    /* NULL where the group has no name */
} lookup_t;

/* getpw*_r and getgr*_r want a buffer: grown while they say ERANGE, up to `cap` (a group of a
 * directory can list many thousands of members). */
static int with_buffer_up_to(char **buf, size_t *size, size_t cap) {
  size_t next = *size ? *size * 2 : 4096;
  if (next > cap) return ERANGE;
  char *p = realloc(*buf, next);
  if (!p) return ENOMEM;
  *buf = p;
  *size = next;
  return 0;
}

static int with_buffer(char **buf, size_t *size) { return with_buffer_up_to(buf, size, 1u << 20); }

static void lookup_execute(napi_env env, void *data) {
  (void)env;
  lookup_t *l = data;
  char *buf = NULL;
  size_t size = 0;
  struct passwd pw, *pwp = NULL;
  int rc;
  for (;;) {
    if ((rc = with_buffer(&buf, &size)) != 0) { l->err = rc; goto done; }
    rc = getpwuid_r(l->uid, &pw, buf, size, &pwp);
    if (rc != ERANGE) break;
  }
  /* Unknown: 0 (or ENOENT/ESRCH from some modules) with no entry. */
  if (!pwp) {
    if (rc != 0 && rc != ENOENT && rc != ESRCH) l->err = rc;
    goto done;
  }
  l->found = 1;
  l->gid = pw.pw_gid;
  l->name = strdup(pw.pw_name ? pw.pw_name : "");
  l->home = strdup(pw.pw_dir ? pw.pw_dir : "");
  if (!l->name || !l->home) { l->err = ENOMEM; goto done; }
  /* getgrouplist and a login look the account up by its name: the name must lead back to this
   * uid, or the groups would be another account's (as `id -u NAME` is checked by the forks). */
  for (;;) {
    struct passwd byname, *bnp = NULL;
    rc = getpwnam_r(l->name, &byname, buf, size, &bnp);
    if (rc == ERANGE) {
      if ((rc = with_buffer(&buf, &size)) != 0) { l->err = rc; goto done; }
      continue;
    }
    if (!bnp && rc != 0 && rc != ENOENT && rc != ESRCH) { l->err = rc; goto done; }
    if (!bnp || bnp->pw_uid != l->uid) { l->name_elsewhere = bnp ? 1 : 2; goto done; }
    break;
  }
  int n = 64;
  for (;;) {
    gid_t *g = realloc(l->gids, sizeof(gid_t) * (size_t)n);
    if (!g) { l->err = ENOMEM; goto done; }
    l->gids = g;
    int got = n;
    if (getgrouplist(l->name, l->gid, l->gids, &got) >= 0) { n = got; break; }
    if (got <= n) {
      if (n >= MAX_ACCOUNT_GROUPS) { l->err = E2BIG; goto done; }
      got = n * 2;
    }
    if (got > MAX_ACCOUNT_GROUPS) { l->err = E2BIG; goto done; }
    n = got;
  }
  /* The primary group first, then the others in the name service's order, each once. */
  gid_t *ordered = malloc(sizeof(gid_t) * (size_t)(n + 1));
  if (!ordered) { l->err = ENOMEM; goto done; }
  int k = 0;
  ordered[k++] = l->gid;
  for (int i = 0; i < n; i++) {
    int seen = 0;
    for (int j = 0; j < k && !seen; j++) seen = ordered[j] == l->gids[i];
    if (!seen) ordered[k++] = l->gids[i];
  }
  free(l->gids);
  l->gids = ordered;
  l->ngroups = k;
  l->gnames = calloc((size_t)k, sizeof(char *));
  if (!l->gnames) { l->err = ENOMEM; goto done; }
  for (int i = 0; i < k; i++) {
    struct group gr, *grp = NULL;
    for (;;) {
      rc = getgrgid_r(l->gids[i], &gr, buf, size, &grp);
      if (rc != ERANGE) break;
      if ((rc = with_buffer_up_to(&buf, &size, 64u << 20)) != 0) { l->groups_failed = 1; goto done; }
    }
    if (grp && grp->gr_name) {
      l->gnames[i] = strdup(grp->gr_name);
      if (!l->gnames[i]) { l->err = ENOMEM; goto done; }
    } else if (rc != 0 && rc != ENOENT && rc != ESRCH) {
      /* The account is known; only its groups could not be read (as `id -Gn` failing): no groups. */
      l->groups_failed = 1;
      goto done;
    }
  }
done:
  free(buf);
}

static void lookup_free(lookup_t *l) {
  if (l->gnames) for (int i = 0; i < l->ngroups; i++) free(l->gnames[i]);
  free(l->gnames);
  free(l->gids);
  free(l->name);
  free(l->home);
  free(l);
}

static napi_value lookup_result(napi_env env, lookup_t *l) {
  napi_value result, v, groups;
  if (!l->found) {
    napi_get_null(env, &result);
    return result;
  }
  if (napi_create_object(env, &result) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH, &v) != napi_ok || napi_set_named_property(env, result, "name", v) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, l->home, NAPI_AUTO_LENGTH, &v) != napi_ok || napi_set_named_property(env, result, "home", v) != napi_ok) return NULL;
  if (napi_create_uint32(env, (uint32_t)l->gid, &v) != napi_ok || napi_set_named_property(env, result, "gid", v) != napi_ok) return NULL;
  if (l->name_elsewhere) {
    if (napi_create_string_utf8(env, l->name_elsewhere == 1 ? "other-uid" : "unknown", NAPI_AUTO_LENGTH, &v) != napi_ok || napi_set_named_property(env, result, "nameElsewhere", v) != napi_ok) return NULL;
  }
  if (l->groups_failed || l->name_elsewhere) {
    if (napi_get_null(env, &groups) != napi_ok || napi_set_named_property(env, result, "groups", groups) != napi_ok) return NULL;
    return result;
  }
  if (napi_create_array_with_length(env, (size_t)l->ngroups, &groups) != napi_ok) return NULL;
  for (int i = 0; i < l->ngroups; i++) {
    napi_value g, id, name;
    if (napi_create_object(env, &g) != napi_ok || napi_create_uint32(env, (uint32_t)l->gids[i], &id) != napi_ok || napi_set_named_property(env, g, "gid", id) != napi_ok) return NULL;
    if (l->gnames[i]) {
      if (napi_create_string_utf8(env, l->gnames[i], NAPI_AUTO_LENGTH, &name) != napi_ok) return NULL;
    } else if (napi_get_null(env, &name) != napi_ok) {
      return NULL;
    }
    if (napi_set_named_property(env, g, "name", name) != napi_ok || napi_set_element(env, groups, (uint32_t)i, g) != napi_ok) return NULL;
  }
  if (napi_set_named_property(env, result, "groups", groups) != napi_ok) return NULL;
  return result;
}

static void lookup_complete(napi_env env, napi_status status, void *data) {
  lookup_t *l = data;
  napi_value cb, global, args[2];
  if (napi_get_reference_value(env, l->callback, &cb) == napi_ok && napi_get_global(env, &global) == napi_ok) {
    napi_get_null(env, &args[0]);
    napi_get_null(env, &args[1]);
    if (status != napi_ok || l->err != 0) {
      char text[160];
      snprintf(text, sizeof text, "the name service failed for uid %u: %s", (unsigned)l->uid, status != napi_ok ? "cancelled" : strerror(l->err));
      napi_value msg;
      if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) == napi_ok) napi_create_error(env, NULL, msg, &args[0]);
    } else {
      napi_value r = lookup_result(env, l);
      if (r) args[1] = r;
      else {
        napi_value msg;
        if (napi_create_string_utf8(env, "lookupAccount: out of memory", NAPI_AUTO_LENGTH, &msg) == napi_ok) napi_create_error(env, NULL, msg, &args[0]);
      }
    }
    napi_value ignored;
    napi_call_function(env, global, cb, 2, args, &ignored);
  }
  napi_delete_reference(env, l->callback);
  napi_delete_async_work(env, l->work);
  lookup_free(l);
}

static napi_value lookup_account(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  napi_valuetype t0, t1;
  if (argc < 2 || napi_typeof(env, argv[0], &t0) != napi_ok || napi_typeof(env, argv[1], &t1) != napi_ok || t0 != napi_number || t1 != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "lookupAccount(uid, callback)");
    return NULL;
  }
  double value;
  if (napi_get_value_double(env, argv[0], &value) != napi_ok) return NULL;
  if (!(value >= 0 && value <= 4294967294.0) || value != (double)(uint32_t)value) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "lookupAccount: uid must be an integer from 0 to 4294967294");
    return NULL;
  }
  lookup_t *l = calloc(1, sizeof *l);
  if (!l) return throw_errno(env, "lookupAccount", ENOMEM);
  l->uid = (uid_t)value;
  if (queue_lookup(env, "ascend:lookupAccount", argv[1], lookup_execute, lookup_complete, l, &l->work, &l->callback) != 0) {
    free(l);
    return throw_errno(env, "lookupAccount", EAGAIN);
  }
  return undefined_value(env);
}

/* ---------------------------------------------------------------- nssKnown */

typedef struct {
  int group;        /* 0: passwd, 1: group */
  char *key;
  napi_async_work work;
  napi_ref callback;
  int err, found;
} known_t;

static void known_execute(napi_env env, void *data) {
  (void)env;
  known_t *k = data;
  char *buf = NULL, *end = NULL;
  size_t size = 0;
  int rc;
  /* As getent: digits only (and not empty) is an id, anything else a name. */
  errno = 0;
  unsigned long id = strtoul(k->key, &end, 10);
  int by_id = k->key[0] >= '0' && k->key[0] <= '9' && *end == '\0' && errno == 0 && id <= 0xfffffffeUL;
  int numeric_overflow = k->key[0] >= '0' && k->key[0] <= '9' && *end == '\0' && !by_id;
  if (numeric_overflow) { k->err = ERANGE; return; }
  for (;;) {
    if ((rc = with_buffer(&buf, &size)) != 0) { k->err = rc; break; }
    if (k->group) {
      struct group gr, *grp = NULL;
      rc = by_id ? getgrgid_r((gid_t)id, &gr, buf, size, &grp) : getgrnam_r(k->key, &gr, buf, size, &grp);
      if (rc == ERANGE) continue;
      k->found = grp != NULL;
    } else {
      struct passwd pw, *pwp = NULL;
      rc = by_id ? getpwuid_r((uid_t)id, &pw, buf, size, &pwp) : getpwnam_r(k->key, &pw, buf, size, &pwp);
      if (rc == ERANGE) continue;
      k->found = pwp != NULL;
    }
    if (!k->found && rc != 0 && rc != ENOENT && rc != ESRCH) k->err = rc;
    break;
  }
  free(buf);
}

static void known_complete(napi_env env, napi_status status, void *data) {
  known_t *k = data;
  napi_value cb, global, args[2];
  if (napi_get_reference_value(env, k->callback, &cb) == napi_ok && napi_get_global(env, &global) == napi_ok) {
    napi_get_null(env, &args[0]);
    napi_get_boolean(env, k->found != 0, &args[1]);
    if (status != napi_ok || k->err != 0) {
      napi_value msg;
      if (napi_create_string_utf8(env, status != napi_ok ? "cancelled" : strerror(k->err), NAPI_AUTO_LENGTH, &msg) == napi_ok) napi_create_error(env, NULL, msg, &args[0]);
    }
    napi_value ignored;
    napi_call_function(env, global, cb, 2, args, &ignored);
  }
  napi_delete_reference(env, k->callback);
  napi_delete_async_work(env, k->work);
  free(k->key);
  free(k);
}

static napi_value nss_known(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (two_strings_and_callback(env, info, argv, "nssKnown(db, key, callback)") != 0) return NULL;
  char db[8];
  size_t dblen;
  if (napi_get_value_string_utf8(env, argv[0], db, sizeof db, &dblen) != napi_ok) return NULL;
  int group = strcmp(db, "group") == 0;
  if (!group && strcmp(db, "passwd") != 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "nssKnown: db must be passwd or group");
    return NULL;
  }
  char *key = bounded_string(env, argv[1], "nssKnown", "nssKnown: key must be 1 to 1024 bytes without NUL");
  if (!key) return NULL;
  known_t *k = calloc(1, sizeof *k);
  if (!k) {
    free(key);
    return throw_errno(env, "nssKnown", ENOMEM);
  }
  k->group = group;
  k->key = key;
  if (queue_lookup(env, "ascend:nssKnown", argv[2], known_execute, known_complete, k, &k->work, &k->callback) != 0) {
    free(k->key);
    free(k);
    return throw_errno(env, "nssKnown", EAGAIN);
  }
  return undefined_value(env);
}

/* ---------------------------------------------------------------- groupMembership */

/* A group by its name (getgrnam_r), and whether `member` is listed among its members: what a
 * deny rule's group is, asked directly, since getgrouplist drops a failing source's groups
 * without a word. */
typedef struct {
  char *key, *member;
  napi_async_work work;
  napi_ref callback;
  int err, found, is_member;
  gid_t gid;
  char *name;
} membership_t;

static void membership_execute(napi_env env, void *data) {
  (void)env;
  membership_t *m = data;
  char *buf = NULL;
  size_t size = 0;
  struct group gr, *grp = NULL;
  int rc;
  for (;;) {
    /* A directory group can list many thousands of members. */
    if ((rc = with_buffer_up_to(&buf, &size, 64u << 20)) != 0) { m->err = rc; goto done; }
    rc = getgrnam_r(m->key, &gr, buf, size, &grp);
    if (rc != ERANGE) break;
  }
  if (!grp) {
    if (rc != 0 && rc != ENOENT && rc != ESRCH) m->err = rc;
    goto done;
  }
  m->found = 1;
  m->gid = gr.gr_gid;
  m->name = strdup(gr.gr_name ? gr.gr_name : "");
  if (!m->name) { m->err = ENOMEM; goto done; }
  /* Without regard to case: a directory may list a member as Alice and name the account alice
   * (for a deny rule, a looser match is the safe side). */
  for (size_t i = 0; gr.gr_mem && gr.gr_mem[i] && !m->is_member; i++) m->is_member = strcasecmp(gr.gr_mem[i], m->member) == 0;
done:
  free(buf);
}

static void membership_complete(napi_env env, napi_status status, void *data) {
  membership_t *m = data;
  napi_value cb, global, args[2], v;
  if (napi_get_reference_value(env, m->callback, &cb) == napi_ok && napi_get_global(env, &global) == napi_ok) {
    napi_get_null(env, &args[0]);
    napi_get_null(env, &args[1]);
    if (status != napi_ok || m->err != 0) {
      napi_value msg;
      if (napi_create_string_utf8(env, status != napi_ok ? "cancelled" : strerror(m->err), NAPI_AUTO_LENGTH, &msg) == napi_ok) napi_create_error(env, NULL, msg, &args[0]);
    } else if (m->found) {
      if (napi_create_object(env, &args[1]) != napi_ok ||
          napi_create_string_utf8(env, m->name, NAPI_AUTO_LENGTH, &v) != napi_ok || napi_set_named_property(env, args[1], "name", v) != napi_ok ||
          napi_create_uint32(env, (uint32_t)m->gid, &v) != napi_ok || napi_set_named_property(env, args[1], "gid", v) != napi_ok ||
          napi_get_boolean(env, m->is_member != 0, &v) != napi_ok || napi_set_named_property(env, args[1], "member", v) != napi_ok) {
        napi_value msg;
        napi_get_null(env, &args[1]);
        if (napi_create_string_utf8(env, "groupMembership: out of memory", NAPI_AUTO_LENGTH, &msg) == napi_ok) napi_create_error(env, NULL, msg, &args[0]);
      }
    }
    napi_value ignored;
    napi_call_function(env, global, cb, 2, args, &ignored);
  }
  napi_delete_reference(env, m->callback);
  napi_delete_async_work(env, m->work);
  free(m->key);
  free(m->member);
  free(m->name);
  free(m);
}

static napi_value group_membership(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (two_strings_and_callback(env, info, argv, "groupMembership(group, member, callback)") != 0) return NULL;
  char *key = bounded_string(env, argv[0], "groupMembership", "groupMembership: the group must be 1 to 1024 bytes without NUL");
  if (!key) return NULL;
  char *member = bounded_string(env, argv[1], "groupMembership", "groupMembership: the member must be 1 to 1024 bytes without NUL");
  if (!member) {
    free(key);
    return NULL;
  }
  membership_t *m = calloc(1, sizeof *m);
  if (!m) {
    free(key);
    free(member);
    return throw_errno(env, "groupMembership", ENOMEM);
  }
  m->key = key;
  m->member = member;
  if (queue_lookup(env, "ascend:groupMembership", argv[2], membership_execute, membership_complete, m, &m->work, &m->callback) != 0) {
    free(m->key);
    free(m->member);
    free(m);
    return throw_errno(env, "groupMembership", EAGAIN);
  }
  return undefined_value(env);
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {
    { "peerCredentials", peer_credentials },
    { "posixAclAccess", posix_acl_access },
    { "mountOf", mount_of },
    { "tryWriteLock", try_write_lock },
    { "closeOnExec", close_on_exec },
    { "copySecurityXattrs", copy_security_xattrs },
    { "releaseMemory", release_memory },
    { "lookupAccount", lookup_account },
    { "nssKnown", nss_known },
    { "groupMembership", group_membership },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, fn) != napi_ok) return NULL;
  }
  /* What the functions promise, raised when a promise is added (agent/executor/nss.ts refuses
   * an older addon's function that lacks one, and every function of an addon without a level):
   * 2, lookupAccount checks that the name leads back to the uid, and groupMembership compares
   * member names without case. */
  napi_value level;
  if (napi_create_uint32(env, 2, &level) != napi_ok || napi_set_named_property(env, exports, "abiLevel", level) != napi_ok) return NULL;
  return exports;
}
