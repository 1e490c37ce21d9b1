#!/usr/bin/env node
// Builds dist/ (the compiled TypeScript) for the two ways egtea is installed:
//   --clean        before `npm pack`: a fresh dist/, so no file of an older build is shipped.
//   --if-checkout  after `npm install`: in a checkout (tsconfig.json present, TypeScript among
//                  the dev dependencies) compile; in an installed package dist/ came built in
//                  the tarball and TypeScript is not there, so only check that dist/ is whole.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'dist', 'src', 'index.js');
const log = (msg) => process.stderr.write(`[egtea build] ${msg}\n`);

function compile() {
  let tsc;
  try {
    const require = createRequire(path.join(root, 'package.json'));
    tsc = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  } catch {
    log('TypeScript is not installed: run `npm install` in the egtea folder (it is a dev dependency).');
    process.exit(1);
  }
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
  if (result.status !== 0) {
    log('tsc failed (see above); dist/ is incomplete.');
    process.exit(1);
  }
}

const clean = process.argv.includes('--clean');
const ifCheckout = process.argv.includes('--if-checkout');
if (ifCheckout && !fs.existsSync(path.join(root, 'tsconfig.json'))) {
  if (!fs.existsSync(entry)) {
    log(`${entry} is missing: this egtea package was packed without its build; pack it again with \`npm pack\` (its prepack step builds dist/).`);
    process.exit(1);
  }
  process.exit(0);
}
if (clean) fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
compile();
