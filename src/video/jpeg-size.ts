import fs from 'node:fs/promises';

/** Width and height from a JPEG's start-of-frame marker, reading only the file's head. */
export async function jpegSize(file: string): Promise<{ width: number; height: number }> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(65536);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    let at = 2;
    if (head[0] !== 0xff || head[1] !== 0xd8) throw new Error(`${file}: not a JPEG`);
    while (at + 9 < bytesRead) {
      if (head[at] !== 0xff) throw new Error(`${file}: corrupt JPEG header`);
      const marker = head[at + 1]!;
      const length = head.readUInt16BE(at + 2);
      // SOF0..SOF15 carry the size, except DHT (C4), JPG (C8) and DAC (CC).
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: head.readUInt16BE(at + 5), width: head.readUInt16BE(at + 7) };
      }
      at += 2 + length;
    }
    throw new Error(`${file}: no frame size in the first ${bytesRead} bytes`);
  } finally {
    await handle.close();
  }
}
