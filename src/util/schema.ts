import { UserError } from './errors.js';
import { nearestName } from './nearest-name.js';

// A small schema for settings objects (pipelines): it checks every value, refuses unknown keys
// with the nearest known one, and reads a command-line text as the type a key holds. One
// description per key serves the checks, `--set` and the docs.

/** One value: checked as a whole, and readable from a command-line text. */
export interface Leaf {
  kind: 'leaf';
  /** What a valid value is, for docs and messages: 'a positive whole number'. */
  expects: string;
  /** null when the value is fine, else what is wrong with it ('must be ...'). */
  check(value: unknown): string | null;
  /** The value a command-line text stands for (checked afterwards by `check`). */
  read(text: string): unknown;
  optional: boolean;
  doc: string;
}

/** An object with a fixed set of keys. */
export interface Group {
  kind: 'group';
  fields: Readonly<Record<string, Field>>;
  optional: boolean;
  doc: string;
}

/** An object whose keys depend on its `key` field (a discriminated union, e.g. a loss by name). */
export interface Variants {
  kind: 'variants';
  key: string;
  variants: Readonly<Record<string, Readonly<Record<string, Field>>>>;
  /** Keys an earlier layout had, with where their settings went. */
  retired: Readonly<Record<string, string>>;
  optional: boolean;
  doc: string;
}

export type Field = Leaf | Group | Variants;

/** The fields of an object type: exactly its keys, so the schema and the type cannot drift apart. */
export type FieldsOf<T> = { [K in keyof T]-?: Field };

const describeNumber = (n: number) => String(n);

function readNumber(text: string): unknown {
  const trimmed = text.trim();
  return trimmed === '' ? text : Number(trimmed);
}

/** A number, optionally bounded; `open` bounds exclude their end. */
export function number(doc: string, bounds: { min?: number; max?: number; minOpen?: boolean; maxOpen?: boolean; integer?: boolean } = {}): Leaf {
  const { min, max, minOpen = false, maxOpen = false, integer = false } = bounds;
  const kind = integer ? 'whole number' : 'number';
  let expects: string;
  if (integer && min === 1 && max === undefined) expects = 'a positive whole number';
  else if (min !== undefined && max !== undefined)
    expects = `a ${kind} in ${minOpen ? '(' : '['}${describeNumber(min)}, ${describeNumber(max)}${maxOpen ? ')' : ']'}`;
  else if (min !== undefined) expects = `a ${kind} ${minOpen ? '>' : '>='} ${describeNumber(min)}`;
  else if (max !== undefined) expects = `a ${kind} ${maxOpen ? '<' : '<='} ${describeNumber(max)}`;
  else expects = `a ${kind}`;
  const ok = (v: unknown): v is number =>
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!integer || Number.isInteger(v)) &&
    (min === undefined || (minOpen ? v > min : v >= min)) &&
    (max === undefined || (maxOpen ? v < max : v <= max));
  return { kind: 'leaf', expects, check: (v) => (ok(v) ? null : `must be ${expects}`), read: readNumber, optional: false, doc };
}

export const wholeNumber = (doc: string, min: number) => number(doc, { min, integer: true });

/** A non-empty string. */
export function text(doc: string): Leaf {
  return {
    kind: 'leaf',
    expects: 'a non-empty text',
    check: (v) => (typeof v === 'string' && v.length > 0 ? null : 'must be a non-empty text'),
    read: (t) => t,
    optional: false,
    doc,
  };
}

export function oneOf(doc: string, choices: readonly string[]): Leaf {
  const expects = `one of ${choices.join(', ')}`;
  return {
    kind: 'leaf',
    expects,
    check: (v) => (typeof v === 'string' && choices.includes(v) ? null : `must be ${expects}`),
    read: (t) => t.trim(),
    optional: false,
    doc,
  };
}

/** A list of numbers, each checked by `element`; `length` fixes how many. */
export function numberList(doc: string, element: Leaf, length?: number): Leaf {
  const expects = length === undefined ? `a list of ${element.expects.replace(/^an? /, '')}s` : `${length} numbers, each ${element.expects}`;
  return {
    kind: 'leaf',
    expects,
    check: (v) =>
      Array.isArray(v) && (length === undefined || v.length === length) && v.every((x) => element.check(x) === null) ? null : `must be ${expects}`,
    // '15,30' or '[15, 30]'; '' or '[]' is the empty list.
    read: (t) => {
      const inner = t
        .trim()
        .replace(/^\[(.*)\]$/s, '$1')
        .trim();
      return inner === '' ? [] : inner.split(',').map(readNumber);
    },
    optional: false,
    doc,
  };
}

/** `leaf` or one of a few words (CDB's tau: a number or 'dynamic'). */
export function orWords(leaf: Leaf, words: readonly string[]): Leaf {
  const quoted = words.map((w) => `'${w}'`).join(', ');
  const expects = `${leaf.expects} or ${quoted}`;
  return {
    ...leaf,
    expects,
    check: (v) => ((typeof v === 'string' && words.includes(v)) || leaf.check(v) === null ? null : `must be ${expects}`),
    read: (t) => (words.includes(t.trim()) ? t.trim() : leaf.read(t)),
  };
}

/** `leaf` or null (written `null` on the command line). */
export function nullable(leaf: Leaf): Leaf {
  const expects = `${leaf.expects} or null`;
  return {
    ...leaf,
    expects,
    check: (v) => (v === null || leaf.check(v) === null ? null : `must be ${expects}`),
    read: (t) => (t.trim() === 'null' ? null : leaf.read(t)),
  };
}

/** A leaf with a check of its own (say, a subject range): `problem` returns what is wrong, or null. */
export function custom(doc: string, expects: string, problem: (value: unknown) => string | null, read: (text: string) => unknown = (t) => t): Leaf {
  return { kind: 'leaf', expects, check: problem, read, optional: false, doc };
}

export function optional<F extends Field>(field: F): F {
  return { ...field, optional: true };
}

export function group<T>(doc: string, fields: FieldsOf<T>): Group {
  return { kind: 'group', fields: fields as Record<string, Field>, optional: false, doc };
}

export function variants(
  doc: string,
  key: string,
  cases: Readonly<Record<string, Readonly<Record<string, Field>>>>,
  retired: Readonly<Record<string, string>> = {},
): Variants {
  return { kind: 'variants', key, variants: cases, retired, optional: false, doc };
}

/** The command-line option of a settings key: minDifficulty -> --min-difficulty. */
export function optionName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fields an object at this node has, given its value (a variant's depend on its key). */
function fieldsFor(field: Group | Variants, value: Record<string, unknown>): Readonly<Record<string, Field>> | null {
  if (field.kind === 'group') return field.fields;
  const name = value[field.key];
  return typeof name === 'string' ? (field.variants[name] ?? null) : null;
}

/** Refuses a key that is not in `fields`, naming the nearest known key or the variant it belongs to. */
function refuseUnknownKey(
  node: Group | Variants,
  fields: Readonly<Record<string, Field>>,
  value: Record<string, unknown>,
  key: string,
  path: string,
  source: string,
): never {
  const known = Object.keys(fields);
  if (node.kind === 'variants') {
    const owners = Object.entries(node.variants)
      .filter(([, f]) => key in f)
      .map(([name]) => name);
    if (owners.length > 0) {
      const name = String(value[node.key]);
      const takes = known.filter((k) => k !== node.key);
      throw new UserError(
        `${source}: ${join(path, key)} does not apply to ${path} '${name}' (only to ${owners.join(', ')}); ${name} takes ${takes.length > 0 ? takes.join(', ') : 'no settings'}`,
      );
    }
    const retired = nearestName(key, [...known, ...Object.keys(node.retired)]);
    if (retired !== null && retired in node.retired) throw new UserError(`${source}: ${join(path, key)} is not a setting: ${node.retired[retired]}`);
  }
  const near = nearestName(key, known);
  throw new UserError(
    `${source}: ${join(path, key)} is not a setting; ${near !== null ? `did you mean '${join(path, near)}'?` : `${path === '' ? 'the top level' : path} holds: ${known.join(', ')}`}`,
  );
}

/** Checks `value` against `field` at `path`; the first problem is thrown as a UserError naming `source` and the key. */
export function checkValue(field: Field, value: unknown, path: string, source: string): void {
  if (value === undefined) {
    if (field.optional) return;
    const what = field.kind === 'leaf' ? `; it must be ${field.expects}` : '';
    throw new UserError(`${source}: ${path} is missing${what}`);
  }
  if (field.kind === 'leaf') {
    const problem = field.check(value);
    if (problem !== null) throw new UserError(`${source}: ${path} ${problem}`);
    return;
  }
  if (!isObject(value)) throw new UserError(`${source}: ${path === '' ? 'the pipeline' : path} must be an object`);
  if (field.kind === 'variants') {
    const names = Object.keys(field.variants);
    const name = value[field.key];
    if (typeof name !== 'string' || !(name in field.variants)) throw new UserError(`${source}: ${join(path, field.key)} must be one of ${names.join(', ')}`);
  }
  const fields = fieldsFor(field, value)!;
  for (const key of Object.keys(value)) {
    if (!(key in fields) && value[key] !== undefined) refuseUnknownKey(field, fields, value, key, path, source);
  }
  for (const [key, child] of Object.entries(fields)) checkValue(child, value[key], join(path, key), source);
}

/** Every settable key, dotted, with its leaf (a variant's keys listed once, with the variants that take them). */
export function leafKeys(field: Field, path = ''): { key: string; leaf: Leaf; only?: string[] }[] {
  if (field.kind === 'leaf') return [{ key: path, leaf: field }];
  if (field.kind === 'group') return Object.entries(field.fields).flatMap(([k, f]) => leafKeys(f, join(path, k)));
  const seen = new Map<string, { key: string; leaf: Leaf; only?: string[] }>();
  for (const [name, fields] of Object.entries(field.variants)) {
    for (const [k, f] of Object.entries(fields)) {
      // The variant's key takes every variant's name.
      const keyField = k === field.key ? oneOf(f.doc, Object.keys(field.variants)) : f;
      for (const entry of leafKeys(keyField, join(path, k))) {
        const earlier = seen.get(entry.key);
        if (earlier) earlier.only?.push(name);
        else seen.set(entry.key, { ...entry, only: k === field.key ? undefined : [name] });
      }
    }
  }
  const all = Object.keys(field.variants).length;
  return [...seen.values()].map((e) => (e.only && e.only.length === all ? { key: e.key, leaf: e.leaf } : e));
}

/** A settable key of `root` for this value, or a UserError naming the nearest known key. */
function locate(root: Group | Variants, value: unknown, key: string, source: string): { leaf: Leaf; parent: Group | Variants } {
  const segments = key.split('.');
  let node: Group | Variants = root;
  let current: unknown = value;
  let path = '';
  for (const [i, segment] of segments.entries()) {
    const fields: Readonly<Record<string, Field>> | null = isObject(current) ? fieldsFor(node, current) : node.kind === 'group' ? node.fields : null;
    const child = fields?.[segment];
    if (child === undefined || fields === null) {
      if (node.kind === 'variants' && isObject(current) && Object.values(node.variants).some((f) => segment in f)) {
        refuseUnknownKey(node, fields ?? {}, current, segment, path, source);
      }
      const all = leafKeys(root, '').map((e) => e.key);
      // A bare last segment ('learningRate') still finds its full key.
      const near = nearestName(key, all) ?? all.find((k) => k.split('.').at(-1)!.toLowerCase() === segment.toLowerCase()) ?? null;
      const here = fields === null ? [] : Object.keys(fields).map((k) => join(path, k));
      throw new UserError(
        `${source}: '${key}' is not a pipeline setting; ${near !== null ? `did you mean '${near}'?` : `${path === '' ? 'the top level holds' : `${path} holds`}: ${here.join(', ')}`}`,
      );
    }
    if (child.kind === 'leaf') {
      // The variant's key takes any variant's name (a loss may change to another loss).
      if (node.kind === 'variants' && segment === node.key) return { leaf: { ...child, ...oneOf(child.doc, Object.keys(node.variants)) }, parent: node };
      if (i !== segments.length - 1) throw new UserError(`${source}: '${key}': ${join(path, segment)} holds a value, not settings`);
      return { leaf: child, parent: node };
    }
    node = child;
    current = isObject(current) ? current[segment] : undefined;
    path = join(path, segment);
  }
  const keys = leafKeys(node, path).map((e) => e.key);
  throw new UserError(`${source}: '${key}' is a group of settings; set one of: ${keys.join(', ')}`);
}

/** A value for a key: a command-line text read as the key's type, or a value already typed. */
export type KeyInput = { text: string } | { value: unknown };

/**
 * A copy of `value` with the dotted `key` set. Changing a variant's key (a loss's name) keeps
 * only the settings the new variant takes. The new value is checked; the whole object is not
 * (the caller validates it). Problems are UserErrors naming `source`.
 */
export function setByKey(root: Group | Variants, value: unknown, key: string, input: KeyInput, source: string): unknown {
  const { leaf, parent } = locate(root, value, key, source);
  const typed = 'text' in input ? leaf.read(input.text) : input.value;
  const problem = leaf.check(typed);
  if (problem !== null) throw new UserError(`${source}: ${key} ${problem}`);
  const copy = structuredClone(value) as Record<string, unknown>;
  const segments = key.split('.');
  let target = copy;
  for (const segment of segments.slice(0, -1)) {
    if (!isObject(target[segment])) target[segment] = {};
    target = target[segment] as Record<string, unknown>;
  }
  const last = segments.at(-1)!;
  if (parent.kind === 'variants' && last === parent.key && target[last] !== typed) {
    const keep = parent.variants[typed as string] ?? {};
    for (const k of Object.keys(target)) if (!(k in keep)) delete target[k];
  }
  if (typed === undefined) delete target[last];
  else target[last] = typed;
  return copy;
}
