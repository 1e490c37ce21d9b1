/**
 * TensorBoard's event files: TFRecord framing (length, masked CRC-32C of the length, data,
 * masked CRC-32C of the data) around protobuf `Event` messages holding scalar summaries. Only
 * the fields egtea writes are encoded and decoded.
 */

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotated right by 15 bits plus a constant. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One event: a file version marker, or scalars at a step. */
export interface ScalarEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: { tag: string; value: number }[];
}

// --- protobuf, the few wire types used: varint (0), 64-bit (1), length-delimited (2), 32-bit (5)
function varint(value: number): number[] {
  const out: number[] = [];
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
const lengthDelimited = (field: number, bytes: Uint8Array | number[]) => [...key(field, 2), ...varint(bytes.length), ...bytes];

function encodeEvent(event: ScalarEvent): Uint8Array {
  const out: number[] = [];
  const wall = new DataView(new ArrayBuffer(8));
  wall.setFloat64(0, event.wallTime, true);
  out.push(...key(1, 1), ...new Uint8Array(wall.buffer)); // wall_time: double
  out.push(...key(2, 0), ...varint(event.step)); // step: int64
  if (event.fileVersion !== undefined) out.push(...lengthDelimited(3, new TextEncoder().encode(event.fileVersion)));
  if (event.scalars.length > 0) {
    const summary: number[] = [];
    for (const { tag, value } of event.scalars) {
      const simple = new DataView(new ArrayBuffer(4));
      simple.setFloat32(0, value, true);
      // Summary.Value: tag (1), simple_value (2, float)
      summary.push(...lengthDelimited(1, [...lengthDelimited(1, new TextEncoder().encode(tag)), ...key(2, 5), ...new Uint8Array(simple.buffer)]));
    }
    out.push(...lengthDelimited(5, summary)); // summary
  }
  return Uint8Array.from(out);
}

/** Events framed as TFRecords, ready to be written or appended to an event file. */
export function encodeEvents(events: readonly ScalarEvent[]): Buffer {
  const parts: Buffer[] = [];
  for (const event of events) {
    const data = encodeEvent(event);
    const header = Buffer.alloc(12);
    header.writeBigUInt64LE(BigInt(data.length), 0);
    header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
    const footer = Buffer.alloc(4);
    footer.writeUInt32LE(maskedCrc32c(data), 0);
    parts.push(header, Buffer.from(data), footer);
  }
  return Buffer.concat(parts);
}

class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly where: string,
  ) {}
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.bytes.length) throw new Error(`${this.where}: truncated varint`);
      const byte = this.bytes[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
      shift += 7n;
    }
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) throw new Error(`${this.where}: truncated field`);
    this.pos += n;
    return this.bytes.subarray(this.pos - n, this.pos);
  }
  /** Fields as (number, wire type, payload); payloads of unknown fields are skipped. */
  *fields(): Generator<{ field: number; wire: number; value: bigint | Uint8Array }> {
    while (this.pos < this.bytes.length) {
      const k = Number(this.varint());
      const field = k >>> 3;
      const wire = k & 7;
      if (wire === 0) yield { field, wire, value: this.varint() };
      else if (wire === 1) yield { field, wire, value: this.take(8) };
      else if (wire === 2) yield { field, wire, value: this.take(Number(this.varint())) };
      else if (wire === 5) yield { field, wire, value: this.take(4) };
      else throw new Error(`${this.where}: unsupported wire type ${wire}`);
    }
  }
}

const float64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
const float32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);

function decodeEvent(data: Uint8Array, where: string): ScalarEvent {
  const event: ScalarEvent = { wallTime: 0, step: 0, scalars: [] };
  for (const f of new Reader(data, where).fields()) {
    if (f.field === 1 && f.wire === 1) event.wallTime = float64(f.value as Uint8Array);
    else if (f.field === 2 && f.wire === 0) event.step = Number(f.value);
    else if (f.field === 3 && f.wire === 2) event.fileVersion = new TextDecoder().decode(f.value as Uint8Array);
    else if (f.field === 5 && f.wire === 2) {
      for (const v of new Reader(f.value as Uint8Array, where).fields()) {
        if (v.field !== 1 || v.wire !== 2) continue;
        let tag = '';
        let value: number | null = null;
        for (const p of new Reader(v.value as Uint8Array, where).fields()) {
          if (p.field === 1 && p.wire === 2) tag = new TextDecoder().decode(p.value as Uint8Array);
          else if (p.field === 2 && p.wire === 5) value = float32(p.value as Uint8Array);
        }
        if (value !== null) event.scalars.push({ tag, value });
      }
    }
  }
  return event;
}

/** Reads an event file, checking every record's length and data CRCs. */
export function decodeEvents(bytes: Uint8Array, where: string): ScalarEvent[] {
  const events: ScalarEvent[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) throw new Error(`${where}: a record header cut at byte ${pos}`);
    const length = Number(view.getBigUint64(pos, true));
    if (view.getUint32(pos + 8, true) !== maskedCrc32c(bytes.subarray(pos, pos + 8))) throw new Error(`${where}: bad length CRC at byte ${pos}`);
    const data = bytes.subarray(pos + 12, pos + 12 + length);
    if (data.length !== length || pos + 16 + length > bytes.length) throw new Error(`${where}: a record cut at byte ${pos}`);
    if (view.getUint32(pos + 12 + length, true) !== maskedCrc32c(data)) throw new Error(`${where}: bad data CRC at byte ${pos}`);
    events.push(decodeEvent(data, where));
    pos += 16 + length;
  }
  return events;
}
