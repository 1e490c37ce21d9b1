import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliReferenceMarkdown, commandHelps, GENERATED_MARKER } from '../../src/cli/help-reference.js';
import { buildProgram } from '../../src/cli/main.js';
import { REPO_ROOT } from '../support/docs.js';

// Runs what docs/contributing.md's `npm run docs:cli` block would write, and holds docs/cli.md to it.
/** docs/cli.md from its marker line on: the part `npm run docs:cli` writes. */
function generatedPart(): string {
  const page = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
  const at = page.indexOf(GENERATED_MARKER);
  expect(at, `docs/cli.md has no line ${GENERATED_MARKER}`).toBeGreaterThanOrEqual(0);
  return page.slice(at);
}

describe('docs/cli.md', () => {
  it("is every command's --help, as the sources build them (after changing a command: npm run docs:cli)", () => {
    expect(generatedPart(), 'docs/cli.md differs from the commands: run `npm run docs:cli`').toBe(cliReferenceMarkdown(buildProgram()));
  });

  it('holds every command and subcommand, each help beginning with its usage line', () => {
    const helps = commandHelps(buildProgram());
    expect(helps.map((h) => h.name)).toEqual(expect.arrayContaining(['', 'train', 'engine check', 'bench model', 'model convert']));
    for (const { name, help } of helps) expect(help.startsWith(`Usage: egtea${name ? ` ${name}` : ''} `), name).toBe(true);
    // Machine-dependent defaults are described in words, so the page is the same on any machine.
    expect(helps.find((h) => h.name === 'prepare')!.help).toMatch(/--jobs <n>\s+videos decoded at once \(default: the number of cores\)/);
  });
});
