import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvents, encodeEvents, maskedCrc32c } from '../../../src/run/tfrecord.js';
import { train, type EpochRecord, type RunInfo } from '../../../src/train/trainer.js';
import { smallPipeline, smallSyntheticDataset } from '../../synthetic-data.js';

const tensorboardAvailable = spawnSync('python3', ['-c', 'import tensorboard.backend.event_processing.event_accumulator'], { encoding: 'utf8' }).status === 0;

let work: string;
let run: string;

beforeAll(async () => {
  const dataRoot = (await smallSyntheticDataset()).root;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-tb-'));
  run = path.join(work, 'run');
  // Two epochs (the second appended to the file), then the run extended to three: the resumed run adds its epoch to the same file.
  await train({ pipeline: smallPipeline({ epochs: 2 }), dataRoot, out: run, graphStep: false });
  await train({ pipeline: smallPipeline({ epochs: 3 }), dataRoot, out: run, graphStep: false });
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function eventFile(): string {
  const files = fs.readdirSync(path.join(run, 'tb'));
  expect(files).toHaveLength(1);
  expect(files[0]).toMatch(/^events\.out\.tfevents\.\d+\.egtea$/);
  return path.join(run, 'tb', files[0]!);
}

describe('TensorBoard event files', () => {
  it('train writes every epoch\u2019s scalars, as history.jsonl has them, once each after a resume', () => {
    const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')) as RunInfo;
    const history = fs
      .readFileSync(path.join(run, 'history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EpochRecord);
    const events = decodeEvents(fs.readFileSync(eventFile()), 'events');
    expect(events[0]!.fileVersion).toBe('brain.Event:2');
    expect(events.slice(1).map((e) => e.step)).toEqual([1, 2, 3]);
    for (const [i, record] of history.entries()) {
      const scalars = new Map(events[i + 1]!.scalars.map((s) => [s.tag, s.value]));
      expect(scalars.get('train/loss')).toBeCloseTo(record.trainLoss, 5);
      expect(scalars.get('train/learning_rate')).toBeCloseTo(record.learningRate, 7);
      expect(scalars.get('validation/top1')).toBeCloseTo(record.validation.top1!, 6);
      expect(scalars.get('validation_minority/macro_recall')).toBeCloseTo(record.validation.groups.minority.macroRecall!, 6);
      expect(scalars.get('cdb/tau')).toBeCloseTo(record.cdb!.tau, 5);
      // Every class's weight; 'Inspect/Read' becomes one tag part.
      info.classes.forEach((name, c) => expect(scalars.get(`cdb_weight/${name.replace(/[^\w.-]+/g, '_')}`), name).toBeCloseTo(record.cdb!.weights[c]!, 5));
      expect(events[i + 1]!.wallTime).toBeGreaterThan(events[0]!.wallTime);
    }
  });

  it.skipIf(!tensorboardAvailable)('TensorBoard\u2019s own reader reads the same scalars', () => {
    const script = [
      'import json, sys',
      'from tensorboard.backend.event_processing.event_accumulator import EventAccumulator',
      'acc = EventAccumulator(sys.argv[1]); acc.Reload()',
      "print(json.dumps({tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()['scalars']}))",
    ].join('\n');
    const result = spawnSync('python3', ['-c', script, path.join(run, 'tb')], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const scalars = JSON.parse(result.stdout) as Record<string, [number, number][]>;
    const history = fs
      .readFileSync(path.join(run, 'history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EpochRecord);
    expect(scalars['train/loss']!.map(([step]) => step)).toEqual([1, 2, 3]);
    scalars['train/loss']!.forEach(([, value], i) => expect(value).toBeCloseTo(history[i]!.trainLoss, 5));
    scalars['cdb/tau']!.forEach(([, value], i) => expect(value).toBeCloseTo(history[i]!.cdb!.tau, 5));
    expect(Object.keys(scalars).filter((t) => t.startsWith('cdb_weight/'))).toHaveLength(19);
  });

  it('frames records with masked CRC-32C and rejects a changed byte', () => {
    // CRC-32C of "123456789" is 0xE3069283 (the standard check value); masked as TFRecord does.
    const check = new TextEncoder().encode('123456789');
    expect(maskedCrc32c(check)).toBe(((((0xe3069283 >>> 15) | (0xe3069283 << 17)) >>> 0) + 0xa282ead8) >>> 0);
    const bytes = encodeEvents([{ wallTime: 1.5, step: 3, scalars: [{ tag: 'a/b', value: 0.25 }] }]);
    expect(decodeEvents(bytes, 'x')).toEqual([{ wallTime: 1.5, step: 3, scalars: [{ tag: 'a/b', value: 0.25 }] }]);
    bytes[bytes.length - 6]! ^= 1;
    expect(() => decodeEvents(bytes, 'x')).toThrow('x: bad data CRC at byte 0');
  });
});
