// egtea's CPU kernels as TensorFlow ops, registered through TensorFlow's C API when this
// module loads (once per process, after the tfjs binding has loaded libtensorflow). As ops they
// work on TensorFlow's own buffers (no copy into JavaScript and back) and a recorded training
// step keeps each of them as one graph node. Gradients are ops of their own; tfjs composes
// the backward pass from them (src/engine/*-kernel.ts).
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "compute.h"
#include "shape_graph.h"
#include "tensorflow/c/kernels.h"
#include "tensorflow/c/ops.h"
#include "tf_status.h"

namespace {

using egtea::Status;

// Inputs are released when the compute function returns.
struct Inputs {
  std::vector<TF_Tensor*> tensors;
  ~Inputs() {
    for (TF_Tensor* t : tensors) TF_DeleteTensor(t);
  }
};

std::vector<int64_t> Shape(TF_Tensor* t) {
  std::vector<int64_t> dims(TF_NumDims(t));
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = TF_Dim(t, int(i));
  return dims;
}

int64_t Elements(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

const float* Floats(TF_Tensor* t) { return static_cast<const float*>(TF_TensorData(t)); }

bool ReadInputs(TF_OpKernelContext* ctx, int count, Inputs* inputs) {
  Status status;
  for (int i = 0; i < count; ++i) {
    TF_Tensor* t = nullptr;
    TF_GetInput(ctx, i, &t, status.s);
    if (!status.ok()) {
      TF_OpKernelContext_Failure(ctx, status.s);
      return false;
    }
    inputs->tensors.push_back(t);
  }
  return true;
}

// Allocates output `index`; null (and the op failed) when TensorFlow cannot.
TF_Tensor* Output(TF_OpKernelContext* ctx, int index, TF_DataType dtype, const std::vector<int64_t>& dims) {
  Status status;
  const size_t bytes = size_t(Elements(dims)) * (dtype == TF_INT32 ? sizeof(int32_t) : sizeof(float));
  TF_Tensor* t = TF_AllocateOutput(ctx, index, dtype, dims.data(), int(dims.size()), bytes, status.s);
  if (!status.ok()) {
    TF_OpKernelContext_Failure(ctx, status.s);
    return nullptr;
  }
  return t;
}

void Fail(TF_OpKernelContext* ctx, const std::string& message) {
  Status status;
  TF_SetStatus(status.s, TF_INVALID_ARGUMENT, message.c_str());
  TF_OpKernelContext_Failure(ctx, status.s);
}

// ---- attributes, read once per kernel instance ----------------------------------------------

struct Attrs {
  std::vector<int64_t> strides, padding, shape;
  int64_t groups = 1, threads = 1, kernel = 1, stride = 1, pad = 0;
  float epsilon = 0;
  bool relu = false, training = false, has_residual = false;
};

std::vector<int64_t> IntList(TF_OpKernelConstruction* c, const char* name, TF_Status* s) {
  int32_t size = 0, total = 0;
  TF_OpKernelConstruction_GetAttrSize(c, name, &size, &total, s);
  std::vector<int64_t> values(size > 0 ? size : 0);
  if (TF_GetCode(s) == TF_OK && size > 0) TF_OpKernelConstruction_GetAttrInt64List(c, name, values.data(), size, s);
  return values;
}

int64_t Int(TF_OpKernelConstruction* c, const char* name, TF_Status* s) {
  int64_t v = 0;
  TF_OpKernelConstruction_GetAttrInt64(c, name, &v, s);
  return v;
}

bool Bool(TF_OpKernelConstruction* c, const char* name, TF_Status* s) {
  TF_Bool v = 0;
  TF_OpKernelConstruction_GetAttrBool(c, name, &v, s);
  return v != 0;
}

template <void (*Read)(TF_OpKernelConstruction*, Attrs*, TF_Status*)>
void* Create(TF_OpKernelConstruction* c) {
  Status status;
  auto* attrs = new Attrs();
  Read(c, attrs, status.s);
  if (!status.ok()) {
    TF_OpKernelConstruction_Failure(c, status.s);
    delete attrs;
    return nullptr;
  }
  return attrs;
}

void Delete(void* attrs) { delete static_cast<Attrs*>(attrs); }

void ReadConvAttrs(TF_OpKernelConstruction* c, Attrs* a, TF_Status* s) {
  a->strides = IntList(c, "strides", s);
  if (TF_GetCode(s) == TF_OK) a->padding = IntList(c, "padding", s);
  if (TF_GetCode(s) == TF_OK) a->groups = Int(c, "groups", s);
  if (TF_GetCode(s) == TF_OK) a->threads = Int(c, "threads", s);
  if (TF_GetCode(s) == TF_OK && (a->strides.size() != 3 || a->padding.size() != 3)) TF_SetStatus(s, TF_INVALID_ARGUMENT, "strides and padding need 3 values");
}

void ReadConvGradAttrs(TF_OpKernelConstruction* c, Attrs* a, TF_Status* s) {
  ReadConvAttrs(c, a, s);
  if (TF_GetCode(s) == TF_OK) a->shape = IntList(c, "shape", s);
  if (TF_GetCode(s) == TF_OK && a->shape.size() != 5) TF_SetStatus(s, TF_INVALID_ARGUMENT, "shape needs 5 values");
}

void ReadBatchNormAttrs(TF_OpKernelConstruction* c, Attrs* a, TF_Status* s) {
  a->relu = Bool(c, "relu", s);
  if (TF_GetCode(s) == TF_OK) a->training = Bool(c, "training", s);
  if (TF_GetCode(s) == TF_OK) a->has_residual = Bool(c, "has_residual", s);
  if (TF_GetCode(s) == TF_OK) a->threads = Int(c, "threads", s);
}

void ReadBatchNormForwardAttrs(TF_OpKernelConstruction* c, Attrs* a, TF_Status* s) {
  ReadBatchNormAttrs(c, a, s);
  if (TF_GetCode(s) == TF_OK) TF_OpKernelConstruction_GetAttrFloat(c, "epsilon", &a->epsilon, s);
}

void ReadPoolAttrs(TF_OpKernelConstruction* c, Attrs* a, TF_Status* s) {
  a->kernel = Int(c, "kernel", s);
  if (TF_GetCode(s) == TF_OK) a->stride = Int(c, "stride", s);
  if (TF_GetCode(s) == TF_OK) a->pad = Int(c, "padding", s);
  if (TF_GetCode(s) == TF_OK) a->threads = Int(c, "threads", s);
}

void ReadPoolGradAttrs(TF_OpKernelConstruction* c, Attrs* a, TF_Status* s) {
  a->shape = IntList(c, "shape", s);
  if (TF_GetCode(s) == TF_OK && a->shape.size() != 5) TF_SetStatus(s, TF_INVALID_ARGUMENT, "shape needs 5 values");
}

int64_t OutSize(int64_t in, int64_t k, int64_t stride, int64_t pad) { return (in + 2 * pad - k) / stride + 1; }

// The convolution's dimensions from the input shape, the filter shape and the attributes.
bool ConvDimsOf(const Attrs& a, const std::vector<int64_t>& x, const std::vector<int64_t>& w, egtea::ConvDims* d) {
  if (x.size() != 5 || w.size() != 5) return false;
  *d = egtea::ConvDims{x[0], x[1], x[2], x[3], x[4], 0, 0, 0, w[4], w[0], w[1], w[2], a.strides[0], a.strides[1], a.strides[2],
                       a.padding[0], a.padding[1], a.padding[2], a.groups, a.threads};
  d->to = OutSize(d->t, d->kt, d->st, d->pt);
  d->ho = OutSize(d->h, d->kh, d->sh, d->ph);
  d->wo = OutSize(d->w, d->kw, d->sw, d->pw);
  return d->valid() && w[3] * a.groups == x[4] && d->to > 0 && d->ho > 0 && d->wo > 0;
}

// ---- grouped conv3d ----------------------------------------------------------------------------

void ConvForward(void* attrs, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(attrs);
  Inputs in;
  if (!ReadInputs(ctx, 2, &in)) return;
  egtea::ConvDims d;
  if (!ConvDimsOf(a, Shape(in.tensors[0]), Shape(in.tensors[1]), &d)) return Fail(ctx, "EgteaGroupedConv3D: the input, filter and groups do not fit");
  TF_Tensor* y = Output(ctx, 0, TF_FLOAT, {d.n, d.to, d.ho, d.wo, d.cout});
  if (!y) return;
  egtea::grouped_conv3d_forward(d, Floats(in.tensors[0]), Floats(in.tensors[1]), static_cast<float*>(TF_TensorData(y)));
  TF_DeleteTensor(y);
}

// inputs: filter, dy; attr shape: the input's shape.
void ConvBackwardInput(void* attrs, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(attrs);
  Inputs in;
  if (!ReadInputs(ctx, 2, &in)) return;
  egtea::ConvDims d;
  if (!ConvDimsOf(a, a.shape, Shape(in.tensors[0]), &d) || TF_TensorElementCount(in.tensors[1]) != d.output_size())
    return Fail(ctx, "EgteaGroupedConv3DBackpropInput: the shapes do not fit");
  TF_Tensor* dx = Output(ctx, 0, TF_FLOAT, a.shape);
  if (!dx) return;
  egtea::grouped_conv3d_backward_input(d, Floats(in.tensors[1]), Floats(in.tensors[0]), static_cast<float*>(TF_TensorData(dx)));
  TF_DeleteTensor(dx);
}

// inputs: x, dy; attr shape: the filter's shape.
void ConvBackwardFilter(void* attrs, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(attrs);
  Inputs in;
  if (!ReadInputs(ctx, 2, &in)) return;
  egtea::ConvDims d;
  if (!ConvDimsOf(a, Shape(in.tensors[0]), a.shape, &d) || TF_TensorElementCount(in.tensors[1]) != d.output_size())
    return Fail(ctx, "EgteaGroupedConv3DBackpropFilter: the shapes do not fit");
  TF_Tensor* dw = Output(ctx, 0, TF_FLOAT, a.shape);
  if (!dw) return;
  egtea::grouped_conv3d_backward_filter(d, Floats(in.tensors[0]), Floats(in.tensors[1]), static_cast<float*>(TF_TensorData(dw)));
  TF_DeleteTensor(dw);
}

// ---- batch norm (+ residual, ReLU) ---------------------------------------------------------------

bool BatchNormShapeOf(const Attrs& a, TF_Tensor* x, egtea::BatchNormShape* s) {
  const std::vector<int64_t> dims = Shape(x);
  if (dims.empty() || dims.back() == 0) return false;
  *s = egtea::BatchNormShape{Elements(dims) / dims.back(), dims.back(), a.relu, a.training, a.threads};
  return true;
}

// inputs: x, gamma, beta, residual (empty without), running_mean, running_var; outputs: y, mean, rstd.
void BatchNormForward(void* attrs, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(attrs);
  Inputs in;
  if (!ReadInputs(ctx, 6, &in)) return;
  egtea::BatchNormShape s;
  const int64_t n = TF_TensorElementCount(in.tensors[0]);
  if (!BatchNormShapeOf(a, in.tensors[0], &s) || TF_TensorElementCount(in.tensors[1]) != s.channels || TF_TensorElementCount(in.tensors[2]) != s.channels ||
      TF_TensorElementCount(in.tensors[4]) != s.channels || TF_TensorElementCount(in.tensors[5]) != s.channels ||
      (a.has_residual && TF_TensorElementCount(in.tensors[3]) != n))
    return Fail(ctx, "EgteaBatchNorm: the shapes do not fit");
  TF_Tensor* y = Output(ctx, 0, TF_FLOAT, Shape(in.tensors[0]));
  TF_Tensor* mean = y ? Output(ctx, 1, TF_FLOAT, {s.channels}) : nullptr;
  TF_Tensor* rstd = mean ? Output(ctx, 2, TF_FLOAT, {s.channels}) : nullptr;
  if (rstd) {
    egtea::batch_norm_forward(s, Floats(in.tensors[0]), Floats(in.tensors[1]), Floats(in.tensors[2]), a.has_residual ? Floats(in.tensors[3]) : nullptr,
                              Floats(in.tensors[4]), Floats(in.tensors[5]), a.epsilon, static_cast<float*>(TF_TensorData(y)),
                              static_cast<float*>(TF_TensorData(mean)), static_cast<float*>(TF_TensorData(rstd)));
  }
  for (TF_Tensor* t : {y, mean, rstd})
    if (t) TF_DeleteTensor(t);
}

// inputs: x, y, dy, gamma, mean, rstd; outputs: dx, dgamma, dbeta, dresidual (empty without).
void BatchNormBackward(void* attrs, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(attrs);
  Inputs in;
  if (!ReadInputs(ctx, 6, &in)) return;
  egtea::BatchNormShape s;
  const int64_t n = TF_TensorElementCount(in.tensors[0]);
  if (!BatchNormShapeOf(a, in.tensors[0], &s) || TF_TensorElementCount(in.tensors[1]) != n || TF_TensorElementCount(in.tensors[2]) != n ||
      TF_TensorElementCount(in.tensors[3]) != s.channels || TF_TensorElementCount(in.tensors[4]) != s.channels ||
      TF_TensorElementCount(in.tensors[5]) != s.channels)
    return Fail(ctx, "EgteaBatchNormGrad: the shapes do not fit");
  const std::vector<int64_t> shape = Shape(in.tensors[0]);
  TF_Tensor* dx = Output(ctx, 0, TF_FLOAT, shape);
  TF_Tensor* dgamma = dx ? Output(ctx, 1, TF_FLOAT, {s.channels}) : nullptr;
  TF_Tensor* dbeta = dgamma ? Output(ctx, 2, TF_FLOAT, {s.channels}) : nullptr;
  TF_Tensor* dres = dbeta ? Output(ctx, 3, TF_FLOAT, a.has_residual ? shape : std::vector<int64_t>{0}) : nullptr;
  if (dres) {
    egtea::batch_norm_backward(s, Floats(in.tensors[0]), Floats(in.tensors[1]), Floats(in.tensors[2]), Floats(in.tensors[3]), Floats(in.tensors[4]),
                               Floats(in.tensors[5]), static_cast<float*>(TF_TensorData(dx)), static_cast<float*>(TF_TensorData(dgamma)),
                               static_cast<float*>(TF_TensorData(dbeta)), a.has_residual ? static_cast<float*>(TF_TensorData(dres)) : nullptr);
  }
  for (TF_Tensor* t : {dx, dgamma, dbeta, dres})
    if (t) TF_DeleteTensor(t);
}

// ---- 3D max pooling ------------------------------------------------------------------------------

// input: x; outputs: y, argmax (int32 flat input positions).
void PoolForward(void* attrs, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(attrs);
  Inputs in;
  if (!ReadInputs(ctx, 1, &in)) return;
  const std::vector<int64_t> x = Shape(in.tensors[0]);
  if (x.size() != 5 || Elements(x) >= (int64_t(1) << 31)) return Fail(ctx, "EgteaMaxPool3D: the input must be 5D with fewer than 2^31 values");
  egtea::PoolDims d{x[0], x[1], x[2], x[3], x[4], OutSize(x[1], a.kernel, a.stride, a.pad), OutSize(x[2], a.kernel, a.stride, a.pad),
                    OutSize(x[3], a.kernel, a.stride, a.pad), a.kernel, a.stride, a.pad, a.threads};
  if (d.to <= 0 || d.ho <= 0 || d.wo <= 0) return Fail(ctx, "EgteaMaxPool3D: the window is larger than the padded input");
  const std::vector<int64_t> out{d.n, d.to, d.ho, d.wo, d.c};
  TF_Tensor* y = Output(ctx, 0, TF_FLOAT, out);
  TF_Tensor* argmax = y ? Output(ctx, 1, TF_INT32, out) : nullptr;
  if (argmax) egtea::max_pool3d_forward(d, Floats(in.tensors[0]), static_cast<float*>(TF_TensorData(y)), static_cast<int32_t*>(TF_TensorData(argmax)));
  for (TF_Tensor* t : {y, argmax})
    if (t) TF_DeleteTensor(t);
}

// inputs: dy, argmax; attr shape: the input's shape.
void PoolBackward(void* attrs, TF_OpKernelContext* ctx) {
  const Attrs& a = *static_cast<Attrs*>(attrs);
  Inputs in;
  if (!ReadInputs(ctx, 2, &in)) return;
  const int64_t size = TF_TensorElementCount(in.tensors[0]);
  if (TF_TensorElementCount(in.tensors[1]) != size) return Fail(ctx, "EgteaMaxPool3DGrad: dy and argmax differ in size");
  TF_Tensor* dx = Output(ctx, 0, TF_FLOAT, a.shape);
  if (!dx) return;
  egtea::max_pool3d_backward(Floats(in.tensors[0]), static_cast<const int32_t*>(TF_TensorData(in.tensors[1])), size,
                             static_cast<float*>(TF_TensorData(dx)), Elements(a.shape));
  TF_DeleteTensor(dx);
}

// ---- registration ------------------------------------------------------------------------------

void UnknownShapes(TF_ShapeInferenceContext* ctx, TF_Status* status) { TF_ShapeInferenceContextSetUnknownShape(ctx, status); }

struct OpSpec {
  const char* name;
  std::vector<const char*> inputs, outputs, attrs;
  void* (*create)(TF_OpKernelConstruction*);
  void (*compute)(void*, TF_OpKernelContext*);
};

std::string Register(const OpSpec& op) {
  Status status;
  TF_OpDefinitionBuilder* b = TF_NewOpDefinitionBuilder(op.name);
  for (const char* in : op.inputs) TF_OpDefinitionBuilderAddInput(b, in);
  for (const char* out : op.outputs) TF_OpDefinitionBuilderAddOutput(b, out);
  for (const char* attr : op.attrs) TF_OpDefinitionBuilderAddAttr(b, attr);
  TF_OpDefinitionBuilderSetShapeInferenceFunction(b, UnknownShapes);
  TF_RegisterOpDefinition(b, status.s);
  if (!status.ok()) return std::string(op.name) + ": " + TF_Message(status.s);
  TF_KernelBuilder* k = TF_NewKernelBuilder(op.name, "CPU", op.create, op.compute, Delete);
  TF_RegisterKernelBuilder((std::string(op.name) + "CPU").c_str(), k, status.s);
  if (!status.ok()) return std::string(op.name) + " kernel: " + TF_Message(status.s);
  return "";
}

// Registration is process-wide and must happen once; Node loads a module once per process.
std::vector<std::string> RegisterAll(std::string* error) {
  const std::vector<const char*> conv = {"strides: list(int)", "padding: list(int)", "groups: int", "threads: int"};
  std::vector<const char*> conv_grad = conv;
  conv_grad.push_back("shape: list(int)");
  const std::vector<const char*> bn = {"relu: bool", "training: bool", "has_residual: bool", "threads: int"};
  std::vector<const char*> bn_forward = bn;
  bn_forward.push_back("epsilon: float");
  const std::vector<OpSpec> ops = {
      {"EgteaGroupedConv3D", {"x: float", "filter: float"}, {"y: float"}, conv, Create<ReadConvAttrs>, ConvForward},
      {"EgteaGroupedConv3DBackpropInput", {"filter: float", "dy: float"}, {"dx: float"}, conv_grad, Create<ReadConvGradAttrs>, ConvBackwardInput},
      {"EgteaGroupedConv3DBackpropFilter", {"x: float", "dy: float"}, {"dfilter: float"}, conv_grad, Create<ReadConvGradAttrs>, ConvBackwardFilter},
      {"EgteaBatchNorm",
       {"x: float", "gamma: float", "beta: float", "residual: float", "running_mean: float", "running_var: float"},
       {"y: float", "mean: float", "rstd: float"},
       bn_forward,
       Create<ReadBatchNormForwardAttrs>,
       BatchNormForward},
      {"EgteaBatchNormGrad",
       {"x: float", "y: float", "dy: float", "gamma: float", "mean: float", "rstd: float"},
       {"dx: float", "dgamma: float", "dbeta: float", "dresidual: float"},
       bn,
       Create<ReadBatchNormAttrs>,
       BatchNormBackward},
      {"EgteaMaxPool3D", {"x: float"}, {"y: float", "argmax: int32"}, {"kernel: int", "stride: int", "padding: int", "threads: int"}, Create<ReadPoolAttrs>,
       PoolForward},
      {"EgteaMaxPool3DGrad", {"dy: float", "argmax: int32"}, {"dx: float"}, {"shape: list(int)"}, Create<ReadPoolGradAttrs>, PoolBackward},
  };
  std::vector<std::string> names;
  for (const OpSpec& op : ops) {
    *error = Register(op);
    if (!error->empty()) return names;
    names.push_back(op.name);
  }
  return names;
}

napi_value Init(napi_env env, napi_value exports) {
  std::string error;
  const std::vector<std::string> names = RegisterAll(&error);
  if (!error.empty()) {
    napi_throw_error(env, nullptr, ("registering egtea's TensorFlow ops failed: " + error).c_str());
    return nullptr;
  }
  napi_value list;
  napi_create_array_with_length(env, names.size(), &list);
  for (size_t i = 0; i < names.size(); ++i) {
    napi_value name;
    napi_create_string_utf8(env, names[i].c_str(), names[i].size(), &name);
    napi_set_element(env, list, uint32_t(i), name);
  }
  napi_set_named_property(env, exports, "ops", list);
  ExportShapeGraph(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
