import fs from 'node:fs/promises';
import path from 'node:path';
import { settingLabel } from '../sweep/grid.js';
import type { SetArgument, SetValue } from '../sweep/set-argument.js';
import { MODELS, SUMMARY_FILE, type SweepSummary } from '../sweep/summary.js';
import { SWEEP_FILE } from '../sweep/sweep.js';
import { UserError } from '../util/errors.js';
import { pathExists } from '../util/files.js';

/** What a report shows of a sweep folder (egtea sweep or egtea paper): its record and its summary. */
export interface ReportedSweep {
  dir: string;
  /** The command that made the folder: 'sweep', 'paper table1', ... */
  command: string;
  pipeline: string;
  summary: SweepSummary;
  /** The swept axis: one --set key whose values are all numbers, or null (settings are labels). */
  axis: { key: string; values: Map<string, number> } | null;
}

/** The part of sweep.json a report reads. */
interface SweepRecordShape {
  command: string;
  pipeline: string;
  grid: { sets: SetArgument[] };
}

/** True when `dir` is a folder made by egtea sweep or egtea paper. */
export function isSweepFolder(dir: string): Promise<boolean> {
  return pathExists(path.join(dir, SWEEP_FILE));
}

async function readJson(file: string, what: string, fix: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${file}: missing; ${fix}`);
    throw new UserError(`${file}: cannot read ${what} (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UserError(`${file}: not JSON (${(error as Error).message}); ${fix}`);
  }
}

/**
 * The setting labels of a grid that varies one key over numbers, mapped to those numbers, so a
 * chart can order them by value; null for any other grid (no --set, several keys, text values).
 */
function numericAxis(sets: readonly SetArgument[]): ReportedSweep['axis'] {
  if (sets.length !== 1) return null;
  const { key, values } = sets[0]!;
  if (!values.every((v): v is number => typeof v === 'number')) return null;
  return { key, values: new Map(values.map((v: SetValue) => [settingLabel({ [key]: v }), v as number])) };
}

/** Reads a sweep folder: sweep.json and summary.json (written by the sweep, or by --no-run). */
export async function readReportedSweep(dir: string): Promise<ReportedSweep> {
  const again = 'rerun the egtea sweep (or egtea paper) command that made the folder with --no-run to write it';
  const record = (await readJson(path.join(dir, SWEEP_FILE), 'the sweep record', 'the folder is not a sweep')) as Partial<SweepRecordShape> | null;
  if (!record || typeof record.command !== 'string' || !Array.isArray(record.grid?.sets))
    throw new UserError(`${path.join(dir, SWEEP_FILE)}: not a sweep record written by egtea sweep or egtea paper (command, grid)`);
  const file = path.join(dir, SUMMARY_FILE);
  const summary = (await readJson(file, 'the sweep summary', again)) as Partial<SweepSummary> | null;
  const rowsOk =
    Array.isArray(summary?.rows) &&
    summary.rows.every(
      (r) =>
        typeof r?.setting === 'string' &&
        typeof r.variant === 'string' &&
        (MODELS as readonly string[]).includes(r.model) &&
        typeof r.testError?.n === 'number',
    );
  if (
    !summary ||
    !rowsOk ||
    !Array.isArray(summary.settings) ||
    !Array.isArray(summary.variants) ||
    !Array.isArray(summary.protocol) ||
    typeof summary.baseline !== 'string'
  ) {
    throw new UserError(`${file}: not a sweep summary written by egtea sweep (protocol, baseline, settings, variants, rows); ${again}`);
  }
  return { dir, command: record.command, pipeline: String(record.pipeline ?? ''), summary: summary as SweepSummary, axis: numericAxis(record.grid!.sets) };
}
