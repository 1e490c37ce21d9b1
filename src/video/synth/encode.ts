import { Readable } from 'node:stream';
import { ffmpegCommand, ffmpegReason } from '../ffmpeg-binaries.js';
import type { FrameSize } from './render.js';

/** Encodes RGB24 frames as H.264 (yuv420p, one thread: the same bytes for the same frames). */
export function encodeH264(frames: Iterable<Buffer>, size: FrameSize, fps: number, output: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    ffmpegCommand()
      .input(Readable.from(frames))
      .inputFormat('rawvideo')
      .inputOptions(['-pix_fmt', 'rgb24', '-s', `${size.width}x${size.height}`, '-r', String(fps)])
      .outputOptions([
        '-an',
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-crf',
        '23',
        '-pix_fmt',
        'yuv420p',
        '-threads',
        '1',
        '-movflags',
        '+faststart',
        '-f',
        'mp4',
      ])
      .output(output)
      .on('stderr', (line: string) => {
        stderr += `${line}\n`;
      })
      .on('error', (error: Error) => reject(new Error(`encoding ${output}: ${ffmpegReason(stderr, error.message)}`)))
      .on('end', () => resolve())
      .run();
  });
}
