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
#include <malloc.h>
#include <stdio.h>
#include <string.h>
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

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {
    { "peerCredentials", peer_credentials },
    { "posixAclAccess", posix_acl_access },
    { "mountOf", mount_of },
    { "tryWriteLock", try_write_lock },
    { "copySecurityXattrs", copy_security_xattrs },
    { "releaseMemory", release_memory },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, fn) != napi_ok) return NULL;
  }
  return exports;
}
