// Shape inference over a TensorFlow graph that never runs (shape_graph.cc), exported by the
// TensorFlow-ops module (tf_ops.cc) as newShapeGraph() and addShapeNode(...).
#pragma once

#include <node_api.h>

void ExportShapeGraph(napi_env env, napi_value exports);
