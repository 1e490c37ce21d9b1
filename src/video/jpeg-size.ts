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

/**
 * Why `file` is not a whole JPEG, or null when it is: it must start with SOI (FF D8) and end
 * with EOI (FF D9). A frame cut by a full disk or a kill fails this; reading 4 bytes is cheap
 * enough to check every frame of a dataset.
 */
export async function incompleteJpeg(file: string): Promise<string | null> {
  let handle;
  try {
    handle = await fs.open(file, 'r');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (error as Error).message;
  }
  try {
    const { size } = await handle.stat();
    if (size < 4) return `${size} bytes`;
    const ends = Buffer.alloc(4);
    await handle.read(ends, 0, 2, 0);
    await handle.read(ends, 2, 2, size - 2);
    if (ends[0] !== 0xff || ends[1] !== 0xd8) return 'not a JPEG';
    if (ends[2] !== 0xff || ends[3] !== 0xd9) return `cut short (${size} bytes, no end-of-image marker)`;
    return null;
  } finally {
    await handle.close();
  }
}
