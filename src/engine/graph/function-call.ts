import { stringAttr, type NativeBackend, type OpAttr } from '../native-backend.js';
import { encodeGraphDef, type GraphNode } from './graph-def.js';

/**
 * The attributes Python's tf.function gives a function call: with `config_proto` present the
 * function runs through Grappler (oneDNN's fusions among its passes), without it it does not.
 */
export function functionCallAttrs(backend: NativeBackend): OpAttr[] {
  return [stringAttr(backend, 'config_proto', ''), stringAttr(backend, 'executor_type', '')];
}

/** Functions this process registered, for unique names. */
let functionsAdded = 0;

/** Registers `nodes` as a function fed by the nodes `inputNames` and giving `outputNames`; returns its name (`prefix`, the process and a count). */
export function addGraphFunction(
  binding: NativeBackend['binding'],
  prefix: string,
  nodes: readonly GraphNode[],
  inputNames: readonly string[],
  outputNames: readonly string[],
): string {
  const name = `${prefix}_${process.pid}_${functionsAdded++}`;
  binding.addFunction!(encodeGraphDef(nodes), name, inputNames.map((n) => `${n}:0`).join(','), outputNames.join(','));
  return name;
}
