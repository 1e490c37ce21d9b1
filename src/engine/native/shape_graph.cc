// A TensorFlow graph that is built only for its shape inference: a step is recorded without
// running it (src/engine/graph/step-trace.ts) by adding each op here and taking its outputs'
// shapes and types from TensorFlow's own shape functions, which also read constant inputs
// (a Reshape's target shape, a Fill's dimensions). Nothing in it ever runs.
#include "shape_graph.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tensorflow/c/c_api.h"
#include "tf_status.h"

namespace {

using egtea::Status;

bool Throw(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, message.c_str());
  return false;
}

std::string String(napi_env env, napi_value v) {
  size_t length = 0;
  napi_get_value_string_utf8(env, v, nullptr, 0, &length);
  std::string s(length, '\0');
  napi_get_value_string_utf8(env, v, s.data(), length + 1, &length);
  return s;
}

int64_t Int(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return int64_t(d);
}

napi_value Property(napi_env env, napi_value object, const char* name) {
  napi_value v;
  napi_get_named_property(env, object, name, &v);
  return v;
}

napi_value Element(napi_env env, napi_value array, uint32_t i) {
  napi_value v;
  napi_get_element(env, array, i, &v);
  return v;
}

uint32_t Length(napi_env env, napi_value array) {
  uint32_t n = 0;
  napi_get_array_length(env, array, &n);
  return n;
}

std::vector<int64_t> Ints(napi_env env, napi_value array) {
  std::vector<int64_t> values(Length(env, array));
  for (uint32_t i = 0; i < values.size(); ++i) values[i] = Int(env, Element(env, array, i));
  return values;
}

// "node:index" of an operation already in the graph.
bool Output(napi_env env, TF_Graph* graph, const std::string& source, TF_Output* out) {
  const size_t colon = source.rfind(':');
  const std::string node = colon == std::string::npos ? source : source.substr(0, colon);
  out->oper = TF_GraphOperationByName(graph, node.c_str());
  out->index = colon == std::string::npos ? 0 : std::stoi(source.substr(colon + 1));
  if (out->oper == nullptr) return Throw(env, "shape graph: no node " + node);
  return true;
}

// attrs: [name, kind, value] as src/engine/graph/graph-def.ts types them.
bool SetAttr(napi_env env, TF_OperationDescription* desc, napi_value attr) {
  const std::string name = String(env, Element(env, attr, 0));
  const std::string kind = String(env, Element(env, attr, 1));
  napi_value value = Element(env, attr, 2);
  const char* n = name.c_str();
  if (kind == "type") {
    TF_SetAttrType(desc, n, TF_DataType(Int(env, value)));
  } else if (kind == "types") {
    std::vector<TF_DataType> types;
    for (int64_t t : Ints(env, value)) types.push_back(TF_DataType(t));
    TF_SetAttrTypeList(desc, n, types.data(), int(types.size()));
  } else if (kind == "int") {
    TF_SetAttrInt(desc, n, Int(env, value));
  } else if (kind == "ints") {
    const std::vector<int64_t> ints = Ints(env, value);
    TF_SetAttrIntList(desc, n, ints.data(), int(ints.size()));
  } else if (kind == "float" || kind == "floats") {
    std::vector<float> floats;
    if (kind == "float") {
      double d = 0;
      napi_get_value_double(env, value, &d);
      TF_SetAttrFloat(desc, n, float(d));
    } else {
      for (uint32_t i = 0; i < Length(env, value); ++i) {
        double d = 0;
        napi_get_value_double(env, Element(env, value, i), &d);
        floats.push_back(float(d));
      }
      TF_SetAttrFloatList(desc, n, floats.data(), int(floats.size()));
    }
  } else if (kind == "bool") {
    bool b = false;
    napi_get_value_bool(env, value, &b);
    TF_SetAttrBool(desc, n, b);
  } else if (kind == "bools") {
    std::vector<unsigned char> bools;
    for (uint32_t i = 0; i < Length(env, value); ++i) {
      bool b = false;
      napi_get_value_bool(env, Element(env, value, i), &b);
      bools.push_back(b);
    }
    TF_SetAttrBoolList(desc, n, bools.data(), int(bools.size()));
  } else if (kind == "string") {
    const std::string s = String(env, value);
    TF_SetAttrString(desc, n, s.data(), s.size());
  } else if (kind == "shape") {
    const std::vector<int64_t> dims = Ints(env, value);
    TF_SetAttrShape(desc, n, dims.data(), int(dims.size()));
  } else if (kind == "tensor") {
    const TF_DataType dtype = TF_DataType(Int(env, Property(env, value, "dtype")));
    const std::vector<int64_t> dims = Ints(env, Property(env, value, "shape"));
    void* data = nullptr;
    size_t bytes = 0;
    napi_typedarray_type type;
    napi_value buffer;
    size_t offset = 0;
    napi_get_typedarray_info(env, Property(env, value, "bytes"), &type, &bytes, &data, &buffer, &offset);
    TF_Tensor* tensor = TF_AllocateTensor(dtype, dims.data(), int(dims.size()), bytes);
    if (tensor == nullptr) return Throw(env, "shape graph: cannot allocate the constant of " + name);
    std::memcpy(TF_TensorData(tensor), data, bytes);
    Status status;
    TF_SetAttrTensor(desc, n, tensor, status.s);
    TF_DeleteTensor(tensor);
    if (!status.ok()) return Throw(env, "shape graph: " + name + ": " + TF_Message(status.s));
  } else {
    return Throw(env, "shape graph: attribute kind " + kind);
  }
  return true;
}

void FinalizeGraph(napi_env, void* graph, void*) { TF_DeleteGraph(static_cast<TF_Graph*>(graph)); }

napi_value NewShapeGraph(napi_env env, napi_callback_info) {
  napi_value external;
  napi_create_external(env, TF_NewGraph(), FinalizeGraph, nullptr, &external);
  return external;
}

// addShapeNode(graph, name, op, inputs, attrs): inputs hold "node:index" for a single input
// and an array of them for a list argument. Returns each output's {dtype, shape}; a shape is
// null when its rank is unknown and has -1 for each unknown dimension.
napi_value AddShapeNode(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 5) return Throw(env, "addShapeNode takes (graph, name, op, inputs, attrs)"), nullptr;
  napi_valuetype type;
  napi_typeof(env, argv[0], &type);
  if (type != napi_external) return Throw(env, "addShapeNode: the first argument is not a graph from newShapeGraph()"), nullptr;
  void* pointer = nullptr;
  napi_get_value_external(env, argv[0], &pointer);
  TF_Graph* graph = static_cast<TF_Graph*>(pointer);
  const std::string name = String(env, argv[1]);
  const std::string op = String(env, argv[2]);

  TF_OperationDescription* desc = TF_NewOperation(graph, op.c_str(), name.c_str());
  // A description that is not finished leaks; an error below finishes it with what it has
  // and lets TensorFlow report it (or discards a node nothing will ever reference).
  bool ok = true;
  for (uint32_t i = 0; ok && i < Length(env, argv[3]); ++i) {
    napi_value input = Element(env, argv[3], i);
    bool is_list = false;
    napi_is_array(env, input, &is_list);
    if (is_list) {
      std::vector<TF_Output> list(Length(env, input));
      for (uint32_t j = 0; ok && j < list.size(); ++j) ok = Output(env, graph, String(env, Element(env, input, j)), &list[j]);
      if (ok) TF_AddInputList(desc, list.data(), int(list.size()));
    } else {
      TF_Output out;
      ok = Output(env, graph, String(env, input), &out);
      if (ok) TF_AddInput(desc, out);
    }
  }
  for (uint32_t i = 0; ok && i < Length(env, argv[4]); ++i) ok = SetAttr(env, desc, Element(env, argv[4], i));
  Status status;
  TF_Operation* operation = TF_FinishOperation(desc, status.s);
  if (!ok) return nullptr;
  if (!status.ok()) return Throw(env, std::string("shape graph: ") + op + ": " + TF_Message(status.s)), nullptr;

  const int outputs = TF_OperationNumOutputs(operation);
  napi_value result;
  napi_create_array_with_length(env, outputs, &result);
  for (int i = 0; i < outputs; ++i) {
    const TF_Output out{operation, i};
    napi_value entry, dtype, shape;
    napi_create_object(env, &entry);
    napi_create_int32(env, TF_OperationOutputType(out), &dtype);
    const int rank = TF_GraphGetTensorNumDims(graph, out, status.s);
    if (!status.ok() || rank < 0) {
      napi_get_null(env, &shape);
    } else {
      std::vector<int64_t> dims(rank);
      TF_GraphGetTensorShape(graph, out, dims.data(), rank, status.s);
      napi_create_array_with_length(env, rank, &shape);
      for (int d = 0; d < rank; ++d) {
        napi_value dim;
        napi_create_double(env, status.ok() ? double(dims[d]) : -1.0, &dim);
        napi_set_element(env, shape, uint32_t(d), dim);
      }
    }
    napi_set_named_property(env, entry, "dtype", dtype);
    napi_set_named_property(env, entry, "shape", shape);
    napi_set_element(env, result, uint32_t(i), entry);
  }
  return result;
}

}  // namespace

void ExportShapeGraph(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "newShapeGraph", NAPI_AUTO_LENGTH, NewShapeGraph, nullptr, &fn);
  napi_set_named_property(env, exports, "newShapeGraph", fn);
  napi_create_function(env, "addShapeNode", NAPI_AUTO_LENGTH, AddShapeNode, nullptr, &fn);
  napi_set_named_property(env, exports, "addShapeNode", fn);
}
