import * as tf from '@tensorflow/tfjs-core';
import type { ParameterEntry } from '../models/parameters.js';

export interface SgdOptions {
  learningRate: number;
  momentum: number;
  /** L2 penalty added to each gradient, as PyTorch's weight_decay (the paper: 5e-4). */
  weightDecay: number;
}

/**
 * SGD with momentum exactly as torch.optim.SGD (dampening 0, not Nesterov):
 *   g <- g + wd * p;  buf <- momentum * buf + g (buf = g on the first step);  p <- p - lr * buf.
 * Buffers are keyed by parameter name (PyTorch's), so checkpoints can save and restore them.
 */
export class Sgd {
  private readonly buffers = new Map<string, tf.Variable>();
  // Kept scalars: a JS number in an op would upload a new tensor every time.
  private readonly momentumScalar: tf.Scalar;
  private readonly decayScalar: tf.Scalar;
  private rateScalar: tf.Scalar;
  private rate: number;

  constructor(
    private readonly parameters: readonly ParameterEntry[],
    readonly options: SgdOptions,
  ) {
    this.rate = options.learningRate;
    this.momentumScalar = tf.keep(tf.scalar(options.momentum));
    this.decayScalar = tf.keep(tf.scalar(options.weightDecay));
    this.rateScalar = tf.keep(tf.scalar(options.learningRate));
  }

  get learningRate(): number {
    return this.rate;
  }

  set learningRate(value: number) {
    if (value === this.rate) return;
    this.rate = value;
    this.rateScalar.dispose();
    this.rateScalar = tf.keep(tf.scalar(value));
  }

  /** Applies one update from gradients keyed by tfjs variable name (as tf.variableGrads gives them). */
  applyGradients(grads: tf.NamedTensorMap): void {
    const { momentum, weightDecay } = this.options;
    tf.tidy(() => {
      for (const { name, variable } of this.parameters) {
        const grad = grads[variable.name];
        if (grad === undefined) continue;
        const decayed = weightDecay > 0 ? tf.add(grad, tf.mul(variable, this.decayScalar)) : grad;
        let direction: tf.Tensor = decayed;
        if (momentum > 0) {
          const buffer = this.buffers.get(name);
          if (buffer === undefined) {
            this.buffers.set(name, tf.variable(decayed, false));
          } else {
            buffer.assign(tf.add(tf.mul(buffer, this.momentumScalar), decayed));
            direction = buffer;
          }
        }
        variable.assign(tf.sub(variable, tf.mul(direction, this.rateScalar)));
      }
    });
  }

  /** The tensors a step reads besides the parameters: buffers, then momentum, decay and rate. */
  graphInputs(): tf.Tensor[] {
    return [...this.buffers.values(), this.momentumScalar, this.decayScalar, this.rateScalar];
  }

  /** The momentum buffers by parameter name, for checkpoints. */
  state(): Map<string, tf.Tensor> {
    return new Map(this.buffers);
  }

  /** Restores saved buffers; each must name a parameter and match its shape. */
  restore(buffers: Map<string, tf.Tensor>, source: string): void {
    const byName = new Map(this.parameters.map((p) => [p.name, p.variable]));
    for (const [name, value] of buffers) {
      const variable = byName.get(name);
      if (variable === undefined) throw new Error(`${source}: momentum for '${name}', which the model does not have`);
      if (!tf.util.arraysEqual(variable.shape, value.shape))
        throw new Error(`${source}: momentum for '${name}' has shape [${value.shape}], the parameter [${variable.shape}]`);
    }
    this.disposeBuffers();
    for (const [name, value] of buffers) this.buffers.set(name, tf.variable(value, false));
  }

  private disposeBuffers(): void {
    for (const buffer of this.buffers.values()) buffer.dispose();
    this.buffers.clear();
  }

  dispose(): void {
    this.disposeBuffers();
    tf.dispose([this.momentumScalar, this.decayScalar, this.rateScalar]);
  }
}
