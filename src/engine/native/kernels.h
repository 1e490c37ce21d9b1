// The entry points of egtea's native kernels (one N-API module, src/engine/native).
#pragma once
#include <node_api.h>

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
#ifdef EGTEA_WITH_JPEG
napi_value LoadJpegClip(napi_env env, napi_callback_info info);
#endif
