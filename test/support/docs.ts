import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The egtea checkout these tests run in. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const FENCE = '```';

/**
 * The first fenced block of `language` in the section of `page` (README.md or docs/*.md, from
 * the checkout's root) under `heading`, up to the next heading of level 2 or 3, exactly as a
 * reader copies it, so tests run what the docs show.
 */
export function docBlock(page: string, heading: string, language: string): string {
  const text = fs.readFileSync(path.join(REPO_ROOT, page), 'utf8');
  const at = `\n${text}`.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`${page} has no heading '${heading}'`);
  const bodyStart = at + heading.length + 1;
  const nextHeading = text.slice(bodyStart).search(/\n#{2,3} /);
  const section = nextHeading < 0 ? text.slice(bodyStart) : text.slice(bodyStart, bodyStart + nextHeading);
  const open = section.indexOf(`${FENCE}${language}\n`);
  if (open < 0) throw new Error(`${page} has no ${FENCE}${language} block under '${heading}'`);
  const start = open + FENCE.length + language.length + 1;
  const close = section.indexOf(`\n${FENCE}`, start - 1);
  return section.slice(start, close + 1);
}
