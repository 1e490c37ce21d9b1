import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError, at } from '../util/errors.js';
import { parseClipName, type ClipName } from './clip-name.js';

export type LabelKind = 'verb' | 'noun' | 'action';
export const LABEL_KINDS: readonly LabelKind[] = ['verb', 'noun', 'action'];

/** One line of a split file: `<clip> <action id> <verb id> <noun id> [<noun id> ...]`, ids 1-based. */
export interface ClipAnnotation extends ClipName {
  clip: string;
  /** 0-based class indices. */
  action: number;
  verb: number;
  nouns: number[];
  file: string;
  line: number;
}

/** Class names by 0-based index, from `<name words> <1-based id>` lines. */
export interface ClassIndex {
  file: string;
  names: string[];
}

export interface AnnotationSet {
  dir: string;
  train: ClipAnnotation[];
  test: ClipAnnotation[];
  indices: Partial<Record<LabelKind, ClassIndex>>;
  warnings: string[];
}

async function readLines(file: string): Promise<string[]> {
  try {
    return (await fs.readFile(file, 'utf8')).split(/\r?\n/);
  } catch (error) {
    throw new UserError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export async function readClassIndex(file: string): Promise<ClassIndex> {
  const lines = await readLines(file);
  const byId = new Map<number, string>();
  lines.forEach((text, i) => {
    const line = text.trim();
    if (line === '') return;
    const match = /^(.*\S)\s+(\d+)$/.exec(line);
    if (!match) throw new UserError(`${at(file, i + 1)}: expected '<class name> <id>', got '${line}'`);
    const id = Number(match[2]);
    if (id < 1) throw new UserError(`${at(file, i + 1)}: class ids start at 1, got ${id}`);
    if (byId.has(id)) throw new UserError(`${at(file, i + 1)}: class id ${id} is listed twice`);
    byId.set(id, match[1]!);
  });
  const count = Math.max(0, ...byId.keys());
  const names: string[] = [];
  for (let id = 1; id <= count; id++) {
    const name = byId.get(id);
    if (name === undefined) throw new UserError(`${file}: class id ${id} is missing (ids must run from 1 to ${count})`);
    names.push(name);
  }
  return { file, names };
}

function parseId(field: string, kind: string, where: string, index: ClassIndex | undefined): number {
  if (!/^\d+$/.test(field)) throw new UserError(`${where}: ${kind} id '${field}' is not a whole number`);
  const id = Number(field);
  if (id < 1) throw new UserError(`${where}: ${kind} ids start at 1, got ${id}`);
  if (index && id > index.names.length) {
    throw new UserError(`${where}: unknown ${kind} id ${id} (${path.basename(index.file)} lists ${index.names.length} classes)`);
  }
  return id - 1;
}

/** Parses a split file; every problem names the file and line. Duplicate clips are dropped with a warning. */
export async function readSplitFile(file: string, indices: Partial<Record<LabelKind, ClassIndex>>, warnings: string[]): Promise<ClipAnnotation[]> {
  const lines = await readLines(file);
  const seen = new Map<string, number>();
  const clips: ClipAnnotation[] = [];
  lines.forEach((text, i) => {
    const line = text.trim();
    if (line === '') return;
    const where = at(file, i + 1);
    const fields = line.split(/\s+/);
    if (fields.length < 4) throw new UserError(`${where}: expected '<clip> <action id> <verb id> <noun id> [...]', got ${fields.length} field(s)`);
    const [clip, action, verb, ...nouns] = fields as [string, string, string, ...string[]];
    const name = parseClipName(clip);
    if (typeof name === 'string') throw new UserError(`${where}: ${name}`);
    const first = seen.get(clip);
    if (first !== undefined) {
      warnings.push(`${where}: clip ${clip} repeats line ${first}; the repeat is ignored`);
      return;
    }
    seen.set(clip, i + 1);
    // The fields named one by one: spreading the parsed name into the literal cost 4x the whole parse (V8's slow object clone).
    clips.push({
      subject: name.subject,
      session: name.session,
      recipe: name.recipe,
      startMs: name.startMs,
      endMs: name.endMs,
      startFrame: name.startFrame,
      endFrame: name.endFrame,
      clip,
      action: parseId(action, 'action', where, indices.action),
      verb: parseId(verb, 'verb', where, indices.verb),
      nouns: nouns.map((n) => parseId(n, 'noun', where, indices.noun)),
      file,
      line: i + 1,
    });
  });
  if (clips.length === 0) throw new UserError(`${file}: no clips`);
  return clips;
}

async function exists(file: string): Promise<boolean> {
  return fs
    .access(file)
    .then(() => true)
    .catch(() => false);
}

export const SPLIT_FILES = { train: 'train_split1.txt', test: 'test_split1.txt' } as const;

/** Reads an EGTEA annotation folder: the split files and whichever class indices are there. */
export async function readAnnotations(dir: string, files: { train?: string; test?: string } = {}): Promise<AnnotationSet> {
  const indices: Partial<Record<LabelKind, ClassIndex>> = {};
  for (const kind of LABEL_KINDS) {
    const file = path.join(dir, `${kind}_idx.txt`);
    if (await exists(file)) indices[kind] = await readClassIndex(file);
  }
  if (!indices.verb) throw new UserError(`${path.join(dir, 'verb_idx.txt')}: missing (an annotation folder needs the verb class names)`);
  const warnings: string[] = [];
  const train = await readSplitFile(path.join(dir, files.train ?? SPLIT_FILES.train), indices, warnings);
  const test = await readSplitFile(path.join(dir, files.test ?? SPLIT_FILES.test), indices, warnings);
  return { dir, train, test, indices, warnings };
}

/** The class index of a clip for the chosen label; a clip with several nouns takes the first. */
export function labelOf(clip: ClipAnnotation, kind: LabelKind): number {
  if (kind === 'verb') return clip.verb;
  if (kind === 'action') return clip.action;
  return clip.nouns[0]!;
}

/** Class names for the chosen label: from its index file, or numbered when the file is absent. */
export function classNames(set: AnnotationSet, kind: LabelKind): string[] {
  const index = set.indices[kind];
  if (index) return index.names;
  const count = Math.max(...[...set.train, ...set.test].map((c) => labelOf(c, kind))) + 1;
  return Array.from({ length: count }, (_, i) => `${kind} ${i + 1}`);
}
