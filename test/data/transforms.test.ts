import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { kernelsAvailable, setKernelsEnabled } from '../../src/engine/kernels.js';
import { centreAugmentation, DEFAULT_TRANSFORM, drawAugmentation, loadClipFramesInto, loadFrameInto, type ClipAugmentation } from '../../src/data/transforms.js';
import { SeededRandom } from '../../src/util/random.js';

// A frame with structure: a horizontal ramp in red, vertical in green, a bright square.
async function testFrame(width: number, height: number): Promise<string> {
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
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-frame-')), 'img_00001.jpg');
  await sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toFile(file);
  return file;
}

const config = { ...DEFAULT_TRANSFORM, size: 64 };
const values = 64 * 64 * 3;

async function viaSharpOnly(file: string, augmentation: ClipAugmentation): Promise<Float32Array> {
  setKernelsEnabled(false);
  const out = new Float32Array(values);
  await loadFrameInto(file, { width: 120, height: 90 }, augmentation, config, out, 0);
  setKernelsEnabled(true);
  return out;
}

function meanAbsoluteDifference(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('clip augmentation', () => {
  afterEach(() => setKernelsEnabled(true));

  it('draws crops inside the frame, angles within the limit, flips about half the time', () => {
    const random = new SeededRandom(3);
    let flips = 0;
    for (let i = 0; i < 400; i++) {
      const a = drawAugmentation(341, 256, { ...DEFAULT_TRANSFORM, cropScale: [0.6, 1] }, random);
      expect(a.crop.left + a.crop.width).toBeLessThanOrEqual(341);
      expect(a.crop.top + a.crop.height).toBeLessThanOrEqual(256);
      expect(a.crop.width).toBeGreaterThanOrEqual(Math.round(256 * 0.6));
      expect(Math.abs(a.angle)).toBeLessThanOrEqual(10);
      flips += a.flip ? 1 : 0;
    }
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
  });

  it('evaluates on the centred square, unrotated, unflipped', () => {
    expect(centreAugmentation(341, 256)).toEqual({ crop: { left: 42, top: 0, width: 256, height: 256 }, angle: 0, flip: false });
  });

  it('normalises with ImageNet statistics: a black pixel becomes -mean/std', async () => {
    const file = await testFrame(120, 90);
    const out = await viaSharpOnly(file, { crop: { left: 0, top: 0, width: 90, height: 90 }, angle: 9, flip: false });
    // The rotation leaves the corner black.
    expect(out[0]).toBeCloseTo(-0.485 / 0.229, 2);
    expect(out[2]).toBeCloseTo(-0.406 / 0.225, 2);
  });

  it.skipIf(!kernelsAvailable())("egtea's native warp agrees with sharp's crop, resize, rotation and flip", async () => {
    const file = await testFrame(120, 90);
    for (const augmentation of [
      { crop: { left: 15, top: 0, width: 90, height: 90 }, angle: 0, flip: false },
      { crop: { left: 30, top: 10, width: 70, height: 70 }, angle: 0, flip: true },
      { crop: { left: 0, top: 0, width: 90, height: 90 }, angle: -8, flip: true },
    ]) {
      const reference = await viaSharpOnly(file, augmentation);
      const native = new Float32Array(values);
      await loadFrameInto(file, { width: 120, height: 90 }, augmentation, config, native, 0);
      // Normalised units (about 4.4 per 255 grey levels): within a few grey levels on average.
      expect(meanAbsoluteDifference(native, reference)).toBeLessThan(0.12);
      const clip = new Float32Array(2 * values);
      await loadClipFramesInto([file, file], { width: 120, height: 90 }, augmentation, config, clip, 0);
      expect(meanAbsoluteDifference(clip.subarray(values), reference)).toBeLessThan(0.12);
    }
  });

  it('names the file when a frame cannot be read', async () => {
    const augmentation = centreAugmentation(120, 90);
    const out = new Float32Array(values);
    await expect(loadClipFramesInto(['/nonexistent/img_00001.jpg'], { width: 120, height: 90 }, augmentation, config, out, 0)).rejects.toThrow(/\/nonexistent\/img_00001\.jpg/);
    const notJpeg = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-frame-')), 'img_00001.jpg');
    fs.writeFileSync(notJpeg, 'not a jpeg');
    await expect(loadClipFramesInto([notJpeg], { width: 120, height: 90 }, augmentation, config, out, 0)).rejects.toThrow(new RegExp(notJpeg.replace(/[.]/g, '\\.')));
  });
});
