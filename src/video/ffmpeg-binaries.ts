import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import ffmpeg from 'fluent-ffmpeg';
import { environmentValue } from '../util/environment.js';
import { UserError } from '../util/errors.js';

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
  const fromEnv = environmentValue('FFMPEG_PATH');
  const probeFromEnv = environmentValue('FFPROBE_PATH');
  const bundledFfmpeg = () => (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  const bundledFfprobe = () => (require('@ffprobe-installer/ffprobe') as { path: string }).path;
  resolved = {
    ffmpeg: fromEnv || bundledFfmpeg(),
    ffprobe: probeFromEnv || bundledFfprobe(),
    source: fromEnv || probeFromEnv ? 'environment' : 'bundled',
  };
  return resolved;
}

const checked = new Set<string>();

/**
 * Runs `<program> -version` once, so a program that is not ffmpeg (a bad FFMPEG_PATH, a broken
 * build) is one message naming it and its variable, not one failure per clip.
 */
export function checkFfmpegRuns(which: 'ffmpeg' | 'ffprobe' = 'ffmpeg'): void {
  const binaries = ffmpegBinaries();
  const program = binaries[which];
  if (checked.has(program)) return;
  const variable = which === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
  const fromEnvironment = environmentValue(variable) !== undefined;
  const result = spawnSync(program, ['-version'], { encoding: 'utf8', timeout: 30_000 });
  const firstLine = (result.stdout ?? '').split('\n')[0] ?? '';
  if (result.error || result.status !== 0 || !firstLine.startsWith(`${which} version`)) {
    const why = result.error
      ? result.error.message
      : result.status !== 0
        ? `'${program} -version' exited with ${result.status ?? result.signal}`
        : `'${program} -version' does not say '${which} version'`;
    const fix = fromEnvironment
      ? `${variable}=${program} does not run as ${which}; set ${variable} to an ${which} executable, or unset it to use the build that comes from npm`
      : `the ${which} that comes from npm (${program}) does not run; reinstall egtea's dependencies, or set ${variable} to an ${which} executable`;
    throw new UserError(`${fix} (${why})`);
  }
  checked.add(program);
}

/** A fluent-ffmpeg command bound to our binaries; it spawns ffmpeg with an argument array, never a shell. */
export function ffmpegCommand(): ffmpeg.FfmpegCommand {
  const { ffmpeg: ffmpegPath, ffprobe } = ffmpegBinaries();
  return ffmpeg().setFfmpegPath(ffmpegPath).setFfprobePath(ffprobe);
}

// Lines of ffmpeg's stderr that say what is wrong with an input, most telling first.
const TELLING = [
  /does not contain any stream/i,
  /moov atom not found/i,
  /partial file/i,
  /Invalid data found/i,
  /No such file/i,
  /Permission denied/i,
  /Error while decoding/i,
  /Invalid argument/i,
];

/** What went wrong, in ffmpeg's own words: its most telling lines, without banner or addresses. */
export function ffmpegReason(stderr: string, fallback: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim().replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/, ''))
    .filter((l) => l !== '' && !/^(ffmpeg version|built with|configuration:|lib\w+\s|Input #|Output #|Stream|Duration|Metadata|encoder|Press \[q\])/.test(l));
  const telling: string[] = [];
  for (const pattern of TELLING) {
    const line = lines.find((l) => pattern.test(l));
    if (line && !telling.includes(line)) telling.push(line);
    if (telling.length === 2) break;
  }
  const reason = (telling.length > 0 ? telling : lines.slice(-2)).join(' | ');
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
