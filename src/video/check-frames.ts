import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { frameFile, frameNumber } from '../data/frame-layout.js';
import { incompleteJpeg } from './jpeg-size.js';

export type FrameCheck = { frames: number; problem: null } | { frames: number; problem: string };

/**
 * Whether a clip folder holds frames 1..N, each a whole JPEG; a problem names the frame file. ffmpeg exits 0 on a full disk
 * and leaves empty or cut frames, so the count alone proves nothing.
 */
export async function checkClipFrames(dir: string): Promise<FrameCheck> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return { frames: 0, problem: 'the folder is missing' };
  }
  const numbers = names.map(frameNumber).filter((n): n is number => n !== null);
  const frames = numbers.length;
  if (frames === 0) return { frames, problem: 'no frames' };
  const present = new Set(numbers);
  for (let n = 1; n <= frames; n++) if (!present.has(n)) return { frames, problem: `${path.basename(frameFile(dir, n - 1))} is missing` };
  const limit = pLimit(16);
  const problems = await Promise.all(
    numbers.map((n) =>
      limit(async () => {
        const file = frameFile(dir, n - 1);
        const problem = await incompleteJpeg(file);
        return problem === null ? null : `${path.basename(file)}: ${problem}`;
      }),
    ),
  );
  const problem = problems.find((p) => p !== null);
  return problem ? { frames, problem } : { frames, problem: null };
}
