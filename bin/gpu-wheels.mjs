// The CUDA build of TensorFlow and the NVIDIA libraries it loads, from their Python wheels, for
// `egtea engine install --gpu` (bin/install-engine.mjs). The wheels' shared libraries do not
// depend on the Python version, so pip is asked for one fixed Python's wheels whatever Python
// runs it. TensorFlow names the NVIDIA packages in its "and-cuda" extra; egtea extracts their
// lib/ folders into its cache and the binding preloads them (src/engine/backend.ts), so
// TensorFlow finds them without LD_LIBRARY_PATH.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

// pip does not widen a manylinux_2_X platform to older ones by itself: each is named.
const PLATFORMS = ['manylinux_2_27_x86_64', 'manylinux_2_24_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64'];

/** The Python and platforms pip resolves wheels for (TensorFlow 2.21 publishes cp311 manylinux_2_27). */
export const WHEEL_TARGET = ['--only-binary=:all:', '--python-version', '3.11', '--implementation', 'cp', ...PLATFORMS.flatMap((p) => ['--platform', p])];

/** The NVIDIA requirements of TensorFlow's "and-cuda" extra, from its Requires-Dist lines. */
export function cudaRequirements(requiresDist) {
  return requiresDist
    .map((line) => /^(nvidia-[A-Za-z0-9_.-]+)\s*([^;]*);\s*extra\s*==\s*["']and-cuda["']/.exec(line.trim()))
    .filter((m) => m !== null)
    .map((m) => `${m[1]}${m[2].trim()}`);
}

/** Lib files of an extracted NVIDIA wheel tree: nvidia/<package>/lib/*.so* (not the stubs). */
export function nvidiaLibraries(root) {
  const nvidia = path.join(root, 'nvidia');
  if (!fs.existsSync(nvidia)) return [];
  const files = [];
  for (const pkg of fs.readdirSync(nvidia).sort()) {
    const lib = path.join(nvidia, pkg, 'lib');
    if (!fs.existsSync(lib)) continue;
    for (const file of fs.readdirSync(lib).sort()) if (/\.so(\.\d+)*$/.test(file)) files.push(path.join(lib, file));
  }
  return files;
}

/**
 * What pip would fetch for `requirements` (no download: PyPI serves the metadata alone), as
 * [{ name, version, url, requiresDist }], or an error message.
 */
export function resolveWheels(python, requirements) {
  const report = path.join(fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR || '/tmp'), 'egtea-pip-')), 'report.json');
  const target = path.join(path.dirname(report), 'target');
  const args = [
    '-m',
    'pip',
    'install',
    '--dry-run',
    '--ignore-installed',
    '--no-deps',
    ...WHEEL_TARGET,
    '--target',
    target,
    '--quiet',
    '--report',
    report,
    ...requirements,
  ];
  const result = spawnSync(python, args, { encoding: 'utf8' });
  try {
    if (result.status !== 0)
      return {
        error: `pip could not resolve ${requirements.join(' ')}: ${(result.stderr || result.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`,
      };
    const parsed = JSON.parse(fs.readFileSync(report, 'utf8'));
    return {
      wheels: parsed.install.map((item) => ({
        name: item.metadata.name,
        version: item.metadata.version,
        url: item.download_info.url,
        requiresDist: item.metadata.requires_dist ?? [],
      })),
    };
  } finally {
    fs.rmSync(path.dirname(report), { recursive: true, force: true });
  }
}

/** Downloads (once) and extracts the NVIDIA wheels into `dir`; returns their libraries, or an error. */
export function provisionNvidia(python, requirements, dir, log) {
  const done = path.join(dir, '.complete');
  const wanted = JSON.stringify(requirements);
  if (fs.existsSync(done) && fs.readFileSync(done, 'utf8') === wanted) return { libraries: nvidiaLibraries(dir) };
  const wheels = path.join(dir, 'wheels');
  fs.mkdirSync(wheels, { recursive: true });
  log(`downloading the NVIDIA libraries TensorFlow loads (${requirements.length} wheels, several GB, once)`);
  const download = spawnSync(python, ['-m', 'pip', 'download', '--no-deps', ...WHEEL_TARGET, '-d', wheels, ...requirements], { encoding: 'utf8' });
  if (download.status !== 0) return { error: `pip download of the NVIDIA wheels failed: ${(download.stderr || '').trim().split('\n').slice(-3).join(' | ')}` };
  const script = `
import sys, zipfile, os
out = sys.argv[1]
for wheel in sys.argv[2:]:
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            parts = n.split('/')
            if len(parts) >= 4 and parts[0] == 'nvidia' and parts[2] == 'lib' and '.so' in parts[-1]:
                z.extract(n, out)
`;
  const files = fs
    .readdirSync(wheels)
    .filter((f) => f.endsWith('.whl'))
    .map((f) => path.join(wheels, f));
  const extract = spawnSync(python, ['-c', script, dir, ...files], { encoding: 'utf8' });
  if (extract.status !== 0) return { error: `extracting the NVIDIA wheels failed: ${extract.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  // The wheels themselves are no longer needed: their libraries are.
  fs.rmSync(wheels, { recursive: true, force: true });
  fs.writeFileSync(done, wanted);
  return { libraries: nvidiaLibraries(dir) };
}
