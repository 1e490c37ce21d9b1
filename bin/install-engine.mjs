#!/usr/bin/env node
// Provisions the native TensorFlow engine for @tensorflow/tfjs-node-gpu without the stock
// installer, which downloads libtensorflow 2.9.1 from a host many machines cannot reach.
// Route: take libtensorflow from the official TensorFlow Python wheel (pip download), then
// compile the tfjs binding against it with node-gyp. Cached and idempotent.
//
// Options: --force (rebuild), --required (fail on errors), --gpu (the CUDA build of TensorFlow
// and its NVIDIA libraries, bin/gpu-wheels.mjs), --dry-run (resolve the wheels, download nothing),
// --engine-dir <dir> (build the engine in a copy of the tfjs-node-gpu package at <dir>, made on
// first use, and leave the project's own package as it is; egtea loads it when
// EGTEA_NATIVE_PACKAGE=<dir>. <dir> must lie inside the project, whose node_modules give the
// copy its dependencies).
// Environment:
//   EGTEA_TF_WHEEL       pip requirement of the wheel (default tensorflow-cpu==2.21.0, or
//                        tensorflow==2.21.0 with --gpu)
//   EGTEA_TF_WHEEL_FILE  a wheel file already on disk (skips pip)
//   EGTEA_CACHE          cache folder (default ~/.cache/egtea)
//   EGTEA_SKIP_ENGINE=1  skip TensorFlow (pure-JS backend only)
//   EGTEA_SKIP_KERNELS=1 skip egtea's own CPU kernels (src/engine/native)
//   PYTHON               python interpreter with pip (default python3)
//   EGTEA_REQUIRE_ENGINE=1  fail (exit 1) instead of warning when something cannot be built
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PATCH_DIGEST, patchBinding } from './binding-patch/apply.mjs';
import { cudaRequirements, provisionNvidia, resolveWheels, WHEEL_TARGET } from './gpu-wheels.mjs';

const DEFAULT_WHEEL = 'tensorflow-cpu==2.21.0';
const GPU_WHEEL = 'tensorflow==2.21.0';
const gpu = process.argv.includes('--gpu');
const dryRun = process.argv.includes('--dry-run');
const python = process.env.PYTHON || 'python3';
const engineDirAt = process.argv.indexOf('--engine-dir');
const engineDir = engineDirAt > 0 ? process.argv[engineDirAt + 1] : undefined;
const NAPI_VERSION = 8;
// 2: the binding carries egtea's patch (bin/binding-patch).
const STAMP_VERSION = 2;
// Headers the binding's c_api.h / eager/c_api.h include, transitively.
const HEADER_PREFIXES = [
  'tensorflow/include/tensorflow/c/',
  'tensorflow/include/tensorflow/core/platform/',
  'tensorflow/include/tsl/',
  'tensorflow/include/xla/tsl/',
  // kernels.h (egtea's TensorFlow ops, src/engine/native/tf_ops.cc) includes the rendezvous API.
  'tensorflow/include/tensorflow/core/common_runtime/next_pluggable_device/c/',
];
const LIBRARIES = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'];
// What an extraction holds: a changed list means extracting again.
const EXTRACTED = JSON.stringify({ headers: HEADER_PREFIXES, libraries: LIBRARIES });

const log = (msg) => process.stderr.write(`[egtea engine] ${msg}\n`);

// `npm install` must not fail because, say, pip is missing: egtea still runs on the pure-JS
// backend and says why. An explicit install (--required, as `egtea engine install` passes)
// or EGTEA_REQUIRE_ENGINE=1 (CI) turns a failure into exit code 1.
const required = process.argv.includes('--required') || process.env.EGTEA_REQUIRE_ENGINE === '1';

function fail(msg) {
  log(`error: ${msg}`);
  log('the pure-JS backend still works (slowly); run `npx egtea engine install` after fixing the cause.');
  process.exit(required ? 1 : 0);
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
  if (result.error) return { ok: false, output: String(result.error.message) };
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function tfjsNodeDir() {
  const require = createRequire(import.meta.url);
  try {
    return path.dirname(require.resolve('@tensorflow/tfjs-node-gpu/package.json'));
  } catch {
    fail('@tensorflow/tfjs-node-gpu is not installed; run npm install first.');
  }
}

/**
 * The tfjs-node-gpu package the engine is built in: the installed one, or with --engine-dir a
 * copy of its sources (not its build) at that folder.
 */
function enginePackageDir() {
  const installed = tfjsNodeDir();
  if (engineDir === undefined) return installed;
  if (!engineDir || engineDir.startsWith('--')) fail('--engine-dir needs a folder');
  const dir = path.resolve(engineDir);
  if (path.resolve(installed) === dir || fs.realpathSync(installed) === dir) return installed;
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0)
      fail(`--engine-dir ${dir}: a folder that holds other things than a tfjs-node-gpu package; choose a new or empty one`);
    const skip = new Set(['build', 'deps', 'lib', 'egtea-engine.json']);
    fs.mkdirSync(dir, { recursive: true });
    for (const entry of fs.readdirSync(installed)) if (!skip.has(entry)) fs.cpSync(path.join(installed, entry), path.join(dir, entry), { recursive: true });
    log(`copied ${installed} to ${dir} (the engine is built there; the installed package stays as it is)`);
  }
  return dir;
}

function bindingLoads(pkgDir) {
  // A child process, so a broken library cannot take this one down.
  const probe = `process.env.TF_CPP_MIN_LOG_LEVEL='3'; const b=require(${JSON.stringify(
    path.join(pkgDir, 'lib', `napi-v${NAPI_VERSION}`, 'tfjs_binding.node'),
  )}); process.stdout.write(String(b.TF_Version));`;
  // Only stdout: TensorFlow prints notices (oneDNN's, for one) on stderr while it loads.
  const result = spawnSync(process.execPath, ['-e', probe], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const version = result.status === 0 ? (result.stdout ?? '').trim() : '';
  return /^\d+\.\d+/.test(version) ? version : null;
}

function nodeHeadersDir() {
  // node-gyp would otherwise download headers; Node installs usually carry them.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const candidates = [process.env.npm_config_nodedir, prefix, '/usr', '/usr/local'].filter(Boolean);
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h')));
}

function nodeGypScript() {
  const require = createRequire(import.meta.url);
  const candidates = [];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  const npmDir = path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  candidates.push(path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((file) => fs.existsSync(file));
}

function obtainWheel(cacheDir, spec) {
  if (process.env.EGTEA_TF_WHEEL_FILE) {
    const file = path.resolve(process.env.EGTEA_TF_WHEEL_FILE);
    if (!fs.existsSync(file)) fail(`EGTEA_TF_WHEEL_FILE=${file} does not exist`);
    return file;
  }
  const wheelDir = path.join(cacheDir, 'wheels', spec.replace(/[^A-Za-z0-9._=-]/g, '_'));
  const existing = fs.existsSync(wheelDir) ? fs.readdirSync(wheelDir).filter((f) => f.endsWith('.whl')) : [];
  if (existing.length > 0) return path.join(wheelDir, existing[0]);
  fs.mkdirSync(wheelDir, { recursive: true });
  log(`downloading the TensorFlow wheel (${spec}) with pip; about ${gpu ? 570 : 270} MB, once`);
  // The wheel for a fixed Python and platform: its libraries serve any local Python.
  const result = run(python, ['-m', 'pip', 'download', '--no-deps', ...WHEEL_TARGET, '-d', wheelDir, spec]);
  if (!result.ok) fail(`pip download ${spec} failed:\n${result.output.slice(-2000)}`);
  const wheels = fs.readdirSync(wheelDir).filter((f) => f.endsWith('.whl'));
  if (wheels.length === 0) fail(`pip download ${spec} produced no wheel in ${wheelDir}`);
  return path.join(wheelDir, wheels[0]);
}

function extractWheel(wheel, libDir) {
  const done = path.join(libDir, '.complete');
  if (fs.existsSync(done) && fs.readFileSync(done, 'utf8') === EXTRACTED) return;
  log(`extracting libtensorflow and its C headers from ${path.basename(wheel)}`);
  const tmp = `${libDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  // Python's zipfile: pip implies Python, and unzip may be absent.
  const script = `
import sys, zipfile
wheel, out, prefixes, libs = sys.argv[1], sys.argv[2], sys.argv[3].split(','), sys.argv[4].split(',')
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n in libs or any(n.startswith(p) for p in prefixes)]
    missing = [l for l in libs if l not in names]
    if missing:
        sys.exit('the wheel lacks ' + ', '.join(missing))
    for n in names:
        z.extract(n, out)
`;
  const result = run(python, ['-c', script, wheel, tmp, HEADER_PREFIXES.join(','), LIBRARIES.join(',')]);
  if (!result.ok) fail(`extracting ${wheel} failed: ${result.output.slice(-2000)}`);
  if (fs.existsSync(done)) {
    // An older extraction: add what it lacks and leave its libraries in place, since other
    // installs (worktrees, checkouts) may be running on them.
    fs.cpSync(path.join(tmp, 'tensorflow', 'include'), path.join(libDir, 'include'), { recursive: true, force: false });
  } else {
    fs.rmSync(libDir, { recursive: true, force: true });
    fs.renameSync(path.join(tmp, 'tensorflow'), libDir);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.writeFileSync(done, EXTRACTED);
}

function linkDeps(pkgDir, libDir) {
  const deps = path.join(pkgDir, 'deps');
  fs.rmSync(deps, { recursive: true, force: true });
  fs.mkdirSync(path.join(deps, 'lib'), { recursive: true });
  fs.symlinkSync(path.join(libDir, 'include'), path.join(deps, 'include'));
  const lib = path.join(deps, 'lib');
  for (const name of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
    fs.symlinkSync(path.join(libDir, name), path.join(lib, name));
  }
  // binding.gyp links -ltensorflow -ltensorflow_framework; the sonames stay *_cc.so.2.
  fs.symlinkSync('libtensorflow_cc.so.2', path.join(lib, 'libtensorflow.so'));
  fs.symlinkSync('libtensorflow_framework.so.2', path.join(lib, 'libtensorflow_framework.so'));
}

function buildBinding(pkgDir) {
  const nodedir = nodeHeadersDir();
  if (!nodedir) fail('Node.js headers (include/node/node_api.h) were not found; set npm_config_nodedir to a Node source or headers folder.');
  const gyp = nodeGypScript();
  if (!gyp) fail('node-gyp was not found (it ships with npm); install it with npm install -g node-gyp.');
  try {
    if (patchBinding(pkgDir)) log('patched the binding source (functions, graph defs, collectives)');
  } catch (error) {
    fail(error.message);
  }
  log('compiling the tfjs binding against it (node-gyp, about a minute)');
  const buildDir = path.join(pkgDir, 'build');
  const result = run(
    process.execPath,
    [
      gyp,
      'rebuild',
      `--nodedir=${nodedir}`,
      `--napi_build_version=${NAPI_VERSION}`,
      '--module_name=tfjs_binding',
      `--module_path=${path.join(buildDir, 'out')}`,
    ],
    { cwd: pkgDir, env: { ...process.env, JOBS: String(os.availableParallelism()) } },
  );
  if (!result.ok) fail(`node-gyp failed:\n${result.output.slice(-3000)}`);
  const target = path.join(pkgDir, 'lib', `napi-v${NAPI_VERSION}`);
  fs.mkdirSync(target, { recursive: true });
  fs.copyFileSync(path.join(buildDir, 'Release', 'tfjs_binding.node'), path.join(target, 'tfjs_binding.node'));
}

// egtea's own CPU kernels (grouped conv3d, fused batch norm): rebuilt when their sources change.
// With libtensorflow (libDir) they are also built as TensorFlow ops (egtea_tf_ops.node).
function buildKernels(force, libDir) {
  if (process.env.EGTEA_SKIP_KERNELS === '1') {
    log('EGTEA_SKIP_KERNELS=1: skipping egtea kernels');
    return;
  }
  const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'src', 'engine', 'native');
  const sources = fs
    .readdirSync(dir)
    .filter((f) => /\.(cc|h|gyp)$/.test(f))
    .sort();
  const hash = createHash('sha256');
  for (const file of sources) hash.update(file).update(fs.readFileSync(path.join(dir, file)));
  const digest = `${hash.digest('hex')}/${process.versions.modules}/${libDir ?? 'no TensorFlow'}`;
  const stampFile = path.join(dir, 'build', 'egtea-kernels.stamp');
  const addon = path.join(dir, 'build', 'Release', 'egtea_kernels.node');
  if (!force && fs.existsSync(addon) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === digest) {
    log('egtea kernels ready (cached)');
    return;
  }
  const nodedir = nodeHeadersDir();
  const gyp = nodeGypScript();
  if (!nodedir || !gyp) fail('building egtea kernels needs Node.js headers and node-gyp (see above)');
  // The JPEG clip loader needs libjpeg(-turbo)'s headers; without them the loader uses sharp.
  const jpeg = run(process.env.CC || 'cc', ['-E', '-x', 'c', '-'], { input: '#include <stdio.h>\n#include <jpeglib.h>\n' }).ok;
  log(`compiling egtea kernels (grouped conv3d, fused batch norm, warp${jpeg ? ', JPEG clip loader' : '; no jpeglib.h, so no JPEG clip loader'})`);
  const args = [gyp, 'rebuild', `--nodedir=${nodedir}`, `--egtea_jpeg=${jpeg ? 1 : 0}`, ...(libDir ? [`--egtea_tf=${libDir}`] : [])];
  const result = run(process.execPath, args, { cwd: dir, env: { ...process.env, JOBS: String(os.availableParallelism()) } });
  if (!result.ok) fail(`node-gyp failed for egtea kernels:\n${result.output.slice(-3000)}`);
  fs.writeFileSync(stampFile, digest);
  log('egtea kernels ready');
}

/** Prints what an install would fetch (pip resolves from metadata alone) and downloads nothing. */
function dryRunPlan(spec) {
  const tensorflow = resolveWheels(python, [spec]);
  if (tensorflow.error) fail(tensorflow.error);
  const plan = { tensorflow: tensorflow.wheels[0], nvidia: [] };
  if (gpu) {
    const requirements = cudaRequirements(plan.tensorflow.requiresDist);
    if (requirements.length === 0) fail(`${spec} names no NVIDIA libraries in its and-cuda extra; is it the CUDA build?`);
    const nvidia = resolveWheels(python, requirements);
    if (nvidia.error) fail(nvidia.error);
    plan.nvidia = nvidia.wheels;
  }
  const brief = (w) => ({ name: w.name, version: w.version, url: w.url });
  process.stdout.write(`${JSON.stringify({ tensorflow: brief(plan.tensorflow), nvidia: plan.nvidia.map(brief) }, null, 2)}\n`);
}

function main() {
  const force = process.argv.includes('--force');
  if (dryRun) {
    dryRunPlan(process.env.EGTEA_TF_WHEEL || (gpu ? GPU_WHEEL : DEFAULT_WHEEL));
    return;
  }
  // The engine first: egtea's kernels are also built as TensorFlow ops against its libtensorflow.
  const libDir = installEngine(force);
  if (engineDir === undefined) {
    buildKernels(force, libDir);
  } else {
    // The project's kernels serve every engine of one TensorFlow version: their TensorFlow ops
    // bind, by soname, to the libtensorflow the engine loaded first.
    log(`egtea kernels: the project's own build; load this engine with EGTEA_NATIVE_PACKAGE=${path.resolve(engineDir)}`);
  }
}

/** Installs the native engine; returns the folder of its libtensorflow, or null without one. */
function installEngine(force) {
  if (process.env.EGTEA_SKIP_ENGINE === '1') {
    log('EGTEA_SKIP_ENGINE=1: skipping the native engine');
    return null;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    log(`no wheel route for ${process.platform}-${process.arch} yet; falling back to the stock tfjs-node installer is up to you`);
    return null;
  }
  const spec = process.env.EGTEA_TF_WHEEL || (gpu ? GPU_WHEEL : DEFAULT_WHEEL);
  const cacheDir = process.env.EGTEA_CACHE || path.join(os.homedir(), '.cache', 'egtea');
  const pkgDir = enginePackageDir();
  const stampFile = path.join(pkgDir, 'egtea-engine.json');
  const wanted = { stampVersion: STAMP_VERSION, wheel: process.env.EGTEA_TF_WHEEL_FILE || spec, gpu, node: process.versions.modules, patch: PATCH_DIGEST };
  if (!force && fs.existsSync(stampFile)) {
    const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
    const same =
      stamp.stampVersion === wanted.stampVersion &&
      stamp.wheel === wanted.wheel &&
      Boolean(stamp.gpu) === gpu &&
      stamp.node === wanted.node &&
      stamp.patch === wanted.patch;
    const version = same ? bindingLoads(pkgDir) : null;
    if (version) {
      // An older install may lack headers egtea's TensorFlow ops need: extract them again.
      extractWheel(obtainWheel(cacheDir, spec), stamp.libDir);
      log(`native engine ready: TensorFlow ${version} (${stamp.wheel}, cached)`);
      return stamp.libDir;
    }
  }
  const wheel = obtainWheel(cacheDir, spec);
  const libDir = path.join(cacheDir, 'libtensorflow', path.basename(wheel, '.whl'));
  extractWheel(wheel, libDir);
  const gpuLibraries = gpu ? nvidiaLibrariesFor(wheel, cacheDir) : [];
  linkDeps(pkgDir, libDir);
  buildBinding(pkgDir);
  const version = bindingLoads(pkgDir);
  if (!version) fail('the binding was built but does not load; see the output above');
  // gpuLibraries: what src/engine/backend.ts preloads before TensorFlow looks for CUDA.
  fs.writeFileSync(stampFile, JSON.stringify({ ...wanted, tensorflow: version, libDir, gpuLibraries, builtAt: new Date().toISOString() }, null, 2));
  log(`native engine ready: TensorFlow ${version} (${wanted.wheel})`);
  return libDir;
}

/** The NVIDIA libraries the CUDA wheel names, downloaded and extracted into the cache once. */
function nvidiaLibrariesFor(wheel, cacheDir) {
  const script = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = [n for n in z.namelist() if n.endswith('.dist-info/METADATA')][0]
    print('\\n'.join(l[len('Requires-Dist: '):] for l in z.read(meta).decode().splitlines() if l.startswith('Requires-Dist: ')))
`;
  const result = spawnSync(python, ['-c', script, wheel], { encoding: 'utf8' });
  if (result.status !== 0) fail(`reading ${path.basename(wheel)}'s requirements failed: ${result.stderr}`);
  const requirements = cudaRequirements(result.stdout.split('\n'));
  if (requirements.length === 0)
    fail(`${path.basename(wheel)} names no NVIDIA libraries in its and-cuda extra; is it the CUDA build (tensorflow, not tensorflow-cpu)?`);
  const provisioned = provisionNvidia(python, requirements, path.join(cacheDir, 'nvidia', path.basename(wheel, '.whl')), log);
  if (provisioned.error) fail(provisioned.error);
  log(`${provisioned.libraries.length} NVIDIA libraries ready (preloaded by egtea when the engine loads)`);
  return provisioned.libraries;
}

main();
