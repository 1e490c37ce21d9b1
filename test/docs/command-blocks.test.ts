import fs from 'node:fs';
import path from 'node:path';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { ENVIRONMENT_VARIABLES } from '../../src/util/environment.js';
import { temporaryFolder } from '../helpers.js';
import { REPO_ROOT } from '../support/docs.js';
import { docBlocks, docPages, shellCommands, type DocBlock, type ShellCommand } from '../support/doc-blocks.js';

// The docs' convention (docs/contributing.md, "Command blocks"): every shell block is marked
// with the test that runs it (`tested:`) or with what a test cannot have (`needs:`). Every egtea
// command of every block must also parse against the real command line: the command and each
// option exist and each value passes the option's own check (parsing stops before the action).

const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
const TEXT = new Set(['text']);
const scripts = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const variables = new Set<string>(ENVIRONMENT_VARIABLES.map((v) => v.name));

class Parsed extends Error {}

/** Parses `egtea ARGS` with the real program; resolves to null, or to what commander said. */
async function egteaParseError(args: string[]): Promise<string | null> {
  const program = buildProgram();
  let said = '';
  const quiet = (command: typeof program): void => {
    command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: (text) => (said += text), outputError: (text) => (said += text) });
    command.commands.forEach(quiet);
  };
  quiet(program);
  // Runs after commander has checked the command, its options, their values and the required
  // ones, and before the command's action (hooks added earlier, such as the backend's, run first).
  program.hook('preAction', () => {
    throw new Parsed();
  });
  try {
    await program.parseAsync(['node', 'egtea', ...args]);
    return 'the command ran no action';
  } catch (error) {
    if (error instanceof Parsed) return null;
    if (error instanceof CommanderError && error.exitCode === 0) return null; // --help, --version
    return said.split('\n')[0] || (error instanceof Error ? error.message : String(error));
  }
}

function egteaArgs(command: ShellCommand): string[] | null {
  const [first, second, ...rest] = command.words;
  if (first === 'npx' && second === 'egtea') return rest;
  if (first === 'egtea') return command.words.slice(1);
  return null;
}

/** Why an unmarked block's command is not checked here, or null when it is. */

/** Problems with one command wherever it stands. */
async function commandProblems(command: ShellCommand): Promise<string[]> {
  const problems: string[] = [];
  for (const assignment of command.assignments) {
    const name = assignment.split('=')[0]!;
    if (!variables.has(name)) problems.push(`${name} is not a variable egtea reads (src/util/environment.ts)`);
  }
  const args = egteaArgs(command);
  if (args) {
    const error = await egteaParseError(args);
    if (error) problems.push(`'egtea ${args.join(' ')}': ${error}`);
  }
  const [program, sub, ...rest] = command.words;
  if (program === 'npm' && sub === 'run' && !(rest[0]! in scripts)) problems.push(`package.json has no script '${rest[0]}'`);
  if (program === 'npx' && sub === 'vitest') {
    for (const file of rest.slice(1)) if (!fs.existsSync(path.join(REPO_ROOT, file))) problems.push(`${file} does not exist`);
  }
  return problems;
}

async function blockProblems(block: DocBlock): Promise<string[]> {
  const problems: string[] = [];
  if (block.marker?.kind === 'needs' && block.marker.value === '') problems.push('a needs: marker must say what the block needs');
  if (block.marker?.kind === 'tested') {
    const file = block.marker.value.split(/\s/)[0]!;
    const test = path.join(REPO_ROOT, file);
    if (!fs.existsSync(test)) problems.push(`tested: ${file} does not exist`);
    else if (!fs.readFileSync(test, 'utf8').includes(block.page)) problems.push(`tested: ${file} does not read ${block.page}`);
  }
  if (block.language === '') problems.push('a fence needs a language (text for plain text)');
  else if (SHELL.has(block.language)) {
    if (block.marker === null) problems.push('a shell block must be run by a test (<!-- tested: ... -->) or say what it needs (<!-- needs: ... -->)');
    for (const command of shellCommands(block.body)) problems.push(...(await commandProblems(command)));
  } else if (!TEXT.has(block.language) && block.marker === null) {
    problems.push(`a ${block.language} block must be run by a test (<!-- tested: ... -->) or say what it needs`);
  }
  return problems.map((p) => `${block.page}:${block.line}: ${p}`);
}

describe('the command blocks of README.md and docs/', () => {
  const blocks = docPages().flatMap((page) => docBlocks(page));

  it('are each checked here, run by a named test, or marked with what they need', async () => {
    const problems: string[] = [];
    for (const block of blocks) problems.push(...(await blockProblems(block)));
    expect(problems).toEqual([]);
    // The check reaches the pages: README's quick start and the CLI examples of the task pages.
    expect(blocks.filter((b) => SHELL.has(b.language)).length).toBeGreaterThan(15);
  });

  it('README keeps its two quick-start commands', () => {
    const quickStart = blocks.find((b) => b.page === 'README.md' && SHELL.has(b.language));
    expect(quickStart?.body).toBe('npm install && npx egtea demo\nnpm test');
  });
});

describe("the docs' block checker", () => {
  it('finds a bad option, a bad value, a missing argument and an unknown command', async () => {
    expect(await egteaParseError(['train', '--pipeline', 'synth', '--epochs', '3'])).toBeNull();
    expect(await egteaParseError(['train', '--epochz', '3'])).toMatch(/unknown option '--epochz'/);
    expect(await egteaParseError(['train', '--epochs', 'three'])).toMatch(/'three' is not a positive integer/);
    expect(await egteaParseError(['model', 'check', '--arch', 'resnext3d-101'])).toMatch(/required option/);
    expect(await egteaParseError(['trian'])).toMatch(/unknown command 'trian'/);
    expect(await egteaParseError(['train', '--help'])).toBeNull();
  });

  it('finds fenced blocks inside lists, and refuses a marker away from a fence', () => {
    const root = temporaryFolder('doc-blocks');
    const page = 'page.md';
    fs.writeFileSync(path.join(root, page), '- a step:\n\n  <!-- needs: a GPU -->\n  ```sh\n  npx egtea engine\n  ```\n');
    expect(docBlocks(page, root)).toEqual([{ page, line: 4, language: 'sh', body: '  npx egtea engine', marker: { kind: 'needs', value: 'a GPU' } }]);
    fs.writeFileSync(path.join(root, page), '<!-- needs: a GPU -->\n\n```sh\nnpx egtea engine\n```\n');
    expect(() => docBlocks(page, root)).toThrow(/page.md:1: a 'needs' marker must stand on the line right before a fence/);
  });

  it('splits a block into commands as sh does', () => {
    const commands = shellCommands("A=1 npx egtea train --set 'x=a b' \\\n  --epochs 2 && npm test # done\n# a comment\nnpx egtea eval | cat; ls");
    expect(commands.map((c) => c.words)).toEqual([
      ['npx', 'egtea', 'train', '--set', 'x=a b', '--epochs', '2'],
      ['npm', 'test'],
      ['npx', 'egtea', 'eval'],
      ['cat'],
      ['ls'],
    ]);
    expect(commands[0]!.assignments).toEqual(['A=1']);
    expect(() => shellCommands('npx egtea train > out.txt')).toThrow(/keep them plain/);
  });

  it('refuses a shell block that no test runs unless it says what it needs', async () => {
    const block = (body: string, marker: DocBlock['marker']): DocBlock => ({ page: 'docs/x.md', line: 1, language: 'sh', body, marker });
    expect(await blockProblems(block('npx egtea engine', null))).toEqual([
      'docs/x.md:1: a shell block must be run by a test (<!-- tested: ... -->) or say what it needs (<!-- needs: ... -->)',
    ]);
    expect(await blockProblems(block('mkdir -p data', { kind: 'needs', value: 'a GPU' }))).toEqual([]);
    expect(await blockProblems(block('npx egtea train --tau-rule nope', { kind: 'needs', value: 'a GPU' }))).toHaveLength(1);
    const needs: DocBlock['marker'] = { kind: 'needs', value: 'minutes of CPU' };
    expect(await blockProblems(block('NOT_EGTEA=1 npx egtea engine', needs))).toEqual([
      'docs/x.md:1: NOT_EGTEA is not a variable egtea reads (src/util/environment.ts)',
    ]);
    expect(await blockProblems(block('npm run no-such-script', needs))).toEqual(["docs/x.md:1: package.json has no script 'no-such-script'"]);
    expect(await blockProblems(block('npx egtea engine', { kind: 'tested', value: 'test/util/environment.test.ts' }))).toEqual([
      'docs/x.md:1: tested: test/util/environment.test.ts does not read docs/x.md',
    ]);
  });
});
