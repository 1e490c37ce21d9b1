import { convOutputSize } from '../conv-size.js';
import type { GraphAttrValue } from './graph-def.js';

/** An output's dtype, as the binding numbers it ('float' or 'int32'), and its shape. */
export interface KernelOpOutput {
  dtype: 'float' | 'int32';
  shape: number[];
}

type Attrs = ReadonlyMap<string, GraphAttrValue>;

function ints(attrs: Attrs, name: string): number[] {
  const value = attrs.get(name);
  if (value?.kind !== 'ints') throw new Error(`attribute ${name} is not a list of ints`);
  return [...value.value];
}

function int(attrs: Attrs, name: string): number {
  const value = attrs.get(name);
  if (value?.kind !== 'int') throw new Error(`attribute ${name} is not an int`);
  return value.value;
}

function bool(attrs: Attrs, name: string): boolean {
  const value = attrs.get(name);
  if (value?.kind !== 'bool') throw new Error(`attribute ${name} is not a bool`);
  return value.value;
}

const float = (shape: readonly number[]): KernelOpOutput => ({ dtype: 'float', shape: [...shape] });

/**
 * The output shapes of egtea's TensorFlow ops (src/engine/native/tf_ops.cc), which a step
 * recorded without running needs. TensorFlow's C API lets an op's shape function read no
 * attribute but its types, so these ops declare unknown shapes and their shapes live here,
 * beside nothing else: each follows its kernel's own check in tf_ops.cc.
 */
const SHAPES: Record<string, (inputs: readonly (readonly number[])[], attrs: Attrs) => KernelOpOutput[]> = {
  // x [n, t, h, w, c], filter [kt, kh, kw, c / groups, cout]
  EgteaGroupedConv3D: ([x, filter], attrs) => {
    const strides = ints(attrs, 'strides');
    const padding = ints(attrs, 'padding');
    const spatial = [1, 2, 3].map((axis, i) => convOutputSize(x![axis]!, filter![i]!, strides[i]!, padding[i]!));
    return [float([x![0]!, ...spatial, filter![4]!])];
  },
  EgteaGroupedConv3DBackpropInput: (_, attrs) => [float(ints(attrs, 'shape'))],
  EgteaGroupedConv3DBackpropFilter: (_, attrs) => [float(ints(attrs, 'shape'))],
  // x, gamma, beta, residual, running mean, running variance -> y, batch mean, 1 / std
  EgteaBatchNorm: ([x, gamma]) => [float(x!), float(gamma!), float(gamma!)],
  // x, y, dy, gamma, mean, rstd -> dx, dgamma, dbeta, dresidual (empty without a residual)
  EgteaBatchNormGrad: ([x, , , gamma], attrs) => [float(x!), float(gamma!), float(gamma!), float(bool(attrs, 'has_residual') ? x! : [0])],
  EgteaMaxPool3D: ([x], attrs) => {
    const [kernel, stride, padding] = [int(attrs, 'kernel'), int(attrs, 'stride'), int(attrs, 'padding')];
    const shape = [x![0]!, ...[1, 2, 3].map((axis) => convOutputSize(x![axis]!, kernel, stride, padding)), x![4]!];
    return [float(shape), { dtype: 'int32', shape }];
  },
  EgteaMaxPool3DGrad: (_, attrs) => [float(ints(attrs, 'shape'))],
};

/** The outputs of egtea's op `op` on inputs of these shapes, or null when `op` is not egtea's. */
export function kernelOpOutputs(op: string, inputShapes: readonly (readonly number[])[], attrs: Attrs): KernelOpOutput[] | null {
  const shapes = SHAPES[op];
  return shapes === undefined ? null : shapes(inputShapes, attrs);
}
