// Points file descriptor 2 at a file and back. libtensorflow's logger writes notices to
// stderr while it loads, whatever TF_CPP_MIN_LOG_LEVEL says; egtea captures them so that a
// command's stderr holds only its own messages, and shows them when loading fails.
#include <fcntl.h>
#include <node_api.h>
#include <unistd.h>

#include <string>

#include "kernels.h"

// captureStderr(path) -> saved descriptor (or -1)
napi_value CaptureStderr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char path[4096];
  size_t length = 0;
  int saved = -1;
  if (argc == 1 && napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &length) == napi_ok) {
    const int file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (file >= 0) {
      saved = dup(2);
      dup2(file, 2);
      close(file);
    }
  }
  napi_value result;
  napi_create_int32(env, saved, &result);
  return result;
}

// restoreStderr(saved)
napi_value RestoreStderr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t saved = -1;
  if (argc == 1) napi_get_value_int32(env, argv[0], &saved);
  if (saved >= 0) {
    dup2(saved, 2);
    close(saved);
  }
  return nullptr;
}
