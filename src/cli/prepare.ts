import path from 'node:path';
import type { Command } from 'commander';
import { frameFile } from '../data/frame-layout.js';
import { UserError } from '../util/errors.js';
import { ffmpegBinaries } from '../video/ffmpeg-binaries.js';
import { prepareFrames } from '../video/prepare.js';
import { describeShard, parseShard } from '../video/shard.js';
import { coresOption, parsePositiveInt } from './options.js';
import { emit, log } from './output.js';

export function registerPrepareCommand(program: Command): void {
  program
    .command('prepare')
    .description('extract JPEG frames of every annotated clip with ffmpeg; resumable, with a manifest')
    .requiredOption('--videos <dir>', 'videos as <dir>/<session>/<clip>.mp4')
    .requiredOption('--annotations <dir>', 'folder with the split files and verb_idx.txt')
    .option('--out <dir>', `frames as ${frameFile('<out>/<session>/<clip>', 0)}`, path.join('data', 'frames'))
    .option('--short-side <px>', 'scale frames so their short side is this long', parsePositiveInt, 256)
    .option('--quality <q>', "JPEG quality as ffmpeg's -q:v: 2 (best) to 31", parsePositiveInt, 2)
    .option('--fps <n>', "frames per second to keep (default: the video's own)", parsePositiveInt)
    .addOption(coresOption('--jobs <n>', 'videos decoded at once'))
    .option('--shard <K/N>', 'decode only part K of N of the clips (one part per machine, all into the same --out); each part keeps its own manifest file')
    .option('--json', 'print one JSON document', false)
    .action(
      async (o: {
        videos: string;
        annotations: string;
        out: string;
        shortSide: number;
        quality: number;
        fps?: number;
        jobs: number;
        shard?: string;
        json: boolean;
      }) => {
        if (o.quality < 2 || o.quality > 31) throw new UserError(`--quality ${o.quality}: ffmpeg's JPEG scale runs from 2 (best) to 31`);
        // Parsed here, not by commander, so a bad value is a user error naming the option and the fix.
        const shard = o.shard === undefined ? null : parseShard(o.shard);
        const binaries = ffmpegBinaries();
        log(`prepare: ffmpeg ${binaries.ffmpeg} (${binaries.source}), ${o.jobs} jobs${shard ? `, shard ${describeShard(shard)}` : ''}`);
        const summary = await prepareFrames({
          videos: o.videos,
          annotations: o.annotations,
          out: o.out,
          frames: { shortSide: o.shortSide, quality: o.quality, fps: o.fps ?? null },
          jobs: o.jobs,
          shard,
        });
        emit(o.json, summary, () =>
          [
            `prepare${shard ? ` shard ${describeShard(shard)}` : ''}: ${summary.clips} clips in ${summary.seconds.toFixed(1)}s: ${summary.done} done (${summary.frames} frames), ${summary.skipped} already done, ${summary.failed.length} failed`,
            ...summary.failed.map((f) => `  FAILED ${f.clip} (${f.annotation}): ${f.reason}`),
            `manifest: ${summary.manifest}`,
            ...(summary.shard
              ? [
                  `whole set: ${summary.shard.doneInAll} of ${summary.shard.clipsInAll} clips done` +
                    (summary.shard.doneInAll < summary.shard.clipsInAll ? ' (the other parts, or failed clips, are not finished yet)' : ''),
                ]
              : []),
          ].join('\n'),
        );
        if (summary.failed.length > 0)
          throw new UserError(`${summary.failed.length} clip(s) failed; finished clips are kept and recorded in ${summary.manifest}`);
      },
    );
}
