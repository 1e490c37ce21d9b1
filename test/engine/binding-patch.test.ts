import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the install scripts, without types
import { PATCH_MARKER, patchBinding } from '../../bin/binding-patch/apply.mjs';

const FILES = ['tfjs_backend.h', 'tfjs_backend.cc', 'tfjs_binding.cc'];
const stockDir = path.join(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu/package.json')), 'binding');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-binding-patch-'));

/** A package folder holding the stock binding sources (kept beside the patched ones at install). */
function stockPackage(name: string): string {
  const dir = path.join(work, name, 'binding');
  fs.mkdirSync(dir, { recursive: true });
  for (const file of FILES) {
    const kept = path.join(stockDir, `${file}.egtea-stock`);
    fs.copyFileSync(fs.existsSync(kept) ? kept : path.join(stockDir, file), path.join(dir, file));
  }
  return path.dirname(dir);
}

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('the tfjs binding patch', () => {
  it('adds loadGraphDef and opDef once, keeps the stock text beside it, and does nothing the second time', () => {
    const pkg = stockPackage('fresh');
    expect(patchBinding(pkg)).toBe(true);
    const read = (file: string) => fs.readFileSync(path.join(pkg, 'binding', file), 'utf8');
    for (const file of FILES) {
      expect(read(file).startsWith(PATCH_MARKER)).toBe(true);
      expect(fs.existsSync(path.join(pkg, 'binding', `${file}.egtea-stock`))).toBe(true);
    }
    expect(read('tfjs_backend.h').match(/napi_value LoadGraphDef\(/g)).toHaveLength(1);
    expect(read('tfjs_backend.cc').match(/napi_value TFJSBackend::OpDef\(/g)).toHaveLength(1);
    expect(read('tfjs_binding.cc').match(/\{"loadGraphDef", nullptr, LoadGraphDef/g)).toHaveLength(1);
    const once = FILES.map(read);
    expect(patchBinding(pkg)).toBe(false);
    expect(FILES.map(read)).toEqual(once);
  });

  it('refuses a source whose anchor text has moved, naming the file', () => {
    const pkg = stockPackage('moved');
    const file = path.join(pkg, 'binding', 'tfjs_binding.cc');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('static napi_value RunSavedModel(', 'static napi_value RunSavedModelRenamed('));
    expect(() => patchBinding(pkg)).toThrow(/tfjs_binding\.cc does not contain the expected text/);
  });
});
