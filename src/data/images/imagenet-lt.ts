import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp, { type Metadata } from 'sharp';
import { UserError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/files.js';
import type { ImageClip } from './write-image-clips.js';

// ImageNet-LT (Liu et al., the split the CDB paper uses): three lists of '<path> <label>' lines,
// paths relative to the ImageNet root (train/<wnid>/..., val/<wnid>/...), labels 0 to 999.

const IMAGENET_LT_LISTS = { train: 'ImageNet_LT_train.txt', validation: 'ImageNet_LT_val.txt', test: 'ImageNet_LT_test.txt' } as const;

interface ListEntry {
  file: string;
  line: number;
  image: string;
  label: number;
}

async function readList(file: string): Promise<ListEntry[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `${file}: missing; --lists should hold ${Object.values(IMAGENET_LT_LISTS).join(', ')}`
        : `${file}: cannot read (${(error as Error).message})`,
    );
  }
  const entries: ListEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const match = /^(\S+)\s+(\d+)$/.exec(line);
    if (!match) throw new UserError(`${file}:${i + 1}: expected '<image path> <label>', got '${line}'`);
    if (match[1]!.split('/').includes('..') || path.isAbsolute(match[1]!))
      throw new UserError(`${file}:${i + 1}: image path '${match[1]}' leaves the ImageNet root`);
    entries.push({ file, line: i + 1, image: match[1]!, label: Number(match[2]) });
  });
  if (entries.length === 0) throw new UserError(`${file}: no images`);
  return entries;
}

/** Class names: each label's WordNet id, read from its training paths (train/<wnid>/...). */
function classNames(train: ListEntry[]): string[] {
  const count = Math.max(...train.map((e) => e.label)) + 1;
  const names = new Array<string | undefined>(count);
  for (const entry of train) {
    const wnid = entry.image.split('/').find((part) => /^n\d{8}$/.test(part));
    if (wnid === undefined) continue;
    const known = names[entry.label];
    if (known !== undefined && known !== wnid) throw new UserError(`${entry.file}:${entry.line}: label ${entry.label} is ${wnid} here but ${known} before`);
    names[entry.label] = wnid;
  }
  return Array.from({ length: count }, (_, label) => names[label] ?? `class_${label}`);
}

/**
 * ImageNet-LT's images as clips. A frame is a link to the ImageNet JPEG, so nothing is copied;
 * the ImageNet files that are not RGB JPEGs (grey, CMYK, or PNG under a .JPEG name) are re-encoded
 * as RGB JPEGs, which the loader reads.
 */
export async function imagenetLtClips(root: string, lists: string): Promise<{ classes: string[]; clips: ImageClip[] }> {
  const parts = {
    train: await readList(path.join(lists, IMAGENET_LT_LISTS.train)),
    validation: await readList(path.join(lists, IMAGENET_LT_LISTS.validation)),
    test: await readList(path.join(lists, IMAGENET_LT_LISTS.test)),
  };
  const classes = classNames(parts.train);
  const limit = pLimit(16);
  const clips = await Promise.all(
    (Object.keys(parts) as (keyof typeof parts)[]).flatMap((part) =>
      parts[part].map((entry, index) =>
        limit(async (): Promise<ImageClip> => {
          const where = `${entry.file}:${entry.line}`;
          if (entry.label >= classes.length) throw new UserError(`${where}: label ${entry.label}, but the training list has labels 0 to ${classes.length - 1}`);
          const source = path.resolve(root, entry.image);
          let meta: Metadata;
          try {
            meta = await sharp(source).metadata();
          } catch (error) {
            throw new UserError(`${where}: ${source}: not a readable image (${(error as Error).message})`);
          }
          const linkable = meta.format === 'jpeg' && meta.space === 'srgb' && meta.channels === 3;
          return {
            part,
            index,
            label: entry.label,
            width: meta.width!,
            height: meta.height!,
            write: linkable
              ? (file) => fs.symlink(source, file)
              : async (file) => writeFileAtomic(file, await sharp(source).toColourspace('srgb').jpeg({ quality: 95 }).toBuffer()),
          };
        }),
      ),
    ),
  );
  return { classes, clips };
}
