import fs from 'node:fs/promises';

/** One record of the prepare manifest: the last record of a clip is its state. */
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

export const MANIFEST_FILE = 'manifest.jsonl';

/**
 * Reads the manifest (JSON lines, appended as clips finish). A kill can cut the last line
 * short; such a line is ignored, and its clip is simply done again.
 */
export async function readManifest(file: string): Promise<Map<string, ManifestRecord>> {
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
    try {
      const record = JSON.parse(line) as ManifestRecord;
      if (typeof record.clip === 'string') records.set(record.clip, record);
    } catch {
      // a torn final line from a killed run
    }
  }
  return records;
}

/** Appends one record; one write per line, so concurrent appends never interleave. */
export async function appendManifest(file: string, record: ManifestRecord): Promise<void> {
  await fs.appendFile(file, `${JSON.stringify(record)}\n`);
}
