// Packs egtea, installs the tarball into a fresh folder the way docs/library.md's "Install"
// section says, and runs that page's example there, importing the package by name.
// Run: npm run test:package   (about 3 minutes: the install compiles the tfjs binding and
// egtea's kernels; the TensorFlow wheel comes from EGTEA_CACHE). --keep leaves the folder.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docBlock, REPO_ROOT } from '../../support/docs.js';

const PAGE = 'docs/library.md';
const keep = process.argv.includes('--keep');

function run(command: string, args: string[], options: SpawnSyncOptions & { cwd: string }): string {
  process.stderr.write(`[pack-install] ${options.cwd}$ ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
  const stdout = String(result.stdout ?? '');
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal}):\n${stdout.slice(-3000)}`);
  return stdout;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-pack-'));
try {
  // npm pack runs prepack, which builds dist/ afresh; --json names the tarball.
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO_ROOT })) as {
    filename: string;
    files: { path: string }[];
  }[];
  const tarball = path.join(work, packed[0]!.filename);
  const shipped = new Set(packed[0]!.files.map((f) => f.path));
  for (const needed of ['dist/src/index.js', 'dist/pipelines/index.js', 'src/engine/native/binding.gyp', 'bin/install-engine.mjs', 'bin/build-dist.mjs']) {
    check(shipped.has(needed), `the tarball lacks ${needed}`);
  }
  check(
    ![...shipped].some((f) => f.startsWith('src/engine/native/build/') || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
    'the tarball ships build output or TypeScript sources',
  );

  const project = path.join(work, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'egtea-consumer', version: '1.0.0', private: true }, null, 2));
  // The page's install commands, as written, with this tarball's path.
  const install = docBlock(PAGE, '## Install', 'sh').replace(/\S*egtea-[\w.-]+\.tgz/g, JSON.stringify(tarball));
  check(install.includes(tarball), `the install block of ${PAGE} names no egtea-<version>.tgz`);
  // EGTEA_REQUIRE_ENGINE: a native engine or kernel that fails to build fails this test.
  run('sh', ['-euc', install], { cwd: project, env: { ...process.env, EGTEA_REQUIRE_ENGINE: '1' }, stdio: ['ignore', 'inherit', 'inherit'] });

  const installed = path.join(project, 'node_modules', 'egtea');
  check(fs.existsSync(path.join(installed, 'src', 'engine', 'native', 'build', 'Release', 'egtea_kernels.node')), 'the install did not build egtea kernels');
  const engine = JSON.parse(run('npx', ['egtea', 'engine', '--json'], { cwd: project })) as { backend?: string };
  check(engine.backend === 'tensorflow', `the installed egtea runs on '${engine.backend}', not native TensorFlow`);

  fs.writeFileSync(path.join(project, 'example.mjs'), docBlock(PAGE, '## A training step of your own', 'js'));
  const output = run(process.execPath, ['example.mjs'], { cwd: project });
  process.stdout.write(output);
  const loss = Number(/^loss (\S+)$/m.exec(output)?.[1]);
  check(Number.isFinite(loss) && loss > 0, `the example printed no positive finite loss:\n${output}`);
  const tau = Number(/^tau (\S+) weights/m.exec(output)?.[1]);
  check(tau >= 2 / (1 + Math.E) && tau < 2, `the example printed no dynamic tau in [2/(1+e), 2):\n${output}`);

  const pipelines = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import { PIPELINES } from 'egtea/pipelines'; import synth from 'egtea/pipelines/synth'; console.log(Object.keys(PIPELINES).join(','), synth.model.arch)",
    ],
    { cwd: project },
  );
  check(/\bsynth\b/.test(pipelines) && pipelines.trim().endsWith('resnext3d-tiny'), `the built-in pipelines do not import by name: ${pipelines}`);
  process.stderr.write(`[pack-install] ok: ${path.basename(tarball)} installs, builds its engine and runs the library example of ${PAGE}\n`);
} finally {
  if (keep) process.stderr.write(`[pack-install] kept ${work}\n`);
  else fs.rmSync(work, { recursive: true, force: true });
}
