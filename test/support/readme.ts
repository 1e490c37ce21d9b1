import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The egtea checkout these tests run in. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const FENCE = '```';

/**
 * The first fenced block of `language` in the README section under `heading` (up to the next
 * heading of level 2 or 3), exactly as a reader copies it, so tests run what the README shows.
 */
export function readmeBlock(heading: string, language: string): string {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README.md has no heading '${heading}'`);
  const bodyStart = at + heading.length + 2;
  const nextHeading = readme.slice(bodyStart).search(/\n#{2,3} /);
  const section = nextHeading < 0 ? readme.slice(bodyStart) : readme.slice(bodyStart, bodyStart + nextHeading);
  const open = section.indexOf(`${FENCE}${language}\n`);
  if (open < 0) throw new Error(`README.md has no ${FENCE}${language} block under '${heading}'`);
  const start = open + FENCE.length + language.length + 1;
  const close = section.indexOf(`\n${FENCE}`, start - 1);
  return section.slice(start, close + 1);
}
