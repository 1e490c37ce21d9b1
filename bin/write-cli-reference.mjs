#!/usr/bin/env node
// npm run docs:cli: rewrites the generated part of docs/cli.md (below its marker line) from the
// built command's --help. `npm run docs:cli` builds dist/ first; test/docs/cli-reference.test.ts
// fails while the page and the commands differ.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const page = path.join(root, 'docs', 'cli.md');
const dist = (file) => pathToFileURL(path.join(root, 'dist', 'src', 'cli', file)).href;
const { buildProgram } = await import(dist('main.js'));
const { cliReferenceMarkdown, GENERATED_MARKER } = await import(dist('help-reference.js'));

const text = fs.readFileSync(page, 'utf8');
const at = text.indexOf(GENERATED_MARKER);
if (at < 0) {
  process.stderr.write(`${page} has no line ${GENERATED_MARKER}: put it where the generated reference starts\n`);
  process.exit(1);
}
fs.writeFileSync(page, text.slice(0, at) + cliReferenceMarkdown(buildProgram()));
process.stderr.write(`wrote ${path.relative(process.cwd(), page)}\n`);
