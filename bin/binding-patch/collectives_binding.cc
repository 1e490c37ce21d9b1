// egtea: enableCollectives(serverDef: Uint8Array) -> the device name new tensors go to.
static napi_value EnableCollectives(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!Arguments(env, info, "enableCollectives", 1, args)) return nullptr;
  TFJSBackend *const backend = GetTFJSBackend(env);
  if (!backend) return nullptr;
  return backend->EnableCollectives(env, args[0]);
}

// egtea: checkCollectivePeer(task, timeoutMs): throws when the task does not answer.
static napi_value CheckCollectivePeer(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!Arguments(env, info, "checkCollectivePeer", 2, args)) return nullptr;
  ENSURE_VALUE_IS_STRING_RETVAL(env, args[0], nullptr);
  TFJSBackend *const backend = GetTFJSBackend(env);
  if (!backend) return nullptr;
  return backend->CheckCollectivePeer(env, args[0], args[1]);
}

