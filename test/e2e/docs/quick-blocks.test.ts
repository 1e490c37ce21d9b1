import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporaryFolder } from '../../helpers.js';
import { docBlocks, shellCommands } from '../../support/doc-blocks.js';
import { REPO_ROOT } from '../../support/docs.js';

// The docs' command blocks that take seconds run here, command by command, as a reader would
// type them (a fresh folder as the working directory). Longer ones say what they need instead.
const THIS_TEST = 'test/e2e/docs/quick-blocks.test.ts';
const PAGES = ['docs/engine.md', 'docs/paper.md', 'docs/training.md'];

const blocks = PAGES.flatMap((page) => docBlocks(page)).filter((b) => b.marker?.kind === 'tested' && b.marker.value === THIS_TEST);

describe("the docs' quick command blocks", () => {
  it('are found on every page this test names', () => {
    for (const page of PAGES)
      expect(
        blocks.some((b) => b.page === page),
        page,
      ).toBe(true);
  });

  it.each(blocks.map((b) => [`${b.page}:${b.line}`, b] as const))('%s runs and says something', (_, block) => {
    const cwd = temporaryFolder('doc-block');
    for (const command of shellCommands(block.body)) {
      const [npx, egtea, ...args] = command.words;
      expect([npx, egtea], 'a quick block holds npx egtea commands only').toEqual(['npx', 'egtea']);
      const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'egtea'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
      expect(run.status, `${command.words.join(' ')}: ${run.stderr}`).toBe(0);
      expect(run.stdout.trim().length, command.words.join(' ')).toBeGreaterThan(0);
    }
  });
});
