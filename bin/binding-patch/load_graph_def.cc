
// egtea: a TF_Graph imported from GraphDef bytes (a Uint8Array), or nullptr once an error
// is thrown. loadGraphDef and addFunction share it.
static TF_Graph *GraphFromBytes(napi_env env, napi_value graph_def_value,
                                const char *caller) {
  napi_status nstatus;
  napi_typedarray_type array_type;
  size_t length;
  void *data;
  nstatus = napi_get_typedarray_info(env, graph_def_value, &array_type, &length,
                                     &data, nullptr, nullptr);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  if (array_type != napi_uint8_array) {
    NAPI_THROW_ERROR(env, "%s expects a Uint8Array", caller);
    return nullptr;
  }
  TF_AutoStatus tf_status;
  TF_Graph *graph = TF_NewGraph();
  TF_Buffer *buffer = TF_NewBufferFromString(data, length);
  TF_ImportGraphDefOptions *import_options = TF_NewImportGraphDefOptions();
  TF_GraphImportGraphDef(graph, buffer, import_options, tf_status.status);
  TF_DeleteImportGraphDefOptions(import_options);
  TF_DeleteBuffer(buffer);
  if (TF_GetCode(tf_status.status) != TF_OK) {
    TF_DeleteGraph(graph);
    NAPI_THROW_ERROR(env, "Failed to import GraphDef: %s",
                     TF_Message(tf_status.status));
    return nullptr;
  }
  return graph;
}

// egtea: a TF_Session over a GraphDef given as bytes, kept beside the SavedModel sessions so
// runSavedModel and deleteSavedModel serve it too. egtea builds such graphs from a traced
// training step and runs the whole step as one call instead of one eager op at a time.
napi_value TFJSBackend::LoadGraphDef(napi_env env, napi_value graph_def_value) {
  napi_status nstatus;
  TF_Graph *graph = GraphFromBytes(env, graph_def_value, "loadGraphDef");
  if (!graph) return nullptr;
  TF_AutoStatus tf_status;
  TF_SessionOptions *session_options = TF_NewSessionOptions();
  TF_Session *session = TF_NewSession(graph, session_options, tf_status.status);
  TF_DeleteSessionOptions(session_options);
  if (TF_GetCode(tf_status.status) != TF_OK) {
    TF_DeleteGraph(graph);
    NAPI_THROW_ERROR(env, "Failed to create a session: %s",
                     TF_Message(tf_status.status));
    return nullptr;
  }

  napi_value session_id;
  nstatus = napi_create_int32(env, InsertSavedModel(session, graph), &session_id);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  return session_id;
}

// egtea: the serialized OpDef of an op, so graphs built from eager calls can name the type
// attributes that eager execution infers from inputs.
napi_value TFJSBackend::OpDef(napi_env env, napi_value op_name_value) {
  std::string op_name;
  napi_status nstatus = GetStringParam(env, op_name_value, op_name);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  TF_AutoStatus tf_status;
  TF_Graph *graph = TF_NewGraph();
  TF_Buffer *buffer = TF_NewBuffer();
  TF_GraphGetOpDef(graph, op_name.c_str(), buffer, tf_status.status);
  TF_DeleteGraph(graph);
  if (TF_GetCode(tf_status.status) != TF_OK) {
    TF_DeleteBuffer(buffer);
    NAPI_THROW_ERROR(env, "No OpDef for %s: %s", op_name.c_str(),
                     TF_Message(tf_status.status));
    return nullptr;
  }
  napi_value result;
  void *copy;
  nstatus = napi_create_buffer_copy(env, buffer->length, buffer->data, &copy, &result);
  TF_DeleteBuffer(buffer);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  return result;
}

