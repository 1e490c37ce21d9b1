/** A frame decoded at full size: RGB bytes, row by row. */
export interface DecodedFrame {
  pixels: Uint8Array;
  width: number;
  height: number;
}

/**
 * Decoded frames kept in memory up to a byte budget, so that small images (MNIST, CIFAR) are
 * decoded once per run instead of once per epoch; each epoch still draws and applies its own
 * augmentation to them. Frames beyond the budget are decoded from their files every time.
 */
export class FrameCache {
  private readonly frames = new Map<string, DecodedFrame>();
  private bytes = 0;

  constructor(readonly budgetBytes: number) {}

  get(file: string): DecodedFrame | undefined {
    return this.frames.get(file);
  }

  /** Whether another frame of this many bytes would still fit. */
  hasRoomFor(bytes: number): boolean {
    return this.bytes + bytes <= this.budgetBytes;
  }

  /** Keeps the frame if it fits; the first frames decoded are the ones kept. */
  add(file: string, frame: DecodedFrame): void {
    if (this.frames.has(file) || !this.hasRoomFor(frame.pixels.byteLength)) return;
    this.frames.set(file, frame);
    this.bytes += frame.pixels.byteLength;
  }

  get size(): number {
    return this.frames.size;
  }
}
