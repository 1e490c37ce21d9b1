import fsSync from 'node:fs';
import path from 'node:path';
import { cellTraining, CELL_FILES, finishCell } from '../sweep/run-cell.js';
import type { Pipeline } from '../config/pipeline.js';
import type { TrainOptions } from '../train/trainer.js';
import { trainPacked } from './packed-trainer.js';

/** A packed cell's end: finished, or the message that stopped it (also the last line of its run.log). */
export interface PackedCellEnd {
  folder: string;
  error: string | null;
}

/** The line a cell's log ends with when it fails, as a cell's own process prints it. */
function failureLine(message: string): string {
  return `egtea: ${message}`;
}

/**
 * Trains sweep cells (folders with a cell.json) as one pack (packed-trainer.ts), then evaluates
 * each as `egtea sweep-cell` does. Each cell's lines go to its own run.log (and, named, to
 * `log`); a failing cell ends its log with its message and the others go on. Started again after
 * a kill, every cell resumes from its own checkpoint.
 */
export async function runPackedCells(folders: readonly string[], log: (line: string) => void = () => {}): Promise<PackedCellEnd[]> {
  const cellLog = (folder: string) => (line: string) => {
    fsSync.appendFileSync(path.join(folder, CELL_FILES.log), `${line}\n`);
    log(`${path.basename(folder)}: ${line}`);
  };
  const ends: PackedCellEnd[] = folders.map((folder) => ({ folder, error: null }));
  const fail = (index: number, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    cellLog(folders[index]!)(failureLine(message));
    ends[index]!.error = message;
  };
  const prepared: { index: number; pipeline: Pipeline; posthocTau: number | undefined; options: TrainOptions }[] = [];
  for (const [index, folder] of folders.entries()) {
    try {
      prepared.push({ index, ...(await cellTraining(folder, cellLog(folder))) });
    } catch (error) {
      fail(index, error);
    }
  }
  const outcomes = await trainPacked(prepared.map((p) => p.options));
  for (const [k, outcome] of outcomes.entries()) {
    const { index } = prepared[k]!;
    if ('error' in outcome) {
      fail(index, outcome.error);
      continue;
    }
    try {
      await finishCell(folders[index]!, prepared[k]!, outcome.result, cellLog(folders[index]!));
    } catch (error) {
      fail(index, error);
    }
  }
  return ends;
}
