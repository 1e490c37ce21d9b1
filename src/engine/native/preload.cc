// Loads shared libraries by path before libtensorflow starts, so that when TensorFlow later
// asks the dynamic loader for, say, libcudart.so.12 by name, the loader finds it already
// loaded (matched by its soname) and no LD_LIBRARY_PATH is needed. egtea uses it for the NVIDIA
// libraries `egtea engine install --gpu` puts in its cache.
#include <dlfcn.h>
#include <node_api.h>

#include <string>
#include <vector>

#include "kernels.h"

// preloadLibraries(paths: string[]) -> { path: dlerror } for each that did not load.
// Libraries depend on one another; each pass loads what it can until a pass loads nothing.
napi_value PreloadLibraries(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  bool is_array = false;
  if (argc != 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, nullptr, "preloadLibraries(paths: string[])");
    return nullptr;
  }
  uint32_t count = 0;
  napi_get_array_length(env, argv[0], &count);
  std::vector<std::string> pending;
  for (uint32_t i = 0; i < count; ++i) {
    napi_value item;
    napi_get_element(env, argv[0], i, &item);
    size_t length = 0;
    if (napi_get_value_string_utf8(env, item, nullptr, 0, &length) != napi_ok) {
      napi_throw_type_error(env, nullptr, "preloadLibraries: every path must be a string");
      return nullptr;
    }
    std::string path(length, '\0');
    napi_get_value_string_utf8(env, item, &path[0], length + 1, &length);
    pending.push_back(path);
  }
  std::vector<std::string> errors;
  bool progress = true;
  while (!pending.empty() && progress) {
    progress = false;
    errors.clear();
    std::vector<std::string> still;
    for (const std::string& path : pending) {
      // RTLD_GLOBAL: later libraries (and TensorFlow) resolve symbols against it.
      if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) != nullptr) {
        progress = true;
      } else {
        const char* why = dlerror();
        still.push_back(path);
        errors.push_back(why ? why : "unknown error");
      }
    }
    pending.swap(still);
  }
  napi_value result;
  napi_create_object(env, &result);
  for (size_t i = 0; i < pending.size(); ++i) {
    napi_value message;
    napi_create_string_utf8(env, errors[i].c_str(), errors[i].size(), &message);
    napi_set_named_property(env, result, pending[i].c_str(), message);
  }
  return result;
}
