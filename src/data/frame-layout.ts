import path from 'node:path';
import type { ClipAnnotation } from './annotations.js';

/**
 * The one home of the on-disk layout of a dataset (as mmaction2's `filename_tmpl`):
 *
 *   <videos>/<session>/<clip>.mp4           the input of `egtea prepare`
 *   <frames>/<session>/<clip>/img_00001.jpg  one JPEG per frame, numbered from 1
 *   <frames>/manifest.jsonl                  which clips are finished (see manifest.ts)
 *
 * Image datasets use the same layout with one frame per clip.
 */

/** The frame file name as ffmpeg's image2 pattern. */
export const FRAME_FILE_PATTERN = 'img_%05d.jpg';

const FRAME_FILE_NAME = /^img_(\d{5})\.jpg$/;

export const MANIFEST_FILE = 'manifest.jsonl';

type ClipPlace = Pick<ClipAnnotation, 'session' | 'clip'>;

/** The file of frame `index` (0-based) in a clip's folder. */
export function frameFile(dir: string, index: number): string {
  return path.join(dir, `img_${String(index + 1).padStart(5, '0')}.jpg`);
}

/** The 1-based number of a frame file name, or null for any other file. */
export function frameNumber(fileName: string): number | null {
  const match = FRAME_FILE_NAME.exec(fileName);
  return match ? Number(match[1]) : null;
}

export function clipFrameDir(frames: string, clip: ClipPlace): string {
  return path.join(frames, clip.session, clip.clip);
}

export function clipVideoPath(videos: string, clip: ClipPlace): string {
  return path.join(videos, clip.session, `${clip.clip}.mp4`);
}
