import { crc32 } from 'node:zlib';

/** What a zip's central directory records of one member: its name and the CRC-32 of its bytes. */
interface Recorded {
  name: string;
  crc: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;

/** The central directory's entries; null when it cannot be found or read (the unzip reports that). */
function centralDirectory(bytes: Uint8Array): Recorded[] | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end record sits in the last 22 bytes plus a comment of up to 65535.
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === EOCD) {
      end = at;
      break;
    }
  }
  if (end < 0) return null;
  let count = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  // Large archives (torch.save past 4 GB, or many records) keep the real numbers in a zip64 record.
  if ((count === 0xffff || offset === 0xffffffff) && end >= 20 && view.getUint32(end - 20, true) === ZIP64_LOCATOR) {
    const record = Number(view.getBigUint64(end - 12, true));
    if (record + 56 > bytes.length || view.getUint32(record, true) !== ZIP64_EOCD) return null;
    count = Number(view.getBigUint64(record + 32, true));
    offset = Number(view.getBigUint64(record + 48, true));
  }
  const entries: Recorded[] = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== CENTRAL_HEADER) return null;
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    entries.push({ name: decoder.decode(bytes.subarray(offset + 46, offset + 46 + nameLength)), crc: view.getUint32(offset + 16, true) });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * The members of an unzipped archive whose bytes do not match the CRC-32 its central directory
 * recorded for them (fflate does not check): damage a zip reader would otherwise pass on.
 */
export function damagedZipMembers(archive: Uint8Array, members: Record<string, Uint8Array>): string[] {
  const recorded = centralDirectory(archive);
  if (recorded === null) return [];
  return recorded.filter((entry) => members[entry.name] !== undefined && crc32(members[entry.name]!) >>> 0 !== entry.crc >>> 0).map((entry) => entry.name);
}
