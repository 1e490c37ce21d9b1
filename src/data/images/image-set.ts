/** Images of one source split, row-major, channels-last (1 channel for MNIST, 3 for CIFAR). */
export interface ImageSet {
  /** Where the images came from, for messages. */
  source: string;
  count: number;
  height: number;
  width: number;
  channels: 1 | 3;
  /** count * height * width * channels bytes. */
  pixels: Uint8Array;
  labels: Int32Array;
}

/** What choosing images needs of a source split: its labels and sizes, not its pixels. */
export type LabelledSet = Omit<ImageSet, 'pixels'>;

/** The bytes of image i. */
export function imageAt(set: ImageSet, i: number): Uint8Array {
  const size = set.height * set.width * set.channels;
  return set.pixels.subarray(i * size, (i + 1) * size);
}
