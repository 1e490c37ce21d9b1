import { createRequire } from 'node:module';
import ffmpeg from 'fluent-ffmpeg';

export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
  source: 'environment' | 'bundled';
}

let resolved: FfmpegBinaries | null = null;

/**
 * ffmpeg and ffprobe: FFMPEG_PATH / FFPROBE_PATH when set (a system build, say), otherwise the
 * static builds that come with the project from npm, so a fresh machine needs nothing else.
 */
export function ffmpegBinaries(): FfmpegBinaries {
  if (resolved) return resolved;
  const require = createRequire(import.meta.url);
  const fromEnv = process.env.FFMPEG_PATH;
  const probeFromEnv = process.env.FFPROBE_PATH;
  const bundledFfmpeg = () => (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  const bundledFfprobe = () => (require('@ffprobe-installer/ffprobe') as { path: string }).path;
  resolved = {
    ffmpeg: fromEnv || bundledFfmpeg(),
    ffprobe: probeFromEnv || bundledFfprobe(),
    source: fromEnv || probeFromEnv ? 'environment' : 'bundled',
  };
  return resolved;
}

/** A fluent-ffmpeg command bound to our binaries; it spawns ffmpeg with an argument array, never a shell. */
export function ffmpegCommand(): ffmpeg.FfmpegCommand {
  const { ffmpeg: ffmpegPath, ffprobe } = ffmpegBinaries();
  return ffmpeg().setFfmpegPath(ffmpegPath).setFfprobePath(ffprobe);
}

/** The last lines of ffmpeg's stderr that say what went wrong, without its banner. */
export function ffmpegReason(stderr: string, fallback: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(ffmpeg version|built with|configuration:|lib\w+\s|Input #|Output #|Stream|Duration|Metadata|\s*encoder|Press \[q\])/.test(l));
  const reason = lines.slice(-2).join(' | ');
  return reason || fallback;
}

let warmed: Promise<void> | null = null;

/**
 * fluent-ffmpeg asks ffmpeg for its formats and encoders before its first command and caches
 * the answer; asking once up front saves every parallel first command from asking again.
 */
export function warmFfmpegCapabilities(): Promise<void> {
  warmed ??= new Promise((resolve) => {
    const command = ffmpegCommand();
    command.availableFormats(() => command.availableEncoders(() => resolve()));
  });
  return warmed;
}
