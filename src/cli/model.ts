import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import { selectBackend } from '../engine/backend.js';
import { clipFromTorch } from '../engine/layout.js';
import { readSafetensors } from '../io/safetensors.js';
import { countingContext, inferenceContext } from '../models/context.js';
import { ARCHITECTURES, createModel } from '../models/presets.js';
import { importTorchStateDict } from '../models/torch-weights.js';
import { ResNeXt3D, resnext3dConfig } from '../models/resnext3d.js';
import { UserError } from '../util/errors.js';
import { parseChoice, parseNumberList, parsePositiveInt } from './options.js';
import { emit } from './output.js';

export function registerModelCommand(program: Command): void {
  const model = program.command('model').description('inspect models and check converted checkpoints');
  const backend = () => program.opts<{ backend?: string }>().backend;

  model
    .command('info')
    .description('parameters, output shape and multiply-accumulates per clip of an architecture')
    .requiredOption('--arch <name>', `one of: ${ARCHITECTURES.join(', ')}`, parseChoice(ARCHITECTURES))
    .requiredOption('--classes <n>', 'number of classes', parsePositiveInt)
    .option('--frames <t>', 'frames per clip (video models; default 10 for 3D-ResNeXt)', parsePositiveInt)
    .option('--size <s>', 'frame height and width (default 224 for 3D-ResNeXt)', parsePositiveInt)
    .option('--json', 'print one JSON document', false)
    .action(async (options: { arch: string; classes: number; frames?: number; size?: number; json: boolean }) => {
      await selectBackend(backend());
      const m = createModel({ arch: options.arch, numClasses: options.classes, frames: options.frames, size: options.size });
      const [t, h, w, c] = m.inputShape;
      const context = countingContext();
      const outputShape = tf.tidy(() => m.forward(tf.zeros([1, t, h, w, c]) as tf.Tensor5D, context).shape);
      const document = {
        arch: m.arch,
        classes: m.numClasses,
        input: [1, t, h, w, c],
        parameters: m.parameters.count(),
        output: outputShape,
        macsPerClip: context.macs.count,
        gflopsPerClip: (2 * context.macs.count) / 1e9,
      };
      m.parameters.dispose();
      emit(options.json, document, () =>
        [
          `${document.arch}, ${document.classes} classes`,
          `input        [N, ${t}, ${h}, ${w}, ${c}] (N, T, H, W, C)`,
          `parameters   ${document.parameters.toLocaleString('en-US')}`,
          `output       [N, ${outputShape[1]}]`,
          `MACs / clip  ${(document.macsPerClip / 1e9).toFixed(3)} G (~${document.gflopsPerClip.toFixed(2)} GFLOPs forward)`,
        ].join('\n'),
      );
    });

  model
    .command('check')
    .description("run a converted checkpoint on a reference case (PyTorch's input and logits) and print the differences")
    .requiredOption('--arch <name>', `one of: ${ARCHITECTURES.join(', ')}`, parseChoice(ARCHITECTURES))
    .requiredOption('--init <weights.safetensors>', 'weights under PyTorch state-dict names')
    .requiredOption('--case <case.safetensors>', "tensors 'input' [N, C, T, H, W] and 'logits' [N, classes]")
    .option('--blocks <list>', '3D-ResNeXt only: blocks per stage, for a smaller member (e.g. 1,1,1,1)', parseNumberList)
    .option('--json', 'print one JSON document', false)
    .action(async (options: { arch: string; init: string; case: string; blocks?: number[]; json: boolean }) => {
      await selectBackend(backend());
      const weights = await readSafetensors(options.init);
      const reference = await readSafetensors(options.case);
      const input = reference.get('input');
      const logits = reference.get('logits');
      if (!input || input.shape.length !== 5) throw new UserError(`${options.case}: needs a 5-D tensor 'input' [N, C, T, H, W]`);
      if (!logits || logits.shape.length !== 2) throw new UserError(`${options.case}: needs a 2-D tensor 'logits' [N, classes]`);
      const [, channels, frames, size] = input.shape as [number, number, number, number, number];
      if (options.blocks && (!options.arch.startsWith('resnext3d-') || options.blocks.length !== 4 || !options.blocks.every((b) => Number.isInteger(b) && b > 0))) {
        throw new UserError('--blocks takes four positive block counts, for a resnext3d architecture');
      }
      const m = options.blocks
        ? new ResNeXt3D({ ...resnext3dConfig(Number(options.arch.split('-')[1]) || 101, logits.shape[1]!, frames, size), blocks: options.blocks as [number, number, number, number] }, 0, options.arch)
        : createModel({ arch: options.arch, numClasses: logits.shape[1]!, frames, size, channels });
      const report = importTorchStateDict(m.parameters, weights, options.init);
      const { maxAbs, maxRel } = tf.tidy(() => {
        const ours = m.forward(clipFromTorch(input), inferenceContext());
        const theirs = tf.tensor(Float32Array.from(logits.data), logits.shape);
        const diff = tf.abs(tf.sub(ours, theirs));
        const maxAbs = tf.max(diff).dataSync()[0]!;
        return { maxAbs, maxRel: maxAbs / Math.max(tf.max(tf.abs(theirs)).dataSync()[0]!, 1e-12) };
      });
      m.parameters.dispose();
      const document = { arch: options.arch, tensorsLoaded: report.loaded.length, unusedTensors: report.unused, maxAbsDiff: maxAbs, maxRelDiff: maxRel };
      emit(options.json, document, () =>
        [
          `${options.arch}: ${report.loaded.length} tensors loaded${report.unused.length ? `, ${report.unused.length} unused (${report.unused.slice(0, 5).join(', ')})` : ''}`,
          `largest absolute difference  ${maxAbs.toExponential(3)}`,
          `largest relative difference  ${maxRel.toExponential(3)} (to the largest reference logit)`,
        ].join('\n'),
      );
    });
}
