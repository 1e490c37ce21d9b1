import fs from 'node:fs/promises';
import { unzipSync } from 'fflate';
import { UserError } from '../util/errors.js';
import { PickleError, PickledDict, unpickle } from './pickle.js';
import { halfToFloat, type StoredTensor } from './safetensors.js';

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

/** A storage named by a persistent id: its element type and its record in the archive. */
class StorageRef {
  constructor(readonly type: string, readonly key: string) {}
}

/** A tensor as _rebuild_tensor_v2 describes it, read once the archive is at hand. */
export class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/** The storage class named by a global such as torch.FloatStorage. */
function storageType(value: unknown, file: string): string {
  const name = (value as { name?: string } | null)?.name ?? String(value);
  if (!(name in STORAGES)) throw new UserError(`${file}: tensors of type ${name} are not supported (float, double, half, bfloat16 and integer storages are)`);
  return name;
}

/** Reads the pickled object of a torch.save zip archive, tensors left as references. */
function readArchive(bytes: Uint8Array, file: string): { root: unknown; records: Record<string, Uint8Array>; prefix: string } {
  if (!ZIP_MAGIC.every((b, i) => bytes[i] === b)) {
    if (bytes[0] === 0x80) {
      throw new UserError(
        `${file}: a checkpoint in PyTorch's legacy format (torch.save before 1.6 or with _use_new_zipfile_serialization=False), which egtea does not read; ` +
          `re-save it with PyTorch 1.6 or later: torch.save(torch.load('${file}', map_location='cpu'), 'new.pth')`,
      );
    }
    throw new UserError(`${file}: not a PyTorch checkpoint (torch.save writes a zip archive)`);
  }
  let records: Record<string, Uint8Array>;
  try {
    records = unzipSync(bytes);
  } catch (error) {
    throw new UserError(`${file}: a damaged zip archive (${(error as Error).message})`);
  }
  const pickleName = Object.keys(records).find((name) => name.endsWith('data.pkl') && name.split('/').length === 2);
  if (!pickleName) throw new UserError(`${file}: a zip archive without <name>/data.pkl; not written by torch.save`);
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const byteOrder = records[`${prefix}byteorder`];
  if (byteOrder && new TextDecoder().decode(byteOrder) !== 'little') throw new UserError(`${file}: saved on a big-endian machine, which egtea does not read`);
  let root: unknown;
  try {
    root = unpickle(records[pickleName]!, {
      resolveGlobal(module, name) {
        if (module === 'collections' && name === 'OrderedDict') return () => new PickledDict();
        if (module === 'torch._utils' && (name === '_rebuild_tensor_v2' || name === '_rebuild_tensor')) {
          return (args) => {
            const [storage, offset, shape, stride] = args as [StorageRef, number, number[], number[]];
            return new TensorRef(storage, offset, shape, stride);
          };
        }
        if (module === 'torch._utils' && name === '_rebuild_parameter') return (args) => args[0];
        if (module === 'torch' && name.endsWith('Storage')) return undefined;
        return undefined;
      },
      persistentLoad(id) {
        const [kind, type, key] = id as [string, unknown, string];
        if (kind !== 'storage') throw new PickleError(`unknown persistent id ${JSON.stringify(kind)}`);
        return new StorageRef(storageType(type, file), String(key));
      },
    });
  } catch (error) {
    if (error instanceof PickleError) throw new UserError(`${file}: ${prefix}data.pkl: ${error.message}`);
    throw error;
  }
  return { root, records, prefix };
}

function readTensor(ref: TensorRef, records: Record<string, Uint8Array>, prefix: string, name: string, file: string): StoredTensor {
  const raw = records[`${prefix}data/${ref.storage.key}`];
  if (!raw) throw new UserError(`${file}: tensor '${name}' points to storage ${ref.storage.key}, which the archive lacks`);
  const kind = STORAGES[ref.storage.type]!;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const count = ref.shape.reduce((a, b) => a * b, 1);
  // Contiguous float32 (nearly every weight): one copy instead of a walk through the strides.
  const contiguous = ref.shape.every((_, d) => ref.stride[d] === ref.shape.slice(d + 1).reduce((a, b) => a * b, 1) || ref.shape[d] === 1);
  if (ref.storage.type === 'FloatStorage' && contiguous) {
    const start = ref.offset * 4;
    if (start + count * 4 > raw.byteLength) throw new UserError(`${file}: tensor '${name}' reaches past the end of its storage`);
    return { shape: [...ref.shape], data: new Float32Array(raw.buffer.slice(raw.byteOffset + start, raw.byteOffset + start + count * 4)) };
  }
  const data = kind.integer ? new Int32Array(count) : new Float32Array(count);
  // Walks the tensor in row-major order through its strides, so views and transposes read right.
  const index = new Array<number>(ref.shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let element = ref.offset;
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
  if (!(root instanceof PickledDict)) throw new UserError(`${file}: holds no dict of tensors (a whole pickled model is not read: save model.state_dict() instead)`);
  const tensors = root.entries.filter(([, v]) => v instanceof TensorRef).length;
  if (tensors > 0) return root;
  for (const key of ['state_dict', 'model', 'model_state_dict']) {
    const inner = root.get(key);
    if (inner instanceof PickledDict) return inner;
  }
  const keys = root.entries.map(([k]) => String(k)).slice(0, 8).join(', ');
  throw new UserError(`${file}: a dict without tensors or a 'state_dict' entry (keys: ${keys})`);
}

/**
 * Reads a PyTorch checkpoint (torch.save's zip format) into a state dict: a plain state dict or
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
  const { root, records, prefix } = readArchive(bytes, file);
  const stateDict = findStateDict(root, file);
  const out = new Map<string, StoredTensor>();
  for (const [key, value] of stateDict.entries) {
    if (!(value instanceof TensorRef)) continue;
    const name = String(key).replace(/^module\./, '');
    if (out.has(name)) throw new UserError(`${file}: holds '${name}' both with and without the 'module.' prefix`);
    out.set(name, readTensor(value, records, prefix, String(key), file));
  }
  return out;
}
