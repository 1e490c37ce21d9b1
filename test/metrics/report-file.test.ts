import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClassResults } from '../../src/metrics/report-file.js';

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-report-file-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('readClassResults', () => {
  it('reads per-class accuracies, null for a class without samples', async () => {
    const file = path.join(work, 'ok.json');
    await fs.writeFile(
      file,
      JSON.stringify({
        perClass: [
          { name: 'a', support: 2, accuracy: 0.5 },
          { name: 'b', support: 0, accuracy: null },
        ],
      }),
    );
    expect((await readClassResults(file)).map((c) => c.accuracy)).toEqual([0.5, null]);
  });

  it('refuses a report in which no class has an accuracy, and an accuracy outside [0, 1]', async () => {
    const empty = path.join(work, 'empty.json');
    await fs.writeFile(empty, JSON.stringify({ perClass: [{ accuracy: null }, { accuracy: null }] }));
    await expect(readClassResults(empty)).rejects.toThrow(`${empty}: no class has an accuracy (every class had no samples); evaluate on a split with samples`);
    const wrong = path.join(work, 'wrong.json');
    await fs.writeFile(wrong, JSON.stringify({ perClass: [{ accuracy: 1.5 }] }));
    await expect(readClassResults(wrong)).rejects.toThrow(`${wrong}: perClass[0].accuracy is 1.5, not a number in [0, 1] or null`);
  });
});
