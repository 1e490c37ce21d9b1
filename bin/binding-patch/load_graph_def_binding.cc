
// egtea: the argument of a one-argument call, or nullptr once an error is thrown.
static napi_value SingleArgument(napi_env env, napi_callback_info info, const char *function) {
  size_t argc = 1;
  napi_value args[1];
  napi_value js_this;
  napi_status nstatus = napi_get_cb_info(env, info, &argc, args, &js_this, nullptr);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  if (argc < 1) {
    NAPI_THROW_ERROR(env, "%s expects 1 argument, got %d", function, argc);
    return nullptr;
  }
  return args[0];
}

// egtea: loadGraphDef(bytes: Uint8Array) -> session id for runSavedModel.
static napi_value LoadGraphDef(napi_env env, napi_callback_info info) {
  napi_value graph_def = SingleArgument(env, info, "loadGraphDef");
  if (!graph_def) return nullptr;
  TFJSBackend *const backend = GetTFJSBackend(env);
  if (!backend) return nullptr;
  return backend->LoadGraphDef(env, graph_def);
}

// egtea: opDef(name: string) -> serialized tensorflow.OpDef.
static napi_value OpDef(napi_env env, napi_callback_info info) {
  napi_value op_name = SingleArgument(env, info, "opDef");
  if (!op_name) return nullptr;
  ENSURE_VALUE_IS_STRING_RETVAL(env, op_name, nullptr);
  TFJSBackend *const backend = GetTFJSBackend(env);
  if (!backend) return nullptr;
  return backend->OpDef(env, op_name);
}

