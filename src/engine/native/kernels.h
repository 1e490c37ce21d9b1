// The entry points of egtea's native kernels (one N-API module, src/engine/native).
#pragma once
#include <node_api.h>

#include "compute.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

// True when `value` is a typed array of the expected element type; fills its data and length.
inline bool typed_array(napi_env env, napi_value value, napi_typedarray_type expected, void** data, size_t* length) {
  bool is_typed = false;
  napi_is_typedarray(env, value, &is_typed);
  if (!is_typed) return false;
  napi_typedarray_type type;
  napi_get_typedarray_info(env, value, &type, length, data, nullptr, nullptr);
  return type == expected;
}

// The string `value` holds, into `out`; false when it is not a string.
inline bool string_value(napi_env env, napi_value value, std::string* out) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) return false;
  out->assign(length, '\0');
  napi_get_value_string_utf8(env, value, out->data(), length + 1, &length);
  return true;
}

napi_value GroupedConv3dForward(napi_env env, napi_callback_info info);
napi_value GroupedConv3dBackwardInput(napi_env env, napi_callback_info info);
napi_value GroupedConv3dBackwardFilter(napi_env env, napi_callback_info info);
napi_value BatchNormForward(napi_env env, napi_callback_info info);
napi_value BatchNormBackward(napi_env env, napi_callback_info info);
napi_value MaxPool3dForward(napi_env env, napi_callback_info info);
napi_value MaxPool3dBackward(napi_env env, napi_callback_info info);
napi_value CaptureStderr(napi_env env, napi_callback_info info);
napi_value RestoreStderr(napi_env env, napi_callback_info info);
napi_value WarpNormalize(napi_env env, napi_callback_info info);
napi_value PreloadLibraries(napi_env env, napi_callback_info info);
#ifdef EGTEA_WITH_JPEG
napi_value LoadJpegClips(napi_env env, napi_callback_info info);
napi_value WriteJpegFrames(napi_env env, napi_callback_info info);
#endif
