import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/docs.js';

// The e2e project builds dist/ first: this is the help of the built `egtea` command, the same
// modules bin/egtea runs, rendered as `npm run docs:cli` renders it.
describe("docs/cli.md and the built command's --help", () => {
  it('agree (after changing a command: npm run docs:cli)', async () => {
    const dist = (file: string) => pathToFileURL(path.join(REPO_ROOT, 'dist', 'src', 'cli', file)).href;
    const { buildProgram } = (await import(dist('main.js'))) as typeof import('../../../src/cli/main.js');
    const { cliReferenceMarkdown, GENERATED_MARKER } = (await import(dist('help-reference.js'))) as typeof import('../../../src/cli/help-reference.js');
    const page = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
    expect(page.slice(page.indexOf(GENERATED_MARKER)), 'run `npm run docs:cli`').toBe(cliReferenceMarkdown(buildProgram()));
  });
});
