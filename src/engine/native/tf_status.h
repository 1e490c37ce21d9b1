// A TF_Status owned by one call of TensorFlow's C API, which reports every error through one.
#pragma once

#include "tensorflow/c/tf_status.h"

namespace egtea {

struct Status {
  TF_Status* s = TF_NewStatus();
  ~Status() { TF_DeleteStatus(s); }
  Status() = default;
  Status(const Status&) = delete;
  Status& operator=(const Status&) = delete;
  bool ok() const { return TF_GetCode(s) == TF_OK; }
};

}  // namespace egtea
