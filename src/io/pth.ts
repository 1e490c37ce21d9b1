import fs from 'node:fs/promises';
import { unzipSync } from 'fflate';
import { UserError } from '../util/errors.js';
import { PickleError, PickledDict, unpickle, unpickleAt, type PickleHooks } from './pickle.js';
import { halfToFloat, type StoredTensor } from './safetensors.js';
import { damagedZipMembers } from './zip-checksums.js';

/** Element sizes and decoders of the storage classes torch.save names. */
const STORAGES: Record<string, { bytes: number; read: (view: DataView, offset: number) => number; integer: boolean }> = {
  FloatStorage: { bytes: 4, read: (v, o) => v.getFloat32(o, true), integer: false },
  DoubleStorage: { bytes: 8, read: (v, o) => v.getFloat64(o, true), integer: false },
  HalfStorage: { bytes: 2, read: (v, o) => halfToFloat(v.getUint16(o, true)), integer: false },
  BFloat16Storage: { bytes: 2, read: (v, o) => new DataView(new Uint32Array([v.getUint16(o, true) << 16]).buffer).getFloat32(0, true), integer: false },
  LongStorage: { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)), integer: true },
  IntStorage: { bytes: 4, read: (v, o) => v.getInt32(o, true), integer: true },
  ShortStorage: { bytes: 2, read: (v, o) => v.getInt16(o, true), integer: true },
  CharStorage: { bytes: 1, read: (v, o) => v.getInt8(o), integer: true },
  ByteStorage: { bytes: 1, read: (v, o) => v.getUint8(o), integer: true },
  BoolStorage: { bytes: 1, read: (v, o) => v.getUint8(o), integer: true },
};

/** A storage named by a persistent id: its element type, its record, and (legacy views) an element offset into it. */
class StorageRef {
  constructor(
    readonly type: string,
    readonly key: string,
    readonly offset = 0,
  ) {}
}

/** A tensor as _rebuild_tensor_v2 describes it, read once the storages are at hand. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
// The first pickle of the legacy format holds this number.
const LEGACY_MAGIC = Number(0x1950a86a20f9469cfc6cn);

/** The storage class named by a global such as torch.FloatStorage. */
function storageType(value: unknown, file: string): string {
  const name = (value as { name?: string } | null)?.name ?? String(value);
  if (!(name in STORAGES)) throw new UserError(`${file}: tensors of type ${name} are not supported (float, double, half, bfloat16 and integer storages are)`);
  return name;
}

/** How torch's globals and persistent ids read: tensors and storages become references, nothing runs. */
function checkpointHooks(file: string, seen: Map<string, string>): PickleHooks {
  return {
    resolveGlobal(module, name) {
      if (module === 'collections' && name === 'OrderedDict') return () => new PickledDict();
      if (module === 'torch._utils' && (name === '_rebuild_tensor_v2' || name === '_rebuild_tensor')) {
        return (args) => {
          const [storage, offset, shape, stride] = args as [StorageRef, number, number[], number[]];
          return new TensorRef(storage, offset, shape, stride);
        };
      }
      if (module === 'torch._utils' && name === '_rebuild_parameter') return (args) => args[0];
      return undefined;
    },
    persistentLoad(id) {
      // zip: ('storage', type, key, location, numel); legacy adds view metadata (view key, offset, size) or None.
      const [kind, type, key, , , view] = id as [string, unknown, string, unknown, unknown, [string, number, number] | null | undefined];
      if (kind !== 'storage') throw new PickleError(`unknown persistent id ${JSON.stringify(kind)}`);
      const name = storageType(type, file);
      seen.set(String(key), name);
      return new StorageRef(name, String(key), Array.isArray(view) ? view[1] : 0);
    },
  };
}

interface Checkpoint {
  root: unknown;
  /** A storage's bytes by key. */
  storage: (key: string) => Uint8Array | undefined;
}

/** torch.save's zip archive (PyTorch 1.6 and later): <name>/data.pkl and <name>/data/<key>. */
function readZip(bytes: Uint8Array, file: string): Checkpoint {
  let records: Record<string, Uint8Array>;
  try {
    records = unzipSync(bytes);
  } catch (error) {
    throw new UserError(`${file}: a damaged zip archive (${(error as Error).message})`);
  }
  const damaged = damagedZipMembers(bytes, records);
  if (damaged.length > 0) {
    const more = damaged.length > 1 ? ` and ${damaged.length - 1} more` : '';
    throw new UserError(
      `${file}: a damaged zip archive: the bytes of ${damaged[0]}${more} do not match the CRC-32 the archive records for them; download or copy the file again`,
    );
  }
  const pickleName = Object.keys(records).find((name) => name.endsWith('data.pkl') && name.split('/').length === 2);
  if (!pickleName) throw new UserError(`${file}: a zip archive without <name>/data.pkl; not written by torch.save`);
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const byteOrder = records[`${prefix}byteorder`];
  if (byteOrder && new TextDecoder().decode(byteOrder) !== 'little') throw new UserError(`${file}: saved on a big-endian machine, which egtea does not read`);
  try {
    const root = unpickle(records[pickleName]!, checkpointHooks(file, new Map()));
    return { root, storage: (key) => records[`${prefix}data/${key}`] };
  } catch (error) {
    if (error instanceof PickleError) throw new UserError(`${file}: ${prefix}data.pkl: ${error.message}`);
    throw error;
  }
}

/**
 * The legacy format (before PyTorch 1.6): pickles of the magic number, the protocol version,
 * system information, the object and the sorted storage keys, then each storage as an int64
 * element count and its raw bytes.
 */
function readLegacy(bytes: Uint8Array, file: string): Checkpoint {
  const types = new Map<string, string>();
  const hooks = checkpointHooks(file, types);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    let at = unpickleAt(bytes, 0, hooks);
    if (at.value !== LEGACY_MAGIC) throw new UserError(`${file}: not a PyTorch checkpoint (neither torch.save's zip archive nor its legacy format)`);
    at = unpickleAt(bytes, at.end, hooks); // protocol version
    at = unpickleAt(bytes, at.end, hooks);
    const info = at.value instanceof PickledDict ? at.value : null;
    if (info?.get('little_endian') === false) throw new UserError(`${file}: saved on a big-endian machine, which egtea does not read`);
    at = unpickleAt(bytes, at.end, hooks);
    const root = at.value;
    at = unpickleAt(bytes, at.end, hooks);
    const keys = at.value as unknown[];
    if (!Array.isArray(keys)) throw new PickleError('the storage key list is missing');
    const storages = new Map<string, Uint8Array>();
    let pos = at.end;
    for (const key of keys.map(String)) {
      const type = types.get(key);
      if (!type) throw new PickleError(`storage ${key} is listed but no tensor names it`);
      if (pos + 8 > bytes.length) throw new PickleError(`storage ${key} is cut off`);
      const length = Number(view.getBigInt64(pos, true)) * STORAGES[type]!.bytes;
      if (pos + 8 + length > bytes.length) throw new PickleError(`storage ${key} is cut off`);
      storages.set(key, bytes.subarray(pos + 8, pos + 8 + length));
      pos += 8 + length;
    }
    return { root, storage: (key) => storages.get(key) };
  } catch (error) {
    if (error instanceof PickleError) throw new UserError(`${file}: legacy format: ${error.message}`);
    throw error;
  }
}

function readCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  if (ZIP_MAGIC.every((b, i) => bytes[i] === b)) return readZip(bytes, file);
  if (bytes[0] === 0x80) return readLegacy(bytes, file);
  throw new UserError(`${file}: not a PyTorch checkpoint (torch.save writes a zip archive, or a pickle in its legacy format)`);
}

function readTensor(ref: TensorRef, checkpoint: Checkpoint, name: string, file: string): StoredTensor {
  const raw = checkpoint.storage(ref.storage.key);
  if (!raw) throw new UserError(`${file}: tensor '${name}' points to storage ${ref.storage.key}, which the file lacks`);
  const kind = STORAGES[ref.storage.type]!;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const count = ref.shape.reduce((a, b) => a * b, 1);
  const offset = ref.storage.offset + ref.offset;
  // Contiguous float32 (nearly every weight): one copy instead of a walk through the strides.
  const contiguous = ref.shape.every((_, d) => ref.stride[d] === ref.shape.slice(d + 1).reduce((a, b) => a * b, 1) || ref.shape[d] === 1);
  if (ref.storage.type === 'FloatStorage' && contiguous) {
    const start = offset * 4;
    if (start + count * 4 > raw.byteLength) throw new UserError(`${file}: tensor '${name}' reaches past the end of its storage`);
    return { shape: [...ref.shape], data: new Float32Array(raw.buffer.slice(raw.byteOffset + start, raw.byteOffset + start + count * 4)) };
  }
  const data = kind.integer ? new Int32Array(count) : new Float32Array(count);
  // Walks the tensor in row-major order through its strides, so views and transposes read right.
  const index = new Array<number>(ref.shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let element = offset;
    for (let d = 0; d < index.length; d++) element += index[d]! * ref.stride[d]!;
    if ((element + 1) * kind.bytes > raw.byteLength) throw new UserError(`${file}: tensor '${name}' reaches past the end of its storage`);
    const value = kind.read(view, element * kind.bytes);
    if (kind.integer && (value > 2147483647 || value < -2147483648)) throw new UserError(`${file}: tensor '${name}' holds ${value}, beyond int32`);
    data[i] = value;
    for (let d = index.length - 1; d >= 0; d--) {
      if (++index[d]! < ref.shape[d]!) break;
      index[d] = 0;
    }
  }
  return { shape: [...ref.shape], data };
}

/** The state dict inside a checkpoint: the dict itself, or its 'state_dict' (or 'model') entry. */
function findStateDict(root: unknown, file: string): PickledDict {
  if (!(root instanceof PickledDict))
    throw new UserError(`${file}: holds no dict of tensors (a whole pickled model is not read: save model.state_dict() instead)`);
  const tensors = root.entries.filter(([, v]) => v instanceof TensorRef).length;
  if (tensors > 0) return root;
  for (const key of ['state_dict', 'model', 'model_state_dict']) {
    const inner = root.get(key);
    if (inner instanceof PickledDict) return inner;
  }
  const keys = root.entries
    .map(([k]) => String(k))
    .slice(0, 8)
    .join(', ');
  throw new UserError(`${file}: a dict without tensors or a 'state_dict' entry (keys: ${keys})`);
}

/**
 * Reads a PyTorch checkpoint (torch.save's zip format, or the legacy format before 1.6) into a state dict: a plain state dict or
 * a dict holding one under 'state_dict', with DataParallel's `module.` prefixes stripped.
 */
export async function readPth(file: string): Promise<Map<string, StoredTensor>> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    throw new UserError(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  return parsePth(bytes, file);
}

export function parsePth(bytes: Uint8Array, file: string): Map<string, StoredTensor> {
  const checkpoint = readCheckpoint(bytes, file);
  const stateDict = findStateDict(checkpoint.root, file);
  const out = new Map<string, StoredTensor>();
  for (const [key, value] of stateDict.entries) {
    if (!(value instanceof TensorRef)) continue;
    const name = String(key).replace(/^module\./, '');
    if (out.has(name)) throw new UserError(`${file}: holds '${name}' both with and without the 'module.' prefix`);
    out.set(name, readTensor(value, checkpoint, String(key), file));
  }
  return out;
}
