import sharp from 'sharp';
import { loadKernels } from '../engine/kernels.js';
import type { SeededRandom } from '../util/random.js';

/** ImageNet statistics, the default normalisation (pixels scaled to [0, 1] first). */
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

export interface TransformConfig {
  /** Output frames are size x size. */
  size: number;
  /** Training crop: a square whose side is this fraction of the frame's short side, drawn per clip. [1, 1] is the authors' 480 of 640x480. */
  cropScale: [number, number];
  /** Largest rotation in degrees, either way (0 turns it off). */
  rotation: number;
  flipProbability: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export const DEFAULT_TRANSFORM: TransformConfig = {
  size: 224,
  cropScale: [1, 1],
  rotation: 10,
  flipProbability: 0.5,
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
};

/** One draw of augmentation parameters, applied to every frame of a clip. */
export interface ClipAugmentation {
  crop: { left: number; top: number; width: number; height: number };
  angle: number;
  flip: boolean;
}

/** Draws a clip's augmentation for frames of width x height (training). */
export function drawAugmentation(width: number, height: number, config: TransformConfig, random: SeededRandom): ClipAugmentation {
  const short = Math.min(width, height);
  const side = Math.max(1, Math.min(short, Math.round(short * random.uniform(config.cropScale[0], config.cropScale[1]))));
  return {
    crop: { left: random.int(0, width - side + 1), top: random.int(0, height - side + 1), width: side, height: side },
    angle: config.rotation > 0 ? random.uniform(-config.rotation, config.rotation) : 0,
    flip: random.bernoulli(config.flipProbability),
  };
}

/** Evaluation: the centred square of the short side, no rotation, no flip. */
export function centreAugmentation(width: number, height: number): ClipAugmentation {
  const side = Math.min(width, height);
  return { crop: { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side }, angle: 0, flip: false };
}

/**
 * Crop, resize, rotate (keeping the size; corners filled black, as torchvision's RandomRotation)
 * and flip one JPEG frame; returns RGB bytes of size x size.
 */
export async function transformFrame(jpeg: string | Buffer, augmentation: ClipAugmentation, size: number): Promise<Buffer> {
  let image = sharp(jpeg).removeAlpha().extract(augmentation.crop).resize(size, size, { fit: 'fill' });
  if (augmentation.flip) image = image.flop();
  if (augmentation.angle === 0) return image.raw().toBuffer();
  // sharp's rotation enlarges the canvas; a second pass keeps its centre.
  const rotated = await image.rotate(augmentation.angle, { background: { r: 0, g: 0, b: 0 } }).raw().toBuffer({ resolveWithObject: true });
  const { width, height } = rotated.info;
  return sharp(rotated.data, { raw: { width, height, channels: 3 } })
    .extract({ left: Math.floor((width - size) / 2), top: Math.floor((height - size) / 2), width: size, height: size })
    .raw()
    .toBuffer();
}

/** Writes RGB bytes into `out` at `offset` as normalised float32, channels-last. */
export function normalizeInto(rgb: Buffer, out: Float32Array, offset: number, mean: readonly number[], std: readonly number[]): void {
  const scale = [1 / (255 * std[0]!), 1 / (255 * std[1]!), 1 / (255 * std[2]!)];
  const shift = [mean[0]! / std[0]!, mean[1]! / std[1]!, mean[2]! / std[2]!];
  for (let i = 0; i < rgb.length; i += 3) {
    out[offset + i] = rgb[i]! * scale[0]! - shift[0]!;
    out[offset + i + 1] = rgb[i + 1]! * scale[1]! - shift[1]!;
    out[offset + i + 2] = rgb[i + 2]! * scale[2]! - shift[2]!;
  }
}

/**
 * The map from an output pixel q to its source point, C + (1/s) F R(-angle) (q - c), with C the
 * crop centre, s the scale, F the flip and c the output centre; in source pixels times `shrink`
 * (the frame may have been decoded smaller). Packed with mean and std as the kernels take it.
 */
export function warpParams(augmentation: ClipAugmentation, config: TransformConfig, shrink = 1): Float64Array {
  const { left, top, width: side } = augmentation.crop;
  const size = config.size;
  const s = size / (side * shrink);
  const theta = (augmentation.angle * Math.PI) / 180;
  const f = augmentation.flip ? -1 : 1;
  const m00 = (f * Math.cos(theta)) / s;
  const m01 = (f * Math.sin(theta)) / s;
  const m10 = -Math.sin(theta) / s;
  const m11 = Math.cos(theta) / s;
  const cx = (left + side / 2) * shrink;
  const cy = (top + side / 2) * shrink;
  const half = size / 2;
  return Float64Array.of(m00, m01, m10, m11, cx - (m00 * half + m01 * half), cy - (m10 * half + m11 * half), ...config.mean, ...config.std);
}

/**
 * One frame into `out` at `offset` as normalised float32 [size, size, 3]. With egtea's kernels:
 * sharp decodes (shrinking first when the crop is much larger than the output, so nothing
 * aliases), and one native pass warps and normalises. Without them: sharp does it all.
 */
export async function loadFrameInto(
  jpeg: string,
  frameSize: { width: number; height: number },
  augmentation: ClipAugmentation,
  config: TransformConfig,
  out: Float32Array,
  offset: number,
): Promise<void> {
  const kernels = loadKernels();
  if (kernels === null) {
    normalizeInto(await transformFrame(jpeg, augmentation, config.size), out, offset, config.mean, config.std);
    return;
  }
  let shrink = 1;
  let image = sharp(jpeg).removeAlpha();
  if (config.size / augmentation.crop.width < 0.8) {
    const width = Math.max(1, Math.round((frameSize.width * config.size) / augmentation.crop.width));
    image = image.resize(width, null);
    shrink = width / frameSize.width;
  }
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${jpeg}: expected an RGB frame, got ${info.channels} channels`);
  kernels.warpNormalize(data, Int32Array.of(info.width, info.height, config.size, offset), warpParams(augmentation, config, shrink), out);
}

/**
 * libjpeg can decode at 1/2, 1/4 or 1/8 size (averaging in the DCT, so nothing aliases): the
 * smallest of these at which the crop still has at least `size` pixels.
 */
export function jpegDecodeDenominator(cropWidth: number, size: number): 1 | 2 | 4 | 8 {
  let denominator: 1 | 2 | 4 | 8 = 1;
  while (denominator < 8 && cropWidth / (denominator * 2) >= size) denominator = (denominator * 2) as 2 | 4 | 8;
  return denominator;
}

/**
 * A clip's frames into `out` at `offset`: egtea's native JPEG clip loader when it was built
 * (decode, warp and normalise off the JavaScript thread), frame by frame otherwise.
 */
export async function loadClipFramesInto(
  files: string[],
  frameSize: { width: number; height: number },
  augmentation: ClipAugmentation,
  config: TransformConfig,
  out: Float32Array,
  offset: number,
): Promise<void> {
  const kernels = loadKernels();
  if (kernels?.loadJpegClip) {
    const denominator = jpegDecodeDenominator(augmentation.crop.width, config.size);
    await kernels.loadJpegClip(files, warpParams(augmentation, config), Int32Array.of(config.size, denominator, offset), out);
    return;
  }
  const frameValues = config.size * config.size * 3;
  await Promise.all(files.map((file, t) => loadFrameInto(file, frameSize, augmentation, config, out, offset + t * frameValues)));
}
