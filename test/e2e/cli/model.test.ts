import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { readPth } from '../../../src/io/pth.js';
import { FIXTURES } from '../../helpers.js';
import { parseSafetensors, encodeSafetensors } from '../../../src/io/safetensors.js';
import { exportReferenceCase, referenceAvailable } from '../../reference.js';
import { egtea } from '../../support/run-cli.js';

describe('egtea model', () => {
  it('info: parameters, output shape and MACs per clip', () => {
    const run = egtea(['model', 'info', '--arch', 'lenet5', '--classes', '10', '--json']);
    expect(run.code).toBe(0);
    // conv1 24*24*6*25 + conv2 8*8*16*150 + fc 256*120 + 120*84 + 84*10
    expect(JSON.parse(run.stdout)).toMatchObject({ parameters: 44_426, output: [1, 10], macsPerClip: 86_400 + 153_600 + 30_720 + 10_080 + 840 });
    expect(egtea(['model', 'info', '--arch', 'alexnet', '--classes', '3']).code).toBe(2);
  });

  it.skipIf(!referenceAvailable())('check: a converted checkpoint against its reference case; a wrong file is named with its tensor', () => {
    const dir = exportReferenceCase(['--layers', '1,1,1,1', '--T', '2', '--S', '32', '--classes', '4', '--seed', '9']);
    const weights = path.join(dir, 'weights.safetensors');
    const reference = path.join(dir, 'case.safetensors');
    const good = egtea(['model', 'check', '--arch', 'resnext3d-101', '--blocks', '1,1,1,1', '--init', weights, '--case', reference, '--json']);
    expect(good.code).toBe(0);
    const result = JSON.parse(good.stdout);
    // stem conv + BN (5), four blocks of 3 convs, 3 BNs and a shortcut conv + BN (20 each), fc (2)
    expect(result.tensorsLoaded).toBe(87);
    expect(result.maxRelDiff).toBeLessThan(1e-4);
    const missing = egtea(['model', 'check', '--arch', 'resnext3d-50', '--init', weights, '--case', reference]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/weights\.safetensors: missing tensor 'layer1\.1\.conv1\.weight'/);
    const tensors = parseSafetensors(fs.readFileSync(weights), 'w');
    tensors.set('fc.bias', { shape: [5], data: new Float32Array(5) });
    const broken = path.join(dir, 'broken.safetensors');
    fs.writeFileSync(broken, encodeSafetensors(tensors));
    const bad = egtea(['model', 'check', '--arch', 'resnext3d-101', '--blocks', '1,1,1,1', '--init', broken, '--case', reference]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(`egtea: ${broken}: tensor 'fc.bias' has shape [5]; the model needs [4]`);
  });

  it('convert: a DataParallel checkpoint to safetensors, with what fits the architecture and what the class count does to the head', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-convert-'));
    try {
      const file = path.join(FIXTURES, 'pth_tiny_dp.pth');
      const out = path.join(work, 'tiny.safetensors');
      const run = egtea(['model', 'convert', file, '--out', out, '--arch', 'resnext3d-tiny', '--classes', '19', '--json']);
      expect(run.code, run.stderr).toBe(0);
      const document = JSON.parse(run.stdout);
      // 87 model tensors: 85 fit, the 25-class head does not; the file's 20 BN num_batches_tracked are not parameters.
      expect(document.tensors).toBe(104);
      expect(document.match).toMatchObject({ classes: 19, fileClasses: 25, missing: [], extra: [], mismatched: [] });
      expect(document.match.matched).toHaveLength(85);
      expect(document.match.head).toEqual([
        { name: 'fc.weight', file: [25, 512], model: [19, 512] },
        { name: 'fc.bias', file: [25], model: [19] },
      ]);
      const written = parseSafetensors(fs.readFileSync(out), out);
      const read = await readPth(file);
      expect([...written.keys()]).toEqual([...read.keys()]);
      expect(Array.from(written.get('layer3.0.conv2.weight')!.data)).toEqual(Array.from(read.get('layer3.0.conv2.weight')!.data));
      const text = egtea(['model', 'convert', file, '--out', out, '--arch', 'resnext3d-tiny', '--classes', '19']);
      expect(text.stdout).toContain('are for 25 classes; train --init gives the model a fresh head of 19 classes');
      // Another architecture: everything missing or extra, and said so.
      const other = JSON.parse(
        egtea(['model', 'convert', path.join(FIXTURES, 'pth_lenet5.pth'), '--out', out, '--arch', 'resnext3d-tiny', '--classes', '19', '--json']).stdout,
      );
      expect(other.match.matched).toEqual([]);
      expect(other.match.mismatched).toEqual([{ name: 'conv1.weight', file: [6, 1, 5, 5], model: [16, 3, 3, 7, 7] }]);
      expect(other.match.extra).toHaveLength(9);
      expect(other.match.missing).toHaveLength(86);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
