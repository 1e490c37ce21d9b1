import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * The layers of src/ and pipelines/, top to bottom: a file may import its own layer and the
 * layers below it, never one above. src/README.md says what each layer is, in this order.
 * A layer is a folder of src/ (with its subfolders), `index` is src/index.ts (the library's entry)
 * and `pipelines` the built-in recipes in pipelines/.
 */
const LAYERS = [
  'cli',
  'index',
  'bench',
  'report',
  'pack',
  'sweep',
  'eval',
  'train',
  'distributed',
  'run',
  'metrics',
  'pipelines',
  'config',
  'losses',
  'models',
  'video',
  'data',
  'engine',
  'io',
  'util',
] as const;

/** Every .ts file under a folder of the checkout (relative, with '/'), leaving out native builds. */
function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .filter((file) => !file.includes('/build/') && !file.includes('/node_modules/'));
}

/** The checkout's own files a source file imports (static imports, re-exports, literal dynamic imports; types count). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(file), s.replace(/\.js$/, '.ts'))));
}

function layerOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'pipelines') return 'pipelines';
  return parts.length === 2 ? path.basename(file, '.ts') : parts[1]!;
}

const files = [...sourceFiles('src'), ...sourceFiles('pipelines')];
const graph = new Map(files.map((file) => [file, importsOf(file)]));

/** Groups of files that import each other, directly or through others (Tarjan's strongly connected components). */
function circles(): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string) => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) === index.get(file)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== file);
      if (group.length > 1 || graph.get(file)!.includes(file)) found.push(group.sort());
    }
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return found;
}

describe('the import structure of src/ and pipelines/', () => {
  it('reads the imports (a parser that finds nothing would pass everything)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get('src/train/trainer.ts')).toContain('src/train/step.ts');
    expect(graph.get('src/index.ts')!.length).toBeGreaterThan(10);
  });

  it('every import names a file that exists', () => {
    const missing = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => !graph.has(t) && !fs.existsSync(path.join(ROOT, t))).map((t) => `${file} -> ${t}`),
    );
    expect(missing).toEqual([]);
  });

  it('has no circles: no files that import each other, directly or through others', () => {
    expect(circles()).toEqual([]);
  });

  it('every file lies in a layer of the table', () => {
    const unknown = [...new Set(files.map(layerOf))].filter((layer) => !(LAYERS as readonly string[]).includes(layer));
    expect(unknown, 'add the folder to LAYERS (and to src/README.md)').toEqual([]);
  });

  it('imports only run down the layers (or within one)', () => {
    const rank = (file: string) => (LAYERS as readonly string[]).indexOf(layerOf(file));
    const upward = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => graph.has(t) && rank(t) < rank(file)).map((t) => `${layerOf(file)} -> ${layerOf(t)}: ${file} -> ${t}`),
    );
    expect(upward).toEqual([]);
  });

  it('src/README.md lists the layers of the table, in its order', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'src', 'README.md'), 'utf8');
    const listed = [...readme.matchAll(/^- `([a-z]+)`/gm)].map((m) => m[1]);
    expect(listed).toEqual([...LAYERS]);
  });
});
