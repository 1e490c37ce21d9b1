/**
 * A reader for the pickle subset torch.save writes (protocol 2; the opcodes of protocols 3-4
 * that Python's pickler may add are read too). It never runs code: a global names a class or
 * function, and `resolveGlobal` decides what calling it means; anything it does not know
 * becomes an inert `PickledObject`.
 */

/** A global reference (module, name) that the reader does not interpret. */
class PickledGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

/** The result of calling an unknown global, or of BUILD on one: kept as data, never executed. */
class PickledObject {
  state: unknown = undefined;
  constructor(
    readonly type: PickledGlobal,
    readonly args: unknown[],
  ) {}
}

/** A Python dict: keys may be strings, numbers or tuples, so entries keep their order as pairs. */
export class PickledDict {
  readonly entries: [unknown, unknown][] = [];
  set(key: unknown, value: unknown): void {
    const existing = this.entries.findIndex(([k]) => k === key);
    if (existing >= 0) this.entries[existing]![1] = value;
    else this.entries.push([key, value]);
  }
  get(key: unknown): unknown {
    return this.entries.find(([k]) => k === key)?.[1];
  }
}

export interface PickleHooks {
  /** A global: return a function to call on REDUCE, or undefined to keep it inert. */
  resolveGlobal(module: string, name: string): ((args: unknown[]) => unknown) | undefined;
  /** BINPERSID / PERSID: the object a persistent id stands for. */
  persistentLoad(id: unknown): unknown;
}

const MARK = Symbol('mark');

export class PickleError extends Error {}

/** Unpickles `bytes`; throws PickleError on anything malformed or outside the subset. */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks): unknown {
  return unpickleAt(bytes, 0, hooks).value;
}

/** Unpickles the pickle starting at byte `start`; `end` is the byte after its STOP (files may hold several). */
export function unpickleAt(bytes: Uint8Array, start: number, hooks: PickleHooks): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = start;

  const need = (n: number) => {
    if (pos + n > bytes.length) throw new PickleError(`truncated at byte ${pos}`);
  };
  const u8 = () => (need(1), bytes[pos++]!);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new PickleError(`unterminated line at byte ${pos}`);
    const text = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const pop = () => {
    if (stack.length === 0) throw new PickleError(`stack underflow at byte ${pos}`);
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw new PickleError(`no mark at byte ${pos}`);
    const items = stack.splice(at);
    return items.slice(1);
  };
  const top = () => stack[stack.length - 1];
  const global = (module: string, name: string) => hooks.resolveGlobal(module, name) ?? new PickledGlobal(module, name);
  const call = (callable: unknown, args: unknown[]): unknown => {
    if (typeof callable === 'function') return (callable as (a: unknown[]) => unknown)(args);
    if (callable instanceof PickledGlobal) return new PickledObject(callable, args);
    throw new PickleError(`cannot call ${String(callable)} at byte ${pos}`);
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof PickledDict)) throw new PickleError(`SETITEM(S) on a non-dict at byte ${pos}`);
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const long = (raw: Uint8Array): number => {
    // Little-endian two's complement; numbers beyond 2^53 lose precision, which state dicts never need.
    let value = 0n;
    for (let i = raw.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]!);
    if (raw.length > 0 && raw[raw.length - 1]! & 0x80) value -= 1n << BigInt(8 * raw.length);
    return Number(value);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80:
        u8();
        break; // PROTO
      case 0x95:
        take(8);
        break; // FRAME: framing only
      case 0x2e:
        return { value: pop(), end: pos }; // STOP
      case 0x28:
        stack.push(MARK);
        break; // MARK
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x4a:
        stack.push(i32());
        break; // BININT
      case 0x4b:
        stack.push(u8());
        break; // BININT1
      case 0x4d:
        stack.push(u16());
        break; // BININT2
      case 0x8a:
        stack.push(long(take(u8())));
        break; // LONG1
      case 0x8b:
        stack.push(long(take(u32())));
        break; // LONG4
      case 0x49: {
        // INT (text)
        const text = line();
        stack.push(text === '01' ? true : text === '00' ? false : Number.parseInt(text, 10));
        break;
      }
      case 0x4c:
        stack.push(Number.parseInt(line().replace(/L$/, ''), 10));
        break; // LONG (text)
      case 0x47:
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break; // BINFLOAT (big-endian)
      case 0x58:
        stack.push(decoder.decode(take(u32())));
        break; // BINUNICODE
      case 0x8c:
        stack.push(decoder.decode(take(u8())));
        break; // SHORT_BINUNICODE
      case 0x8d: {
        // BINUNICODE8
        const low = u32();
        const high = u32();
        stack.push(decoder.decode(take(high * 2 ** 32 + low)));
        break;
      }
      case 0x54:
        stack.push(latin1.decode(take(i32())));
        break; // BINSTRING
      case 0x55:
        stack.push(latin1.decode(take(u8())));
        break; // SHORT_BINSTRING
      case 0x42:
        stack.push(take(u32()).slice());
        break; // BINBYTES
      case 0x43:
        stack.push(take(u8()).slice());
        break; // SHORT_BINBYTES
      case 0x29:
        stack.push([]);
        break; // EMPTY_TUPLE
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x7d:
        stack.push(new PickledDict());
        break; // EMPTY_DICT
      case 0x8f:
        stack.push(new Set());
        break; // EMPTY_SET
      case 0x74:
        stack.push(popMark());
        break; // TUPLE
      case 0x85:
        stack.push([pop()]);
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        stack.push([pop(), b]);
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      } // TUPLE3
      case 0x6c:
        stack.push(popMark());
        break; // LIST
      case 0x64: {
        const d = new PickledDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      } // DICT
      case 0x61: {
        const v = pop();
        (top() as unknown[]).push(v);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        (top() as unknown[]).push(...items);
        break;
      } // APPENDS
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      case 0x90: {
        const items = popMark();
        for (const i of items) (top() as Set<unknown>).add(i);
        break;
      } // ADDITEMS
      case 0x91:
        stack.push(new Set(popMark()));
        break; // FROZENSET
      case 0x71:
        memo.set(u8(), top());
        break; // BINPUT
      case 0x72:
        memo.set(u32(), top());
        break; // LONG_BINPUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x70:
        memo.set(Number.parseInt(line(), 10), top());
        break; // PUT
      case 0x68:
      case 0x6a:
      case 0x67: {
        // BINGET, LONG_BINGET, GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10);
        if (!memo.has(key)) throw new PickleError(`memo ${key} unset at byte ${at}`);
        stack.push(memo.get(key));
        break;
      }
      case 0x63: {
        const module = line();
        stack.push(global(module, line()));
        break;
      } // GLOBAL
      case 0x93: {
        const name = pop() as string;
        stack.push(global(pop() as string, name));
        break;
      } // STACK_GLOBAL
      case 0x52: {
        const args = pop() as unknown[];
        stack.push(call(pop(), args));
        break;
      } // REDUCE
      case 0x81: {
        const args = pop() as unknown[];
        stack.push(call(pop(), args));
        break;
      } // NEWOBJ
      case 0x62: {
        // BUILD: state for the object below; only inert objects keep it
        const state = pop();
        const target = top();
        if (target instanceof PickledObject) target.state = state;
        break;
      }
      case 0x51:
        stack.push(hooks.persistentLoad(pop()));
        break; // BINPERSID
      case 0x50:
        stack.push(hooks.persistentLoad(line()));
        break; // PERSID
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        stack.push(top());
        break; // DUP
      default:
        throw new PickleError(`unsupported opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
    }
  }
}
