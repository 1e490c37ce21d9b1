import { ProtobufWriter } from './protobuf-writer.js';

/** An attribute value of a graph node, typed as TensorFlow's AttrValue distinguishes them. */
export type GraphAttrValue =
  | { kind: 'type'; value: number }
  | { kind: 'types'; value: readonly number[] }
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'bool'; value: boolean }
  | { kind: 'bools'; value: readonly boolean[] }
  | { kind: 'string'; value: string }
  | { kind: 'shape'; value: readonly number[] }
  | { kind: 'tensor'; value: GraphConstant };

/** A constant's value: TensorFlow dtype enum, shape, and its bytes in TensorFlow's layout. */
export interface GraphConstant {
  dtype: number;
  shape: readonly number[];
  bytes: Uint8Array;
}

/** One node: inputs are "node" or "node:output", as GraphDef spells them. */
export interface GraphNode {
  name: string;
  op: string;
  inputs: readonly string[];
  attrs: ReadonlyMap<string, GraphAttrValue>;
}

// Field numbers from tensorflow/core/framework/{graph,node_def,attr_value,tensor,tensor_shape,versions}.proto.
const GRAPH = { node: 1, versions: 4 } as const;
const VERSIONS = { producer: 1 } as const;
const NODE = { name: 1, op: 2, input: 3, attr: 5 } as const;
const ATTR = { list: 1, s: 2, i: 3, f: 4, b: 5, type: 6, shape: 7, tensor: 8 } as const;
const SHAPE = { dim: 2 } as const;
const DIM = { size: 1 } as const;
const TENSOR = { dtype: 1, shape: 2, content: 4 } as const;
// The GraphDef version TensorFlow 2.21 writes; ops deprecated before it are refused, as in Python.
const PRODUCER = 2221;

function writeShape(w: ProtobufWriter, shape: readonly number[]): void {
  for (const size of shape) w.message(SHAPE.dim, (d) => d.int(DIM.size, size));
}

function writeAttrValue(w: ProtobufWriter, attr: GraphAttrValue): void {
  switch (attr.kind) {
    case 'type':
      w.int(ATTR.type, attr.value);
      break;
    case 'types':
      w.message(ATTR.list, (l) => l.packedInts(ATTR.type, attr.value));
      break;
    case 'int':
      w.int(ATTR.i, attr.value);
      break;
    case 'ints':
      w.message(ATTR.list, (l) => l.packedInts(ATTR.i, attr.value));
      break;
    case 'float':
      w.float(ATTR.f, attr.value);
      break;
    case 'floats':
      w.message(ATTR.list, (l) => l.packedFloats(ATTR.f, attr.value));
      break;
    case 'bool':
      w.bool(ATTR.b, attr.value);
      break;
    case 'bools':
      w.message(ATTR.list, (l) =>
        l.packedInts(
          ATTR.b,
          attr.value.map((b) => (b ? 1 : 0)),
        ),
      );
      break;
    case 'string':
      w.string(ATTR.s, attr.value);
      break;
    case 'shape':
      w.message(ATTR.shape, (s) => writeShape(s, attr.value));
      break;
    case 'tensor':
      w.message(ATTR.tensor, (t) => {
        t.int(TENSOR.dtype, attr.value.dtype);
        t.message(TENSOR.shape, (s) => writeShape(s, attr.value.shape));
        t.bytes(TENSOR.content, attr.value.bytes);
      });
      break;
  }
}

/** Serialises nodes as a tensorflow.GraphDef. */
export function encodeGraphDef(nodes: readonly GraphNode[]): Uint8Array {
  const w = new ProtobufWriter();
  for (const node of nodes) {
    w.message(GRAPH.node, (n) => {
      n.string(NODE.name, node.name).string(NODE.op, node.op);
      for (const input of node.inputs) n.string(NODE.input, input);
      // Sorted, so the same graph always gives the same bytes.
      for (const [name, value] of [...node.attrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        n.message(NODE.attr, (entry) => entry.string(1, name).message(2, (v) => writeAttrValue(v, value)));
      }
    });
  }
  w.message(GRAPH.versions, (v) => v.int(VERSIONS.producer, PRODUCER));
  return w.finish();
}
