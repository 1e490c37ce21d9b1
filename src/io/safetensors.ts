import fs from 'node:fs/promises';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';

/** A tensor as stored in a safetensors file: row-major, in the file's own layout. */
export interface StoredTensor {
  shape: number[];
  data: Float32Array | Int32Array;
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function decode(dtype: string, bytes: Buffer, count: number, where: string): Float32Array | Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        word.setUint32(0, view.getUint16(i * 2, true) << 16);
        out[i] = word.getFloat32(0);
      }
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const value = view.getBigInt64(i * 8, true);
        if (value > 2147483647n || value < -2147483648n) throw new UserError(`${where}: int64 value ${value} does not fit in int32`);
        out[i] = Number(value);
      }
      return out;
    }
    default:
      throw new UserError(`${where}: unsupported dtype ${dtype}`);
  }
}

/** Parses and validates a safetensors buffer; every problem names the file and the tensor. */
export function parseSafetensors(buffer: Buffer, file: string): Map<string, StoredTensor> {
  if (buffer.length < 8) throw new UserError(`${file}: not a safetensors file (${buffer.length} bytes, shorter than its header size field)`);
  const headerSize = Number(buffer.readBigUInt64LE(0));
  if (headerSize > MAX_HEADER_BYTES || 8 + headerSize > buffer.length) {
    throw new UserError(`${file}: header size ${headerSize} does not fit in a file of ${buffer.length} bytes`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buffer.subarray(8, 8 + headerSize).toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new UserError(`${file}: the header is not valid JSON (${(error as Error).message})`);
  }
  const dataStart = 8 + headerSize;
  const dataLength = buffer.length - dataStart;
  const tensors = new Map<string, StoredTensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const where = `${file}: tensor '${name}'`;
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof entry.dtype !== 'string' || !(entry.dtype in DTYPE_BYTES)) {
      throw new UserError(`${where}: unsupported dtype ${JSON.stringify(entry.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new UserError(`${where}: shape ${JSON.stringify(shape)} is not a list of sizes`);
    }
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new UserError(`${where}: data_offsets ${JSON.stringify(offsets)} are not two byte offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) {
      throw new UserError(`${where}: data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const bytesPer = DTYPE_BYTES[entry.dtype]!;
    if (end - begin !== count * bytesPer) {
      throw new UserError(`${where}: ${end - begin} bytes stored for shape [${shape.join(', ')}] of ${entry.dtype} (expected ${count * bytesPer})`);
    }
    const bytes = buffer.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { shape: shape as number[], data: decode(entry.dtype, bytes, count, where) });
  }
  return tensors;
}

export async function readSafetensors(file: string): Promise<Map<string, StoredTensor>> {
  let buffer: Buffer;
  try {
    buffer = await fs.readFile(file);
  } catch (error) {
    throw new UserError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseSafetensors(buffer, file);
}

/** Encodes tensors as safetensors (F32 and I32), header padded to 8 bytes as the format asks. */
export function encodeSafetensors(tensors: Map<string, StoredTensor>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (count !== tensor.data.length) throw new Error(`tensor '${name}': shape [${tensor.shape}] holds ${count} values, data has ${tensor.data.length}`);
    const blob = Buffer.alloc(count * 4);
    const isFloat = tensor.data instanceof Float32Array;
    for (let i = 0; i < count; i++) {
      if (isFloat) blob.writeFloatLE(tensor.data[i]!, i * 4);
      else blob.writeInt32LE(tensor.data[i]!, i * 4);
    }
    header[name] = { dtype: isFloat ? 'F32' : 'I32', shape: tensor.shape, data_offsets: [offset, offset + blob.length] };
    blobs.push(blob);
    offset += blob.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([size, Buffer.from(json, 'utf8'), ...blobs]);
}

/** Writes atomically (temporary file, then rename), so a kill never leaves half a file. */
export async function writeSafetensors(file: string, tensors: Map<string, StoredTensor>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/** The names of the tensors holding NaN or Inf (a diverged run's, or damaged), in order. */
function nonFiniteTensors(tensors: Map<string, StoredTensor>): string[] {
  const bad: string[] = [];
  for (const [name, tensor] of tensors) {
    const data = tensor.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(Number(data[i]))) {
        bad.push(name);
        break;
      }
    }
  }
  return bad;
}

/** Refuses weights holding NaN or Inf, naming the file and the first such tensor; `consequence` says what cannot be done. */
export function checkFiniteTensors(tensors: Map<string, StoredTensor>, file: string, consequence: string): void {
  const bad = nonFiniteTensors(tensors);
  if (bad.length > 0) throw new UserError(`${file}: '${bad[0]}'${bad.length > 1 ? ` and ${bad.length - 1} more tensors` : ''} hold NaN or Inf: ${consequence}`);
}
