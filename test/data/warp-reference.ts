import path from 'node:path';
import sharp from 'sharp';
import type { ClipAugmentation, TransformConfig } from '../../src/data/transforms.js';
import { temporaryFolder } from '../helpers.js';

/**
 * An independent statement of what a frame transform means, written from the geometry (crop a
 * square, scale it to size x size, mirror, turn about the centre: positive angles clockwise, as
 * sharp turns) rather than from the matrix that transforms.ts builds; bilinear, black beyond
 * the frame. It reads a decoded frame, so it checks geometry and normalisation, not decoding.
 */
export interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

export function referenceFrame(frame: Rgb, augmentation: ClipAugmentation, config: Pick<TransformConfig, 'size' | 'mean' | 'std'>, shrink = 1): Float32Array {
  const { size, mean, std } = config;
  const { left, top, width: side } = augmentation.crop;
  const perPixel = side / size;
  const theta = (augmentation.angle * Math.PI) / 180;
  const [cos, sin] = [Math.cos(theta), Math.sin(theta)];
  const out = new Float32Array(size * size * 3);
  const tap = (x: number, y: number, c: number) => (x >= 0 && y >= 0 && x < frame.width && y < frame.height ? frame.data[(y * frame.width + x) * 3 + c]! : 0);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      // Undo the turn: the output point came from the unturned image at the centre plus R(-angle) of its offset.
      const dx = u + 0.5 - size / 2;
      const dy = v + 0.5 - size / 2;
      let x = size / 2 + cos * dx + sin * dy;
      const y = size / 2 - sin * dx + cos * dy;
      if (augmentation.flip) x = size - x;
      // Output pixels to frame pixels, then to the (possibly smaller) decoded frame; centres at +0.5.
      const sx = (left + x * perPixel) / shrink - 0.5;
      const sy = (top + y * perPixel) / shrink - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const value =
          tap(x0, y0, c) * (1 - fx) * (1 - fy) + tap(x0 + 1, y0, c) * fx * (1 - fy) + tap(x0, y0 + 1, c) * (1 - fx) * fy + tap(x0 + 1, y0 + 1, c) * fx * fy;
        out[(v * size + u) * 3 + c] = (value / 255 - mean[c]!) / std[c]!;
      }
    }
  }
  return out;
}

/** The frame averaged over factor x factor blocks: what a 1/factor DCT-domain decode approximates. */
export function boxShrink(frame: Rgb, factor: number): Rgb {
  const width = Math.ceil(frame.width / factor);
  const height = Math.ceil(frame.height / factor);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        let count = 0;
        for (let j = y * factor; j < Math.min(frame.height, (y + 1) * factor); j++) {
          for (let i = x * factor; i < Math.min(frame.width, (x + 1) * factor); i++) {
            sum += frame.data[(j * frame.width + i) * 3 + c]!;
            count += 1;
          }
        }
        data[(y * width + x) * 3 + c] = Math.round(sum / count);
      }
    }
  }
  return { data, width, height };
}

export async function decodeRgb(file: string): Promise<Rgb> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** A frame with structure: a horizontal ramp in red, a vertical one in green, a bright square in blue. */
export async function testFrame(width: number, height: number): Promise<string> {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      const square = x > width * 0.6 && x < width * 0.8 && y > height * 0.2 && y < height * 0.4;
      rgb[at] = Math.round((255 * x) / width);
      rgb[at + 1] = Math.round((255 * y) / height);
      rgb[at + 2] = square ? 250 : 40;
    }
  }
  const file = path.join(temporaryFolder('egtea-frame-'), 'img_00001.jpg');
  await sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toFile(file);
  return file;
}

/** A frame of one colour (exact after JPEG coding). */
export async function solidFrame(width: number, height: number, grey: number): Promise<string> {
  const file = path.join(temporaryFolder('egtea-frame-'), 'img_00001.jpg');
  await sharp({ create: { width, height, channels: 3, background: { r: grey, g: grey, b: grey } } })
    .jpeg({ quality: 95 })
    .toFile(file);
  return file;
}

export function meanAbs(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

export function maxAbs(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
