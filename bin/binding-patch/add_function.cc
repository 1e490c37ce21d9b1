// egtea: a GraphDef registered with the eager context as a function named `name`, whose
// arguments are the `inputs` ("node:index", comma-separated) and whose results are the
// `outputs`. executeOp(name, ...) then runs it as one op: its inputs and results stay tensor
// handles on the device they live on (a TF_Session would take them through host memory).
static bool ParseGraphOutputs(TF_Graph *graph, const std::string &names,
                              std::vector<TF_Output> &outputs,
                              std::string &missing) {
  size_t start = 0;
  while (start <= names.size()) {
    size_t comma = names.find(',', start);
    if (comma == std::string::npos) comma = names.size();
    std::string name = names.substr(start, comma - start);
    start = comma + 1;
    if (name.empty()) continue;
    int index = 0;
    size_t colon = name.rfind(':');
    if (colon != std::string::npos) {
      index = std::stoi(name.substr(colon + 1));
      name = name.substr(0, colon);
    }
    TF_Operation *op = TF_GraphOperationByName(graph, name.c_str());
    if (op == nullptr) {
      missing = name;
      return false;
    }
    outputs.push_back(TF_Output{op, index});
  }
  return true;
}

napi_value TFJSBackend::AddFunction(napi_env env, napi_value graph_def_value,
                                    napi_value name_value,
                                    napi_value inputs_value,
                                    napi_value outputs_value) {
  napi_status nstatus;
  std::string name, input_names, output_names;
  nstatus = GetStringParam(env, name_value, name);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  nstatus = GetStringParam(env, inputs_value, input_names);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  nstatus = GetStringParam(env, outputs_value, output_names);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  TF_Graph *graph = GraphFromBytes(env, graph_def_value, "addFunction");
  if (!graph) return nullptr;
  TF_AutoStatus tf_status;
  std::vector<TF_Output> inputs, outputs;
  std::string missing;
  if (!ParseGraphOutputs(graph, input_names, inputs, missing) ||
      !ParseGraphOutputs(graph, output_names, outputs, missing)) {
    TF_DeleteGraph(graph);
    NAPI_THROW_ERROR(env, "addFunction: the graph has no node '%s'",
                     missing.c_str());
    return nullptr;
  }
  TF_Function *function = TF_GraphToFunction(
      graph, name.c_str(), 0, -1, nullptr, static_cast<int>(inputs.size()),
      inputs.data(), static_cast<int>(outputs.size()), outputs.data(), nullptr,
      nullptr, "egtea step", tf_status.status);
  TF_DeleteGraph(graph);
  if (TF_GetCode(tf_status.status) != TF_OK) {
    NAPI_THROW_ERROR(env, "Failed to make a function of the graph: %s",
                     TF_Message(tf_status.status));
    return nullptr;
  }
  TFE_ContextAddFunction(tfe_context_, function, tf_status.status);
  TF_DeleteFunction(function);
  if (TF_GetCode(tf_status.status) != TF_OK) {
    NAPI_THROW_ERROR(env, "Failed to add the function: %s",
                     TF_Message(tf_status.status));
    return nullptr;
  }
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

napi_value TFJSBackend::RemoveFunction(napi_env env, napi_value name_value) {
  std::string name;
  napi_status nstatus = GetStringParam(env, name_value, name);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  TF_AutoStatus tf_status;
  TFE_ContextRemoveFunction(tfe_context_, name.c_str(), tf_status.status);
  ENSURE_TF_OK_RETVAL(env, tf_status, nullptr);
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

