/** Three sizes of a 3D op, one per axis: time, height, width. */
export type Triple = [number, number, number];

/** Output length of one axis of a convolution or pooling, as PyTorch computes it. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}
