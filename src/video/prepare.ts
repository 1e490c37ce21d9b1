import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { readAnnotations, type ClipAnnotation } from '../data/annotations.js';
import { clipFrameDir, clipVideoPath, frameFile, MANIFEST_FILE } from '../data/frame-layout.js';
import { appendManifest, closeCutLine, manifestPartFile, readManifest, type ManifestRecord } from '../data/manifest.js';
import { at, UserError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { checkClipFrames } from './check-frames.js';
import { extractFrames, type FrameExtractionOptions } from './extract-frames.js';
import { checkFfmpegRuns, warmFfmpegCapabilities } from './ffmpeg-binaries.js';
import { jpegSize } from './jpeg-size.js';
import { describeShard, inShard, type Shard } from './shard.js';

export interface PrepareOptions {
  videos: string;
  annotations: string;
  out: string;
  frames: FrameExtractionOptions;
  jobs: number;
  /** Show a progress line on stderr (default true). */
  progress?: boolean;
  /** Decode only this part of the clips (`--shard K/N`), recorded in a manifest part of its own. */
  shard?: Shard | null;
}

export interface PrepareSummary {
  out: string;
  /** The file this run recorded its clips in: the manifest, or this shard's part of it. */
  manifest: string;
  /** The clips of this run (of its shard). */
  clips: number;
  done: number;
  skipped: number;
  failed: { clip: string; annotation: string; reason: string }[];
  frames: number;
  seconds: number;
  /** With --shard: which part, and how far the whole set is (every part's records read after this one finished). */
  shard: { index: number; count: number; clipsInAll: number; doneInAll: number } | null;
}

/** Whether a clip finished in an earlier run is still complete (every frame whole) and its video unchanged. */
async function stillDone(record: ManifestRecord | undefined, source: { size: number; mtimeMs: number }, dir: string): Promise<boolean> {
  if (record?.status !== 'done' || !record.source) return false;
  if (record.source.size !== source.size || record.source.mtimeMs !== source.mtimeMs) return false;
  const check = await checkClipFrames(dir);
  return check.problem === null && check.frames === record.frames;
}

const TEMPORARY_PREFIX = '.tmp-';

/** The temporary folder a clip is decoded into, named by the process so two runs never share one. */
function temporaryDir(target: string, clip: string): string {
  return path.join(path.dirname(target), `${TEMPORARY_PREFIX}${clip}-${process.pid}`);
}

/** Whether a temporary folder belongs to this run's part: another machine may be writing the others right now. */
function ownsTemporary(entry: string, shard: Shard | null): boolean {
  if (!entry.startsWith(TEMPORARY_PREFIX)) return false;
  if (shard === null) return true;
  const clip = /^(.*)-\d+$/.exec(entry.slice(TEMPORARY_PREFIX.length))?.[1];
  return clip !== undefined && inShard(clip, shard);
}

async function removeLeftovers(out: string, shard: Shard | null): Promise<void> {
  const sessions = await fs.readdir(out, { withFileTypes: true }).catch(() => []);
  for (const session of sessions) {
    if (!session.isDirectory()) continue;
    const entries = await fs.readdir(path.join(out, session.name)).catch(() => [] as string[]);
    for (const entry of entries) {
      // An ffmpeg orphaned by a killed run may still be writing there: retry, and never fail on it.
      if (ownsTemporary(entry, shard))
        await fs.rm(path.join(out, session.name, entry), { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => undefined);
    }
  }
}

/** A write that failed for lack of room: the disk (or quota) is full, not the clip bad. */
class NoRoom extends Error {}

function isNoRoom(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return error instanceof NoRoom || code === 'ENOSPC' || code === 'EDQUOT';
}

async function freeSpace(dir: string): Promise<string> {
  try {
    const stats = await fs.statfs(dir);
    return `${((stats.bavail * stats.bsize) / 2 ** 20).toFixed(1)} MB free`;
  } catch {
    return 'free space unknown';
  }
}

async function noRoomError(out: string, manifest: string, cause: unknown): Promise<UserError> {
  const detail = cause instanceof NoRoom ? cause.message : `no space left on device (${(cause as Error).message})`;
  return new UserError(
    `cannot write frames to ${out} (${await freeSpace(out)}): ${detail}. Free space there and run egtea prepare again: ` +
      `finished clips are recorded in ${manifest} and are not redone; nothing half-written was kept.`,
    { cause },
  );
}

/**
 * Decodes every annotated clip into JPEG frames. Resumable: each clip goes to a temporary folder
 * renamed into place once every frame is checked whole, and is then recorded in the manifest;
 * a rerun skips finished clips and redoes clips whose video changed or whose frames went
 * missing or were cut. A bad video is recorded with ffmpeg's reason and the run goes on; a
 * full disk stops the run (every clip after it would fail the same way).
 */
export async function prepareFrames(options: PrepareOptions): Promise<PrepareSummary> {
  const shard = checkShard(options.shard ?? null);
  const manifestFile = path.join(options.out, MANIFEST_FILE);
  const recordFile = shard === null ? manifestFile : manifestPartFile(manifestFile, shard);
  try {
    return await prepareAll(options, manifestFile, recordFile, shard);
  } catch (error) {
    if (isNoRoom(error)) {
      await removeLeftovers(options.out, shard);
      throw await noRoomError(options.out, recordFile, error);
    }
    throw error;
  }
}

/** A 1-way split is the whole set, written to the manifest itself; a part outside 1..N is refused. */
function checkShard(shard: Shard | null): Shard | null {
  if (shard === null || shard.count === 1) return null;
  if (!Number.isInteger(shard.count) || !Number.isInteger(shard.index) || shard.index < 1 || shard.index > shard.count) {
    throw new UserError(`shard ${describeShard(shard)}: K must run from 1 to N in K/N`);
  }
  return shard;
}

/**
 * `manifestFile` is read with every part (a clip done by any run is not redone); this run
 * appends only to `recordFile`, its own file, so machines sharing the folder never write
 * one file together.
 */
async function prepareAll(options: PrepareOptions, manifestFile: string, recordFile: string, shard: Shard | null): Promise<PrepareSummary> {
  const started = Date.now();
  const set = await readAnnotations(options.annotations);
  // A clip listed in both split files is decoded once.
  const everyClip = [...new Map([...set.train, ...set.test].map((c) => [c.clip, c])).values()];
  const clips = everyClip.filter((clip) => inShard(clip.clip, shard));
  await fs.mkdir(options.out, { recursive: true });
  await removeLeftovers(options.out, shard);
  await closeCutLine(recordFile);
  const manifest = await readManifest(manifestFile);
  const label = shard === null ? 'prepare' : `prepare ${describeShard(shard)}`;
  const progress = new Progress(label, clips.length, 'frames', options.progress === false ? null : process.stderr);
  const summary: PrepareSummary = {
    out: options.out,
    manifest: recordFile,
    clips: clips.length,
    done: 0,
    skipped: 0,
    failed: [],
    frames: 0,
    seconds: 0,
    shard: null,
  };
  // Only the decoding holds one of the `jobs` slots: bookkeeping overlaps the next decode.
  const decodeSlot = pLimit(options.jobs);
  const inFlight = pLimit(options.jobs * 2);
  checkFfmpegRuns('ffmpeg');
  checkFfmpegRuns('ffprobe');
  await warmFfmpegCapabilities();
  // The first write that found no room; clips not yet started are then left for the rerun.
  let noRoom: unknown = null;

  const prepareClip = async (clip: ClipAnnotation): Promise<void> => {
    if (noRoom) return;
    const video = clipVideoPath(options.videos, clip);
    const target = clipFrameDir(options.out, clip);
    const annotation = at(clip.file, clip.line);
    const fail = async (reason: string, source: ManifestRecord['source']) => {
      await appendManifest(recordFile, { clip: clip.clip, session: clip.session, status: 'failed', source, reason, annotation, at: new Date().toISOString() });
      summary.failed.push({ clip: clip.clip, annotation, reason });
      progress.tick('failed');
    };
    let stat;
    try {
      stat = await fs.stat(video);
    } catch {
      return fail(`missing video ${video}`, null);
    }
    const source = { path: video, size: stat.size, mtimeMs: stat.mtimeMs };
    if (!stat.isFile()) return fail(`${video} is not a file`, source);
    if (stat.size === 0) return fail(`${video} is empty (0 bytes)`, source);
    if (await stillDone(manifest.get(clip.clip), source, target)) {
      summary.skipped += 1;
      progress.tick('skipped');
      return;
    }
    const temporary = temporaryDir(target, clip.clip);
    try {
      await fs.rm(temporary, { recursive: true, force: true });
      await fs.mkdir(temporary, { recursive: true });
      const frames = await decodeSlot(() => (noRoom ? 0 : extractFrames(video, temporary, options.frames)));
      if (noRoom) {
        await fs.rm(temporary, { recursive: true, force: true });
        return;
      }
      const check = await checkClipFrames(temporary);
      // ffmpeg decoded the video, so a cut frame is a write that failed: the disk is full.
      if (check.problem !== null) throw new NoRoom(`ffmpeg reported success, but the frames of ${clip.clip} were not all written (${check.problem})`);
      const { width, height } = await jpegSize(frameFile(temporary, 0));
      await fs.rm(target, { recursive: true, force: true });
      await fs.rename(temporary, target);
      await appendManifest(recordFile, {
        clip: clip.clip,
        session: clip.session,
        status: 'done',
        frames,
        width,
        height,
        source,
        annotation,
        at: new Date().toISOString(),
      });
      summary.done += 1;
      summary.frames += frames;
      progress.tick('done', frames);
    } catch (error) {
      await fs.rm(temporary, { recursive: true, force: true });
      if (isNoRoom(error)) noRoom ??= error;
      else await fail((error as Error).message, source);
    }
  };

  // Every clip settles before anything is thrown, so no ffmpeg is left writing a temporary folder.
  const outcomes = await Promise.allSettled(clips.map((clip) => inFlight(() => prepareClip(clip))));
  progress.finish();
  for (const outcome of outcomes) if (outcome.status === 'rejected' && isNoRoom(outcome.reason)) noRoom ??= outcome.reason;
  if (noRoom) throw noRoom;
  const broken = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (broken) throw broken.reason;
  if (shard !== null) {
    const all = await readManifest(manifestFile);
    const doneInAll = everyClip.filter((clip) => all.get(clip.clip)?.status === 'done').length;
    summary.shard = { ...shard, clipsInAll: everyClip.length, doneInAll };
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}
