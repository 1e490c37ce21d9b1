// egtea: TensorFlow's collective ops for data-parallel training (src/distributed/). The
// context starts this task's gRPC server from a serialized ServerDef; its local devices are
// then named /job:<job>/replica:0/task:<k>/..., so the device the binding places new
// tensors on is looked up again (the /job:localhost name it saved no longer exists).
static bool TypedArrayBytes(napi_env env, napi_value value, const char *caller,
                            void **data, size_t *length) {
  napi_typedarray_type array_type;
  napi_status nstatus = napi_get_typedarray_info(env, value, &array_type, length,
                                                 data, nullptr, nullptr);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, false);
  if (array_type != napi_uint8_array) {
    NAPI_THROW_ERROR(env, "%s expects a Uint8Array", caller);
    return false;
  }
  return true;
}

napi_value TFJSBackend::EnableCollectives(napi_env env,
                                          napi_value server_def_value) {
  void *data;
  size_t length;
  if (!TypedArrayBytes(env, server_def_value, "enableCollectives", &data, &length))
    return nullptr;
  TF_AutoStatus tf_status;
  TFE_EnableCollectiveOps(tfe_context_, data, length, tf_status.status);
  if (TF_GetCode(tf_status.status) != TF_OK) {
    NAPI_THROW_ERROR(env, "Failed to start the collective-ops server: %s",
                     TF_Message(tf_status.status));
    return nullptr;
  }
  TF_DeviceList *device_list = TFE_ContextListDevices(tfe_context_, tf_status.status);
  ENSURE_TF_OK_RETVAL(env, tf_status, nullptr);
  // The constructor's rule: the first GPU, else the host CPU.
  std::string cpu_name, gpu_name;
  for (int i = 0; i < TF_DeviceListCount(device_list); i++) {
    const char *type = TF_DeviceListType(device_list, i, tf_status.status);
    const char *name = TF_DeviceListName(device_list, i, tf_status.status);
    if (TF_GetCode(tf_status.status) != TF_OK) break;
    if (strcmp(type, "CPU") == 0 && cpu_name.empty()) cpu_name = name;
    if (strcmp(type, "GPU") == 0 && gpu_name.empty()) gpu_name = name;
  }
  TF_DeleteDeviceList(device_list);
  ENSURE_TF_OK_RETVAL(env, tf_status, nullptr);
  device_name = gpu_name.empty() ? cpu_name : gpu_name;
  napi_value result;
  napi_status nstatus =
      napi_create_string_utf8(env, device_name.c_str(), device_name.size(), &result);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  return result;
}

napi_value TFJSBackend::CheckCollectivePeer(napi_env env, napi_value task_value,
                                            napi_value timeout_ms_value) {
  std::string task;
  napi_status nstatus = GetStringParam(env, task_value, task);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  int64_t timeout_ms;
  nstatus = napi_get_value_int64(env, timeout_ms_value, &timeout_ms);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  TF_AutoStatus tf_status;
  TFE_CollectiveOpsCheckPeerHealth(tfe_context_, task.c_str(), timeout_ms,
                                   tf_status.status);
  if (TF_GetCode(tf_status.status) != TF_OK) {
    NAPI_THROW_ERROR(env, "%s", TF_Message(tf_status.status));
    return nullptr;
  }
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

