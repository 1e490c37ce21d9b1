import fs from 'node:fs/promises';
import path from 'node:path';
import { RunFolder, type EpochRecord } from './run-folder.js';
import { encodeEvents, type ScalarEvent } from './tfrecord.js';

/** A tag part made of letters, digits, '.', '-' and '_' (TensorBoard groups tags by '/'). */
const tagPart = (name: string) => name.replace(/[^\w.-]+/g, '_');

/** The scalars of one epoch, under TensorBoard tags. */
function epochScalars(record: EpochRecord, classes: readonly string[]): { tag: string; value: number }[] {
  const scalars: { tag: string; value: number }[] = [
    { tag: 'train/loss', value: record.trainLoss },
    { tag: 'train/learning_rate', value: record.learningRate },
  ];
  const metrics = (prefix: string, m: EpochRecord['validation'] | EpochRecord['validation']['groups']['majority']) => {
    for (const [name, value] of [
      ['top1', m.top1],
      ['top5', m.top5],
      ['macro_recall', m.macroRecall],
      ['macro_precision', m.macroPrecision],
    ] as const) {
      if (value !== null) scalars.push({ tag: `${prefix}/${name}`, value });
    }
  };
  metrics('validation', record.validation);
  for (const [group, m] of Object.entries(record.validation.groups)) metrics(`validation_${group}`, m);
  if (record.cdb) {
    scalars.push({ tag: 'cdb/tau', value: record.cdb.tau });
    record.cdb.weights.forEach((w, c) => scalars.push({ tag: `cdb_weight/${tagPart(classes[c] ?? `class_${c}`)}`, value: w }));
  }
  return scalars;
}

/** What this process last wrote to each event file: the next epoch is appended while the file is still that. */
const lastWritten = new Map<string, { epoch: number; bytes: number; elapsed: number }>();

/**
 * Writes RUN/tb/: one event file with every finished epoch's scalars. The epoch after the one
 * this process last wrote is appended (rebuilding the file every epoch cost a run time that grows
 * with the square of its epochs); otherwise (a resumed run, which may have redone epochs) the file
 * is rebuilt from the history and renamed into place, so it never holds an epoch twice and a kill
 * mid-append leaves at most a cut last record until then. The bytes only ever grow at the end, so
 * a TensorBoard reading the file meanwhile keeps its place.
 */
export async function logEpoch(runDir: string, record: EpochRecord): Promise<string> {
  const folder = new RunFolder(runDir);
  const info = await folder.readRunInfo();
  const started = Date.parse(info.startedAt) / 1000;
  const start = Number.isFinite(started) ? started : 0;
  const file = path.join(folder.tensorboardDir, `events.out.tfevents.${Math.floor(start)}.egtea`);
  const previous = lastWritten.get(file);
  if (
    previous?.epoch === record.epoch - 1 &&
    (await fs.stat(file).then(
      (s) => s.size,
      () => -1,
    )) === previous.bytes
  ) {
    const elapsed = previous.elapsed + record.seconds;
    const bytes = encodeEvents([{ wallTime: start + elapsed, step: record.epoch, scalars: epochScalars(record, info.classes) }]);
    await fs.appendFile(file, bytes);
    lastWritten.set(file, { epoch: record.epoch, bytes: previous.bytes + bytes.length, elapsed });
    return file;
  }
  const history = (await folder.readHistory()).filter((r) => r.epoch <= record.epoch);
  if (!history.some((r) => r.epoch === record.epoch)) history.push(record);
  let elapsed = 0;
  const events: ScalarEvent[] = [{ wallTime: start, step: 0, fileVersion: 'brain.Event:2', scalars: [] }];
  for (const r of history) {
    elapsed += r.seconds;
    events.push({ wallTime: start + elapsed, step: r.epoch, scalars: epochScalars(r, info.classes) });
  }
  await fs.mkdir(folder.tensorboardDir, { recursive: true });
  // The temporary file lies outside tb/: TensorBoard would take any *tfevents* name there for a log.
  const temporary = path.join(runDir, `.tb-events.tmp-${process.pid}`);
  const bytes = encodeEvents(events);
  await fs.writeFile(temporary, bytes);
  await fs.rename(temporary, file);
  lastWritten.set(file, { epoch: record.epoch, bytes: bytes.length, elapsed });
  return file;
}
