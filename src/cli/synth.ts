import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { MAX_SYNTH_CLIPS, SYNTH_DEFAULTS, synthesize } from '../video/synth/synthesize.js';
import { coresOption, parsePositiveInt, parseSeed } from './options.js';
import { emit } from './output.js';

function parseSize(value: string): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/.exec(value);
  if (!match || Number(match[1]) % 2 || Number(match[2]) % 2) throw new InvalidArgumentError(`'${value}' is not WIDTHxHEIGHT with even sizes`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

function parseSeconds(value: string): [number, number] {
  const parts = value.split('-').map(Number);
  if (parts.length !== 2 || !parts.every((v) => v > 0) || parts[0]! > parts[1]!) throw new InvalidArgumentError(`'${value}' is not a range like 1.5-3.5`);
  return parts as [number, number];
}

export function registerSynthCommand(program: Command): void {
  program
    .command('synth')
    .description('make an EGTEA-like dataset of real H.264 clips (EGTEA classes, subjects and imbalance, scaled), seeded')
    .option('--out <dir>', 'output folder', path.join('data', 'synth'))
    .option('--clips <n>', `number of clips (at least 57: 3 per class; at most ${MAX_SYNTH_CLIPS})`, parsePositiveInt, SYNTH_DEFAULTS.clips)
    .option('--seed <n>', 'seed of every random choice (a whole number >= 0)', parseSeed, SYNTH_DEFAULTS.seed)
    .option('--size <WxH>', 'frame size', parseSize, { width: SYNTH_DEFAULTS.width, height: SYNTH_DEFAULTS.height })
    .option('--fps <n>', 'frames per second', parsePositiveInt, SYNTH_DEFAULTS.fps)
    .option('--seconds <min-max>', 'clip duration range in seconds', parseSeconds, SYNTH_DEFAULTS.seconds)
    .addOption(coresOption('--jobs <n>', 'clips encoded at once'))
    .option('--json', 'print one JSON document', false)
    .action(
      async (o: {
        out: string;
        clips: number;
        seed: number;
        size: { width: number; height: number };
        fps: number;
        seconds: [number, number];
        jobs: number;
        json: boolean;
      }) => {
        const result = await synthesize({
          out: o.out,
          clips: o.clips,
          seed: o.seed,
          width: o.size.width,
          height: o.size.height,
          fps: o.fps,
          seconds: o.seconds,
          jobs: o.jobs,
        });
        emit(o.json, result, () =>
          [
            `synth: ${result.clips} clips in ${result.out} (seed ${result.seed}): ${result.written} written, ${result.skipped} already there`,
            `annotations: ${result.annotations}`,
            `videos:      ${result.videos}`,
          ].join('\n'),
        );
      },
    );
}
