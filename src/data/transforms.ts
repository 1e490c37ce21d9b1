import sharp from 'sharp';
import { loadKernels } from '../engine/kernels.js';
import type { SeededRandom } from '../util/random.js';
import type { FrameCache } from './frame-cache.js';

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
 * The native warp's arithmetic (src/engine/native/warp.cc) in JavaScript, for when egtea's
 * kernels are not built: output pixel centre q reads source point A q + t bilinearly (taps beyond
 * the frame are black), then (x / 255 - mean) / std, into `out` at `offset`.
 */
function warpNormalizeInto(rgb: Uint8Array, width: number, height: number, size: number, params: Float64Array, out: Float32Array, offset: number): void {
  const [m00, m01, m10, m11, tx, ty] = [params[0]!, params[1]!, params[2]!, params[3]!, params[4]!, params[5]!];
  const scale = [0, 1, 2].map((c) => 1 / (255 * params[9 + c]!));
  const shift = [0, 1, 2].map((c) => params[6 + c]! / params[9 + c]!);
  const tap = (x: number, y: number, c: number) => (x >= 0 && y >= 0 && x < width && y < height ? rgb[(y * width + x) * 3 + c]! : 0);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const sx = m00 * (u + 0.5) + m01 * (v + 0.5) + tx - 0.5;
      const sy = m10 * (u + 0.5) + m11 * (v + 0.5) + ty - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const at = offset + (v * size + u) * 3;
      for (let c = 0; c < 3; c++) {
        const value =
          tap(x0, y0, c) * (1 - fx) * (1 - fy) + tap(x0 + 1, y0, c) * fx * (1 - fy) + tap(x0, y0 + 1, c) * (1 - fx) * fy + tap(x0 + 1, y0 + 1, c) * fx * fy;
        out[at + c] = value * scale[c]! - shift[c]!;
      }
    }
  }
}

/**
 * The map from an output pixel q to its source point, C + (1/s) F R(-angle) (q - c), with C the
 * crop centre, s the scale, F the flip and c the output centre; in source pixels times `shrink`
 * (the frame may have been decoded smaller). Packed with mean and std as the kernels take it.
 */
function warpParams(augmentation: ClipAugmentation, config: TransformConfig, shrink = 1): Float64Array {
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
 * One frame into `out` at `offset` as normalised float32 [size, size, 3]: sharp decodes
 * (shrinking first when the crop is much larger than the output, so nothing aliases), and one
 * pass warps and normalises (egtea's kernel, or the same arithmetic in JavaScript without it).
 */
export async function loadFrameInto(
  jpeg: string,
  frameSize: { width: number; height: number },
  augmentation: ClipAugmentation,
  config: TransformConfig,
  out: Float32Array,
  offset: number,
): Promise<void> {
  let shrink = 1;
  let image = sharp(jpeg).removeAlpha();
  if (config.size / augmentation.crop.width < 0.8) {
    const width = Math.max(1, Math.round((frameSize.width * config.size) / augmentation.crop.width));
    image = image.resize(width, null);
    shrink = width / frameSize.width;
  }
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${jpeg}: expected an RGB frame, got ${info.channels} channels`);
  const params = warpParams(augmentation, config, shrink);
  const kernels = loadKernels();
  if (kernels) kernels.warpNormalize(data, Int32Array.of(info.width, info.height, config.size, offset), params, out);
  else warpNormalizeInto(data, info.width, info.height, config.size, params, out, offset);
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

/** One clip to load: its frames' files (all of one full size), its augmentation, and where it goes in the output. */
export interface ClipLoad {
  files: string[];
  frameSize: { width: number; height: number };
  augmentation: ClipAugmentation;
  /** Into the output, in floats. */
  offset: number;
}

/**
 * Clips' frames into `out`, each at its offset: with egtea's native JPEG loader, all of them in
 * one job off the JavaScript thread (decode, warp, normalise), taking frames from `cache` where it
 * has them and keeping what it decodes there while it has room; frame by frame through sharp
 * otherwise (no cache). The clips must have equally many frames.
 */
export async function loadClipsInto(clips: readonly ClipLoad[], config: TransformConfig, out: Float32Array, cache?: FrameCache): Promise<void> {
  if (clips.length === 0) return;
  const frames = clips[0]!.files.length;
  if (clips.some((clip) => clip.files.length !== frames))
    throw new Error(`loadClipsInto: clips of ${[...new Set(clips.map((c) => c.files.length))].join(' and ')} frames in one call`);
  if (clips.some((clip) => clip.offset + frames * config.size * config.size * 3 > 2 ** 31 - 1))
    throw new Error('loadClipsInto: a batch beyond 2^31 floats (8 GiB); use smaller batches');
  const kernels = loadKernels();
  if (kernels?.loadJpegClips) {
    const params = new Float64Array(12 * clips.length);
    const header = new Int32Array(4 + 2 * clips.length + 2 * clips.length * frames);
    const sources: (string | Uint8Array)[] = [];
    let keep = false;
    header.set([config.size, frames, clips.length]);
    clips.forEach((clip, c) => {
      params.set(warpParams(clip.augmentation, config), 12 * c);
      const denominator = jpegDecodeDenominator(clip.augmentation.crop.width, config.size);
      header[4 + 2 * c] = denominator;
      header[5 + 2 * c] = clip.offset;
      for (const file of clip.files) {
        // Only full-size decodes are kept, so a frame the clip decodes smaller is read from its file.
        const cached = cache && denominator === 1 ? cache.get(file) : undefined;
        const at = 4 + 2 * clips.length + 2 * sources.length;
        if (cached) {
          header[at] = cached.width;
          header[at + 1] = cached.height;
          sources.push(cached.pixels);
        } else {
          keep ||= cache !== undefined && denominator === 1 && cache.hasRoomFor(clip.frameSize.width * clip.frameSize.height * 3);
          sources.push(file);
        }
      }
    });
    header[3] = keep ? 1 : 0;
    const decoded = await kernels.loadJpegClips(sources, params, header, out);
    decoded?.forEach((frame, i) => {
      const source = sources[i]!;
      if (frame && typeof source === 'string') cache!.add(source, frame);
    });
    return;
  }
  const frameValues = config.size * config.size * 3;
  const load = (clip: ClipLoad, file: string, t: number) =>
    loadFrameInto(file, clip.frameSize, clip.augmentation, config, out, clip.offset + t * frameValues).catch((error: unknown) => {
      // sharp does not always say which file it could not read; the native loader does.
      const message = (error as Error).message;
      throw message.includes(file) ? error : new Error(`${file}: ${message}`, { cause: error });
    });
  await Promise.all(clips.flatMap((clip) => clip.files.map((file, t) => load(clip, file, t))));
}

/** One clip's frames into `out` at `offset` (loadClipsInto with one clip). */
export function loadClipFramesInto(
  files: string[],
  frameSize: { width: number; height: number },
  augmentation: ClipAugmentation,
  config: TransformConfig,
  out: Float32Array,
  offset: number,
): Promise<void> {
  return loadClipsInto([{ files, frameSize, augmentation, offset }], config, out);
}
