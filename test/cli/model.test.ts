import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { exportReferenceCase, referenceAvailable } from '../reference.js';
import { egtea } from './run-cli.js';

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
});
