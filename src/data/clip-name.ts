/** What an EGTEA clip name says: `<subject>-<recipe id>-<recipe>-<start ms>-<end ms>-F<start>-F<end>`. */
export interface ClipName {
  subject: string;
  /** The recording: subject, recipe id and recipe (the folder its video lives in). */
  session: string;
  recipe: string;
  startMs: number;
  endMs: number;
  startFrame: number;
  endFrame: number;
}

// Only names made of these characters can become paths; '/' and '..' never can.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Parses a clip name; returns a reason string when it is not one. */
export function parseClipName(name: string): ClipName | string {
  if (!SAFE_NAME.test(name) || name.includes('..')) {
    const first = /^[^A-Za-z0-9]/.test(name)
      ? `it starts with '${name[0] ?? ''}'`
      : name.includes('..')
        ? "it holds '..'"
        : `it holds '${[...name].find((c) => !/[A-Za-z0-9_.-]/.test(c))}'`;
    return `clip name '${name}' has characters a file name cannot have: ${first}; only ASCII letters (A-Z, a-z), digits, '-', '_' and '.' are allowed, starting with a letter or digit, and no '..'`;
  }
  const parts = name.split('-');
  if (parts.length < 7) return `clip name '${name}' does not have the form <subject>-<recipe id>-<recipe>-<start ms>-<end ms>-F<start>-F<end>`;
  const [subject, recipeId] = parts as [string, string];
  const [startMs, endMs, startFrame, endFrame] = parts.slice(-4) as [string, string, string, string];
  const recipe = parts.slice(2, -4).join('-');
  if (!/^\d+$/.test(startMs) || !/^\d+$/.test(endMs) || !/^F\d+$/.test(startFrame) || !/^F\d+$/.test(endFrame) || recipe === '') {
    return `clip name '${name}' does not end in <start ms>-<end ms>-F<start>-F<end>`;
  }
  return {
    subject,
    session: `${subject}-${recipeId}-${recipe}`,
    recipe,
    startMs: Number(startMs),
    endMs: Number(endMs),
    startFrame: Number(startFrame.slice(1)),
    endFrame: Number(endFrame.slice(1)),
  };
}
