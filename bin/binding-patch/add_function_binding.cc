// egtea: the arguments of a call taking `count` of them, or false once an error is thrown.
static bool Arguments(napi_env env, napi_callback_info info, const char *function,
                      size_t count, napi_value *args) {
  size_t argc = count;
  napi_value js_this;
  napi_status nstatus = napi_get_cb_info(env, info, &argc, args, &js_this, nullptr);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, false);
  if (argc < count) {
    NAPI_THROW_ERROR(env, "%s expects %d arguments, got %d", function,
                     static_cast<int>(count), static_cast<int>(argc));
    return false;
  }
  return true;
}

// egtea: addFunction(graphDef: Uint8Array, name, inputs, outputs): registers the graph as a
// function executeOp can call by name.
static napi_value AddFunction(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!Arguments(env, info, "addFunction", 4, args)) return nullptr;
  for (int i = 1; i < 4; i++) ENSURE_VALUE_IS_STRING_RETVAL(env, args[i], nullptr);
  TFJSBackend *const backend = GetTFJSBackend(env);
  if (!backend) return nullptr;
  return backend->AddFunction(env, args[0], args[1], args[2], args[3]);
}

// egtea: removeFunction(name): forgets a function addFunction registered.
static napi_value RemoveFunction(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!Arguments(env, info, "removeFunction", 1, args)) return nullptr;
  ENSURE_VALUE_IS_STRING_RETVAL(env, args[0], nullptr);
  TFJSBackend *const backend = GetTFJSBackend(env);
  if (!backend) return nullptr;
  return backend->RemoveFunction(env, args[0]);
}

