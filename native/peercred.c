/*
 * peercred: who is on the other end of a Unix socket, as the kernel says (SO_PEERCRED).
 *
 * One function, peerCredentials(fd) -> { pid, uid, gid }: the credentials the peer had when
 * it called connect() (or socketpair()). Plain C against node_api.h only (N-API version 8),
 * so the binary does not depend on the Node version that loads it. Linux only.
 * Built by scripts/build-native.js into build/native/peercred.node.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define NAPI_VERSION 8
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
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

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "peerCredentials(fd): fd is required");
    return NULL;
  }
  napi_valuetype type;
  if (napi_typeof(env, argv[0], &type) != napi_ok) return NULL;
  if (type != napi_number) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "peerCredentials(fd): fd must be a number");
    return NULL;
  }
  double value;
  if (napi_get_value_double(env, argv[0], &value) != napi_ok) return NULL;
  if (!(value >= 0 && value <= 2147483647.0) || value != (double)(int)value) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "peerCredentials(fd): fd must be a non-negative integer");
    return NULL;
  }
  int fd = (int)value;

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

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, peer_credentials, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "peerCredentials", fn) != napi_ok) return NULL;
  return exports;
}
