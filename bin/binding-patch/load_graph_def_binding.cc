
// egtea: loadGraphDef(bytes: Uint8Array) -> session id for runSavedModel.
static napi_value LoadGraphDef(napi_env env, napi_callback_info info) {
  napi_status nstatus;
  size_t argc = 1;
  napi_value args[1];
  napi_value js_this;
  nstatus = napi_get_cb_info(env, info, &argc, args, &js_this, nullptr);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  if (argc < 1) {
    NAPI_THROW_ERROR(env, "loadGraphDef expects 1 argument, got %d", argc);
    return nullptr;
  }
  TFJSBackend *const backend = GetTFJSBackend(env);
  if (!backend) return nullptr;
  return backend->LoadGraphDef(env, args[0]);
}

// egtea: opDef(name: string) -> serialized tensorflow.OpDef.
static napi_value OpDef(napi_env env, napi_callback_info info) {
  napi_status nstatus;
  size_t argc = 1;
  napi_value args[1];
  napi_value js_this;
  nstatus = napi_get_cb_info(env, info, &argc, args, &js_this, nullptr);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  if (argc < 1) {
    NAPI_THROW_ERROR(env, "opDef expects 1 argument, got %d", argc);
    return nullptr;
  }
  ENSURE_VALUE_IS_STRING_RETVAL(env, args[0], nullptr);
  TFJSBackend *const backend = GetTFJSBackend(env);
  if (!backend) return nullptr;
  return backend->OpDef(env, args[0]);
}

