import { stringAttr, type NativeBackend, type OpAttr } from '../native-backend.js';

/**
 * The attributes Python's tf.function gives a function call: with `config_proto` present the
 * function runs through Grappler (oneDNN's fusions among its passes), without it it does not.
 */
export function functionCallAttrs(backend: NativeBackend): OpAttr[] {
  return [stringAttr(backend, 'config_proto', ''), stringAttr(backend, 'executor_type', '')];
}
