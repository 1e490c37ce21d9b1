import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { readAnnotations, type ClipAnnotation } from '../data/annotations.js';
import { at } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { extractFrames, type FrameExtractionOptions } from './extract-frames.js';
import { warmFfmpegCapabilities } from './ffmpeg-binaries.js';
import { jpegSize } from './jpeg-size.js';
import { appendManifest, MANIFEST_FILE, readManifest, type ManifestRecord } from './manifest.js';

export interface PrepareOptions {
  videos: string;
  annotations: string;
  out: string;
  frames: FrameExtractionOptions;
  jobs: number;
  /** Show a progress line on stderr (default true). */
  progress?: boolean;
}

export interface PrepareSummary {
  out: string;
  manifest: string;
  clips: number;
  done: number;
  skipped: number;
  failed: { clip: string; annotation: string; reason: string }[];
  frames: number;
  seconds: number;
}

/** Where a clip's video and frames live: `<videos>/<session>/<clip>.mp4`, `<out>/<session>/<clip>/`. */
export function clipVideoPath(videos: string, clip: Pick<ClipAnnotation, 'session' | 'clip'>): string {
  return path.join(videos, clip.session, `${clip.clip}.mp4`);
}

export function clipFrameDir(out: string, clip: Pick<ClipAnnotation, 'session' | 'clip'>): string {
  return path.join(out, clip.session, clip.clip);
}

async function frameCount(dir: string): Promise<number | null> {
  try {
    return (await fs.readdir(dir)).filter((f) => /^img_\d{5}\.jpg$/.test(f)).length;
  } catch {
    return null;
  }
}

/** Whether a clip finished in an earlier run is still complete and its video unchanged. */
async function stillDone(record: ManifestRecord | undefined, source: { size: number; mtimeMs: number }, dir: string): Promise<boolean> {
  if (!record || record.status !== 'done' || !record.source) return false;
  if (record.source.size !== source.size || record.source.mtimeMs !== source.mtimeMs) return false;
  return (await frameCount(dir)) === record.frames;
}

async function removeLeftovers(out: string): Promise<void> {
  const sessions = await fs.readdir(out, { withFileTypes: true }).catch(() => []);
  for (const session of sessions) {
    if (!session.isDirectory()) continue;
    const entries = await fs.readdir(path.join(out, session.name)).catch(() => [] as string[]);
    for (const entry of entries) {
      // An ffmpeg orphaned by a killed run may still be writing there: retry, and never fail on it.
      if (entry.startsWith('.tmp-')) await fs.rm(path.join(out, session.name, entry), { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => undefined);
    }
  }
}

/**
 * Decodes every annotated clip into JPEG frames. Resumable: each clip goes to a temporary folder
 * renamed into place when complete and is then recorded in the manifest; a rerun skips
 * finished clips and redoes clips whose video changed or whose frames went missing. A bad
 * video is recorded with ffmpeg's reason and the run goes on.
 */
export async function prepareFrames(options: PrepareOptions): Promise<PrepareSummary> {
  const started = Date.now();
  const set = await readAnnotations(options.annotations);
  // A clip listed in both split files is decoded once.
  const clips = [...new Map([...set.train, ...set.test].map((c) => [c.clip, c])).values()];
  await fs.mkdir(options.out, { recursive: true });
  await removeLeftovers(options.out);
  const manifestFile = path.join(options.out, MANIFEST_FILE);
  const manifest = await readManifest(manifestFile);
  const progress = new Progress('prepare', clips.length, 'frames', options.progress === false ? null : process.stderr);
  const summary: PrepareSummary = { out: options.out, manifest: manifestFile, clips: clips.length, done: 0, skipped: 0, failed: [], frames: 0, seconds: 0 };
  // Only the decoding holds one of the `jobs` slots: bookkeeping overlaps the next decode.
  const decodeSlot = pLimit(options.jobs);
  const inFlight = pLimit(options.jobs * 2);
  await warmFfmpegCapabilities();

  const prepareClip = async (clip: ClipAnnotation): Promise<void> => {
    const video = clipVideoPath(options.videos, clip);
    const target = clipFrameDir(options.out, clip);
    const annotation = at(clip.file, clip.line);
    const fail = async (reason: string, source: ManifestRecord['source']) => {
      summary.failed.push({ clip: clip.clip, annotation, reason });
      await appendManifest(manifestFile, { clip: clip.clip, session: clip.session, status: 'failed', source, reason, annotation, at: new Date().toISOString() });
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
    const temporary = path.join(path.dirname(target), `.tmp-${clip.clip}-${process.pid}`);
    await fs.rm(temporary, { recursive: true, force: true });
    await fs.mkdir(temporary, { recursive: true });
    try {
      const frames = await decodeSlot(() => extractFrames(video, temporary, options.frames));
      const { width, height } = await jpegSize(path.join(temporary, 'img_00001.jpg'));
      await fs.rm(target, { recursive: true, force: true });
      await fs.rename(temporary, target);
      await appendManifest(manifestFile, { clip: clip.clip, session: clip.session, status: 'done', frames, width, height, source, annotation, at: new Date().toISOString() });
      summary.done += 1;
      summary.frames += frames;
      progress.tick('done', frames);
    } catch (error) {
      await fs.rm(temporary, { recursive: true, force: true });
      await fail((error as Error).message, source);
    }
  };

  await Promise.all(clips.map((clip) => inFlight(() => prepareClip(clip))));
  progress.finish();
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}
