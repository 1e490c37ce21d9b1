import fs from 'node:fs/promises';
import path from 'node:path';
import { FRAME_FILE_PATTERN, frameNumber } from '../data/frame-layout.js';
import { ffmpegCommand, ffmpegReason } from './ffmpeg-binaries.js';

export interface FrameExtractionOptions {
  /** Height of the frames when the video is landscape, width when portrait (default 256). */
  shortSide: number;
  /** ffmpeg's JPEG quality scale -q:v: 2 (best) to 31 (worst). */
  quality: number;
  /** Frames per second to keep; null keeps the video's own rate. */
  fps: number | null;
}

export const DEFAULT_FRAME_OPTIONS: FrameExtractionOptions = { shortSide: 256, quality: 2, fps: null };

/** ffmpeg's arguments for decoding a video into frames 1, 2, ... (named as frame-layout.ts says). */
export function frameOutputOptions(options: FrameExtractionOptions): string[] {
  const s = options.shortSide;
  // Scale the short side to s, the long side in proportion (rounded to even).
  const filters = [`scale='if(gt(iw,ih),-2,${s})':'if(gt(iw,ih),${s},-2)'`];
  if (options.fps !== null) filters.unshift(`fps=${options.fps}`);
  return ['-vf', filters.join(','), '-q:v', String(options.quality), '-start_number', '1', '-threads', '1'];
}

/** Decodes a video into JPEG frames in `dir`; rejects with ffmpeg's reason. Returns the frame count. */
export async function extractFrames(video: string, dir: string, options: FrameExtractionOptions): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    ffmpegCommand()
      .input(video)
      .inputOptions(['-nostdin', '-threads', '1'])
      .outputOptions(frameOutputOptions(options))
      .output(path.join(dir, FRAME_FILE_PATTERN))
      .on('stderr', (line: string) => {
        stderr += `${line}\n`;
      })
      .on('error', (error: Error) => reject(new Error(ffmpegReason(stderr, error.message))))
      .on('end', () => resolve())
      .run();
  });
  const frames = (await fs.readdir(dir)).filter((f) => frameNumber(f) !== null).length;
  if (frames === 0) throw new Error('ffmpeg decoded no frames');
  return frames;
}
