import type { GraphAttrValue } from './graph-def.js';

/** The part of a tensorflow.OpDef that says which attributes an op's inputs determine. */
interface ArgDef {
  name: string;
  typeAttr: string;
  numberAttr: string;
  typeListAttr: string;
}

export interface OpDefSummary {
  name: string;
  inputs: ArgDef[];
}

// Field numbers from tensorflow/core/framework/op_def.proto.
const OP = { name: 1, inputArg: 2 } as const;
const ARG = { name: 1, typeAttr: 4, numberAttr: 5, typeListAttr: 6 } as const;

/** Reads (field, wire type, value) triples; enough protobuf for an OpDef. */
function* fields(bytes: Uint8Array): Generator<[number, number, number | Uint8Array]> {
  let offset = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[offset++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (offset < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) yield [field, wire, varint()];
    else if (wire === 2) {
      const length = varint();
      yield [field, wire, bytes.subarray(offset, offset + length)];
      offset += length;
    } else if (wire === 5) offset += 4;
    else if (wire === 1) offset += 8;
    else throw new Error(`OpDef: unexpected wire type ${wire}`);
  }
}

const text = (value: number | Uint8Array): string => new TextDecoder().decode(value as Uint8Array);

export function decodeOpDef(bytes: Uint8Array): OpDefSummary {
  const summary: OpDefSummary = { name: '', inputs: [] };
  for (const [field, , value] of fields(bytes)) {
    if (field === OP.name) summary.name = text(value);
    if (field === OP.inputArg) {
      const arg: ArgDef = { name: '', typeAttr: '', numberAttr: '', typeListAttr: '' };
      for (const [f, , v] of fields(value as Uint8Array)) {
        if (f === ARG.name) arg.name = text(v);
        else if (f === ARG.typeAttr) arg.typeAttr = text(v);
        else if (f === ARG.numberAttr) arg.numberAttr = text(v);
        else if (f === ARG.typeListAttr) arg.typeListAttr = text(v);
      }
      summary.inputs.push(arg);
    }
  }
  return summary;
}

/** How many inputs an argument takes: 1, or a list's length as its attributes state it (null when they do not). */
function argLength(arg: ArgDef, attrs: ReadonlyMap<string, GraphAttrValue>): number | null {
  if (arg.numberAttr) {
    const n = attrs.get(arg.numberAttr);
    return n?.kind === 'int' ? n.value : null;
  }
  if (arg.typeListAttr) {
    const types = attrs.get(arg.typeListAttr);
    return types?.kind === 'types' ? types.value.length : null;
  }
  return 1;
}

/**
 * A node's flat inputs grouped by argument, a list argument as an array (as TensorFlow's C API
 * adds them), once inferInputAttrs has stated every list's length.
 */
export function groupInputsByArgument<T>(op: OpDefSummary, attrs: ReadonlyMap<string, GraphAttrValue>, inputs: readonly T[]): (T | T[])[] {
  let next = 0;
  const groups = op.inputs.map((arg): T | T[] => {
    const length = argLength(arg, attrs);
    if (length === null) throw new Error(`${op.name}: the length of input list ${arg.name} is not stated`);
    // argLength is 1 for a single tensor, which is given as itself, not as a list.
    next += length;
    return arg.numberAttr || arg.typeListAttr ? inputs.slice(next - length, next) : inputs[next - 1]!;
  });
  if (next !== inputs.length) throw new Error(`${op.name}: ${inputs.length} inputs for ${next} argument slots`);
  return groups;
}

/**
 * Adds the attributes eager execution infers from an op's inputs (a type attribute such as
 * ExpandDims' T, a list length N, a list of types) and a graph node must state. Arguments are
 * matched to inputs in order; a list argument of unknown length takes whatever the fixed-size
 * arguments leave, which is unambiguous as long as the op has at most one such list.
 */
export function inferInputAttrs(op: OpDefSummary, attrs: Map<string, GraphAttrValue>, inputDtypes: readonly number[]): void {
  const known = op.inputs.map((arg) => argLength(arg, attrs));
  const unknown = known.filter((n) => n === null).length;
  if (unknown > 1) throw new Error(`${op.name}: more than one input list of unstated length`);
  const rest = inputDtypes.length - known.reduce<number>((sum, n) => sum + (n ?? 0), 0);
  let next = 0;
  for (const [i, arg] of op.inputs.entries()) {
    const count = known[i] ?? rest;
    const dtypes = inputDtypes.slice(next, next + count);
    next += count;
    if (arg.numberAttr && !attrs.has(arg.numberAttr)) attrs.set(arg.numberAttr, { kind: 'int', value: count });
    if (arg.typeListAttr && !attrs.has(arg.typeListAttr)) attrs.set(arg.typeListAttr, { kind: 'types', value: dtypes });
    if (arg.typeAttr && !attrs.has(arg.typeAttr) && dtypes.length > 0) attrs.set(arg.typeAttr, { kind: 'type', value: dtypes[0]! });
  }
  if (next !== inputDtypes.length) throw new Error(`${op.name}: ${inputDtypes.length} inputs for ${next} argument slots`);
}
