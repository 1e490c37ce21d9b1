import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './docs.js';

/**
 * The fenced blocks of the docs (README.md and docs/*.md) and the shell commands in them, for
 * test/docs/command-blocks.test.ts. A block may carry one marker, an HTML comment on the line
 * right before its fence:
 *
 *   <!-- needs: a GPU -->                     what a test cannot have, said to the reader
 *   <!-- tested: test/some/file.test.ts -->   the test (or script) that runs this block
 */

export interface DocBlock {
  /** Page path from the checkout's root, e.g. 'docs/data.md'. */
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string: 'sh', 'js', 'text', ... ('' when it has none). */
  language: string;
  body: string;
  marker: { kind: 'needs' | 'tested'; value: string } | null;
}

const MARKER = /^<!--\s*(needs|tested):\s*(.*?)\s*-->$/;

export function docPages(): string[] {
  const docs = fs
    .readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

/** Every fenced block of a page (a path under `root`), with the marker before it (a marker elsewhere is an error). */
export function docBlocks(page: string, root = REPO_ROOT): DocBlock[] {
  const lines = fs.readFileSync(path.join(root, page), 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    // A fence may be indented (inside a list) and made of backticks or tildes.
    const open = /^\s*(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    const marker = MARKER.exec(lines[i]!.trim());
    if (marker && !/^\s*(`{3,}|~{3,})/.test(lines[i + 1] ?? ''))
      throw new Error(`${page}:${i + 1}: a '${marker[1]}' marker must stand on the line right before a fence`);
    if (!open) continue;
    const close = lines.findIndex((l, j) => j > i && l.trim() === open[1]);
    if (close < 0) throw new Error(`${page}:${i + 1}: the fence is never closed`);
    const before = MARKER.exec((lines[i - 1] ?? '').trim());
    blocks.push({
      page,
      line: i + 1,
      language: open[2]!.trim(),
      body: lines.slice(i + 1, close).join('\n'), // indentation is whitespace to the shell reader
      marker: before ? { kind: before[1] as 'needs' | 'tested', value: before[2]! } : null,
    });
    i = close;
  }
  return blocks;
}

/** One simple command of a shell block: its variable assignments and its words. */
export interface ShellCommand {
  assignments: string[];
  words: string[];
}

/**
 * Splits a shell block into simple commands the way sh reads what the docs use: quotes,
 * backslash line continuations, comments, and the separators `&&`, `||`, `|`, `;` and newline.
 * Anything fancier (substitutions, redirections, globs) is refused, so the docs stay plain.
 */
export function shellCommands(body: string): ShellCommand[] {
  const commands: ShellCommand[] = [];
  let words: string[] = [];
  let word: string | null = null;
  const endWord = () => {
    if (word !== null) words.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) {
      const assignments: string[] = [];
      while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) assignments.push(words.shift()!);
      commands.push({ assignments, words });
    }
    words = [];
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\' && body[i + 1] === '\n') {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = body.indexOf(c, i + 1);
      if (end < 0) throw new Error(`an unclosed ${c} in: ${body}`);
      word = (word ?? '') + body.slice(i + 1, end);
      i = end;
      continue;
    }
    if (c === '#' && word === null) {
      while (i + 1 < body.length && body[i + 1] !== '\n') i++;
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      continue;
    }
    if (c === '\n' || c === ';' || c === '|' || (c === '&' && body[i + 1] === '&')) {
      if ((c === '&' || c === '|') && body[i + 1] === c) i++;
      endCommand();
      continue;
    }
    if ('$`<>*?&'.includes(c)) throw new Error(`'${c}' in a shell block is more than the docs' blocks use (keep them plain): ${body}`);
    word = (word ?? '') + c;
  }
  endCommand();
  return commands;
}
