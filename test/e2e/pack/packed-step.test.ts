import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runNode } from '../../distributed/spawn-workers.js';

type Weights = Record<string, number[]>[];

async function train(args: string[], threads: number): Promise<Weights> {
  const env = {
    TF_NUM_INTRAOP_THREADS: String(threads),
    TF_NUM_INTEROP_THREADS: String(threads),
    OMP_NUM_THREADS: String(threads),
    EGTEA_KERNEL_THREADS: String(threads),
  };
  const run = await runNode(['--import', 'tsx', path.join(REPO, 'test', 'pack', 'packed-cells.ts'), ...args], env);
  if (run.code !== 0) throw new Error(`packed-cells.ts ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Weights;
}

function largestDifference(a: Record<string, number[]>, b: Record<string, number[]>): number {
  let largest = 0;
  for (const [name, values] of Object.entries(a)) values.forEach((v, i) => (largest = Math.max(largest, Math.abs(v - b[name]![i]!))));
  return largest;
}

describe('packed training step', () => {
  it('trains each cell as it trains alone, within the noise of another thread count', async () => {
    const packed = await train(['packed'], 2);
    expect(packed.length).toBe(3);
    for (const index of packed.keys()) {
      const [alone] = await train(['alone', String(index)], 2);
      const [otherThreads] = await train(['alone', String(index)], 1);
      const noise = largestDifference(alone!, otherThreads!);
      const difference = largestDifference(packed[index]!, alone!);
      // The steps moved the weights, so equal weights mean the cell really trained in the pack.
      expect(Object.keys(packed[index]!)).toEqual(Object.keys(alone!));
      expect(difference, `cell ${index} (ce, cdb, ldam): packed vs alone ${difference}, alone with 1 vs 2 threads ${noise}`).toBeLessThanOrEqual(noise);
    }
  }, 240_000);
});
