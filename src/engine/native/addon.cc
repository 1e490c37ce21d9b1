// egtea's native kernels: the CPU operations TensorFlow.js lacks or runs slowly.
#include <node_api.h>

#include "kernels.h"

namespace {

napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"groupedConv3dForward", nullptr, GroupedConv3dForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"groupedConv3dBackwardInput", nullptr, GroupedConv3dBackwardInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"groupedConv3dBackwardFilter", nullptr, GroupedConv3dBackwardFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormForward", nullptr, BatchNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, BatchNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool3dForward", nullptr, MaxPool3dForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool3dBackward", nullptr, MaxPool3dBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"warpNormalize", nullptr, WarpNormalize, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"captureStderr", nullptr, CaptureStderr, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"restoreStderr", nullptr, RestoreStderr, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"preloadLibraries", nullptr, PreloadLibraries, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
#ifdef EGTEA_WITH_JPEG
  // Only where libjpeg-turbo's headers were found at build time.
  napi_property_descriptor jpeg[] = {
      {"loadJpegClips", nullptr, LoadJpegClips, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"writeJpegFrames", nullptr, WriteJpegFrames, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(jpeg) / sizeof(jpeg[0]), jpeg);
#endif
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
