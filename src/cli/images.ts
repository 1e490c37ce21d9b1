import path from 'node:path';
import type { Command } from 'commander';
import { IMAGE_DATASETS, importImages, type ImageDataset } from '../data/images/import-images.js';
import { parseClassPair, type ClassPair } from '../data/images/class-pair.js';
import { parseChoice, parseNonNegativeNumber, parseSeed } from './options.js';
import { Progress } from '../util/progress.js';
import { emit, table } from './output.js';

export function registerImagesCommand(program: Command): void {
  program
    .command('images')
    .description("build one of the paper's imbalanced image datasets from its public files, as one-frame clips the video pipeline trains on")
    .requiredOption('--dataset <name>', `${IMAGE_DATASETS.join(', ')}`, parseChoice(IMAGE_DATASETS))
    .requiredOption('--source <dir>', "the source files: MNIST's four IDX files (plain or .gz), CIFAR's binary version, or the ImageNet root")
    .option('--lists <dir>', 'imagenet-lt: the folder with ImageNet_LT_{train,val,test}.txt (default: --source)')
    .option('--out <dir>', 'dataset root to write (default: data/<dataset>)')
    .option('--majority-ratio <r>', 'mnist-imbalanced: share of the majority digit (9) among the 5000 training images', parseNonNegativeNumber, 0.99)
    .option('--classes <minority,majority>', 'mnist-imbalanced: the two source labels, minority first (Fashion-MNIST coat vs pullover: 4,2)', parseClassPair, {
      minority: 4,
      majority: 9,
    })
    .option('--imbalance <n>', 'cifar*-lt: largest class size over the smallest', parseNonNegativeNumber, 100)
    .option('--seed <n>', 'seed of every choice of images (a whole number >= 0)', parseSeed, 1)
    .option('--json', 'print one JSON document', false)
    .action(
      async (o: {
        dataset: ImageDataset;
        source: string;
        lists?: string;
        out?: string;
        majorityRatio: number;
        classes: ClassPair;
        imbalance: number;
        seed: number;
        json: boolean;
      }) => {
        const out = o.out ?? path.join('data', o.dataset);
        // The bar (a line at every tenth in a log) counts the images written and those already there.
        let progress: Progress | null = null;
        let result;
        try {
          result = await importImages({
            dataset: o.dataset,
            source: o.source,
            ...(o.lists ? { lists: o.lists } : {}),
            out,
            seed: o.seed,
            majorityRatio: o.majorityRatio,
            classes: o.classes,
            imbalance: o.imbalance,
            onImage: (written, total) => {
              progress ??= new Progress('images', total, 'images');
              progress.tick(written ? 'done' : 'skipped', written ? 1 : 0);
            },
          });
        } finally {
          (progress as Progress | null)?.finish();
        }
        const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
        emit(o.json, result, () =>
          [
            `${o.dataset} in ${out} (seed ${result.seed}): ${result.written} images written, ${result.skipped} already there`,
            table(
              ['split', 'images', 'largest class', 'smallest class'],
              (['train', 'validation', 'test'] as const).map((part) => [
                part,
                String(sum(result.counts[part])),
                String(Math.max(...result.counts[part])),
                String(Math.min(...result.counts[part])),
              ]),
            ),
          ].join('\n'),
        );
      },
    );
}
