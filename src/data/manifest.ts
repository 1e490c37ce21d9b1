import fs from 'node:fs/promises';
import path from 'node:path';

/** One record of the prepare manifest (`<frames>/manifest.jsonl`, see frame-layout.ts): the last record of a clip is its state. */
export interface ManifestRecord {
  clip: string;
  session: string;
  status: 'done' | 'failed';
  frames?: number;
  width?: number;
  height?: number;
  /** Size and modification time of the video when it was decoded; a change means redo. */
  source: { path: string; size: number; mtimeMs: number } | null;
  reason?: string;
  /** Where the clip was annotated, for failures. */
  annotation: string;
  at: string;
}

function isRecord(value: unknown): value is ManifestRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<ManifestRecord>;
  if (typeof record.clip !== 'string' || typeof record.session !== 'string') return false;
  if (record.status === 'failed') return true;
  return record.status === 'done' && Number.isInteger(record.frames) && record.frames! > 0;
}

/** The records of one manifest file, the last record of each clip; a missing file has none. */
async function readManifestFile(file: string): Promise<Map<string, ManifestRecord>> {
  const records = new Map<string, ManifestRecord>();
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return records;
    throw error;
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue; // a cut line
    }
    if (isRecord(record)) records.set(record.clip, record);
  }
  return records;
}

/** Part K of N of a manifest split over machines (`prepare --shard K/N`): `manifest.shard-K-of-N.jsonl` beside it. */
export function manifestPartFile(file: string, part: { index: number; count: number }): string {
  return path.join(path.dirname(file), `${stem(file)}.shard-${part.index}-of-${part.count}.jsonl`);
}

const PART_SUFFIX = /^\.shard-\d+-of-\d+\.jsonl$/;

function stem(file: string): string {
  return path.basename(file, path.extname(file));
}

/** The part files of a manifest present on disk, in a fixed order. */
export async function manifestParts(file: string): Promise<string[]> {
  const names = await fs.readdir(path.dirname(file)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const base = stem(file);
  const isPart = (name: string) => name.startsWith(base) && PART_SUFFIX.test(name.slice(base.length));
  return names
    .filter(isPart)
    .sort()
    .map((name) => path.join(path.dirname(file), name));
}

/**
 * Reads the manifest (JSON lines, appended as clips finish) together with its parts, so the
 * loader and `train` see one manifest whether the frames were prepared in one run or in shards
 * on several machines. A kill or a full disk can cut a line short; such a line is ignored, and
 * its clip is simply done again. Within a file the last record of a clip wins; across files
 * (a clip redone by a later run with another split) the most recent one (`at`).
 */
export async function readManifest(file: string): Promise<Map<string, ManifestRecord>> {
  const records = await readManifestFile(file);
  for (const part of await manifestParts(file)) {
    for (const [clip, record] of await readManifestFile(part)) {
      const earlier = records.get(clip);
      if (!earlier || !(earlier.at > record.at)) records.set(clip, record);
    }
  }
  return records;
}

/**
 * Ends a cut last line with a newline, so the next record starts a line of its own instead of
 * being glued to (and lost with) the cut one.
 */
export async function closeCutLine(file: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(file, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    if (last[0] !== 0x0a) await handle.write('\n', size);
  } finally {
    await handle.close();
  }
}

/** Appends one record; one write per line, so concurrent appends never interleave. */
export async function appendManifest(file: string, record: ManifestRecord): Promise<void> {
  await fs.appendFile(file, `${JSON.stringify(record)}\n`);
}
