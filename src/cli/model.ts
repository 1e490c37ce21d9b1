import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import { clipFromTorch } from '../engine/layout.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { readPth } from '../io/pth.js';
import { countingContext, inferenceContext } from '../models/context.js';
import { ARCHITECTURES, createModel } from '../models/presets.js';
import { importTorchStateDict, matchStateDict, readWeightsFile, type StateDictMatch } from '../models/torch-weights.js';
import { ResNeXt3D, resnext3dConfig } from '../models/resnext3d.js';
import { UserError } from '../util/errors.js';
import { parseChoice, parseNumberList, parsePositiveInt } from './options.js';
import { emit } from './output.js';

const list = (names: string[], most = 6) =>
  names.length === 0 ? 'none' : `${names.slice(0, most).join(', ')}${names.length > most ? `, ... (${names.length} in all)` : ''}`;
const shape = (dims: number[]) => `[${dims.join(', ')}]`;

export function registerModelCommand(program: Command): void {
  const model = program.command('model').description('inspect models and check converted checkpoints');

  model
    .command('info')
    .description('parameters, output shape and multiply-accumulates per clip of an architecture')
    .requiredOption('--arch <name>', `one of: ${ARCHITECTURES.join(', ')}`, parseChoice(ARCHITECTURES))
    .requiredOption('--classes <n>', 'number of classes', parsePositiveInt)
    .option('--frames <t>', 'frames per clip (video models; default 10 for 3D-ResNeXt)', parsePositiveInt)
    .option('--size <s>', 'frame height and width (default 224 for 3D-ResNeXt)', parsePositiveInt)
    .option('--json', 'print one JSON document', false)
    .action(async (options: { arch: string; classes: number; frames?: number; size?: number; json: boolean }) => {
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
    .command('convert')
    .description('a PyTorch checkpoint (.pth, torch.save since 1.6) as safetensors; with --arch, which tensors fit that model')
    .argument('<file>', 'the checkpoint: a state dict, or a dict holding one under state_dict (DataParallel names allowed)')
    .requiredOption('--out <file.safetensors>', 'where to write the weights (PyTorch names, module. prefixes stripped)')
    .option('--arch <name>', `check the tensors against one of: ${ARCHITECTURES.join(', ')}`, parseChoice(ARCHITECTURES))
    .option('--classes <n>', "the model's class count (default: the checkpoint's head)", parsePositiveInt)
    .option('--channels <n>', 'input channels (image models)', parsePositiveInt)
    .option('--size <s>', 'input height and width (image models whose head depends on it)', parsePositiveInt)
    .option('--json', 'print one JSON document', false)
    .action(async (file: string, options: { out: string; arch?: string; classes?: number; channels?: number; size?: number; json: boolean }) => {
      if (!options.out.endsWith('.safetensors')) throw new UserError(`--out ${options.out}: give a file name ending in .safetensors`);
      const tensors = await readPth(file);
      let match: (StateDictMatch & { arch: string; classes: number; fileClasses: number | null }) | null = null;
      if (options.arch !== undefined) {
        // The head's class count in the file, read from the model's head weight (PyTorch layout [classes, features]).
        const probe = createModel({ arch: options.arch, numClasses: 1, channels: options.channels, size: options.size });
        const headName = `${probe.headPrefix}.weight`;
        probe.parameters.dispose();
        const fileClasses = tensors.get(headName)?.shape[0] ?? null;
        const classes = options.classes ?? fileClasses;
        if (classes === null) throw new UserError(`${file}: has no '${headName}' to take the class count from; pass --classes`);
        const m = createModel({ arch: options.arch, numClasses: classes, channels: options.channels, size: options.size });
        match = { ...matchStateDict(m.parameters, tensors, m.headPrefix), arch: options.arch, classes, fileClasses };
        m.parameters.dispose();
      }
      await fs.mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
      await writeSafetensors(options.out, tensors, { source: path.basename(file) });
      const document = { file, out: options.out, tensors: tensors.size, parameters: [...tensors.values()].reduce((n, t) => n + t.data.length, 0), match };
      emit(options.json, document, () => {
        const lines = [`${file}: ${document.tensors} tensors (${document.parameters.toLocaleString('en-US')} values) written to ${options.out}`];
        if (match) {
          lines.push(`against ${match.arch} with ${match.classes} classes:`);
          lines.push(`  matched     ${match.matched.length}`);
          lines.push(`  missing     ${match.missing.length}: ${list(match.missing)}`);
          lines.push(`  extra       ${match.extra.length}: ${list(match.extra)}`);
          lines.push(
            `  mismatched  ${match.mismatched.length}: ${list(
              match.mismatched.map((t) => `${t.name} ${shape(t.file)} (model ${shape(t.model)})`),
              3,
            )}`,
          );
          if (match.head.length > 0) {
            lines.push(
              `  head: the checkpoint's ${list(match.head.map((t) => `${t.name} ${shape(t.file)}`))} are for ${match.fileClasses ?? '?'} classes; train --init gives the model a fresh head of ${match.classes} classes and loads the rest`,
            );
          }
          const usable = match.missing.length === 0 && match.mismatched.length === 0;
          lines.push(
            usable
              ? `  train --init ${options.out} loads it into ${match.arch}`
              : `  train --init would refuse it: ${match.missing.length ? 'tensors are missing' : 'shapes differ outside the head'}`,
          );
        }
        return lines.join('\n');
      });
    });

  model
    .command('check')
    .description("run a converted checkpoint on a reference case (PyTorch's input and logits) and print the differences")
    .requiredOption('--arch <name>', `one of: ${ARCHITECTURES.join(', ')}`, parseChoice(ARCHITECTURES))
    .requiredOption('--init <weights>', 'weights under PyTorch state-dict names (safetensors or .pth)')
    .requiredOption('--case <case.safetensors>', "tensors 'input' [N, C, T, H, W] and 'logits' [N, classes]")
    .option('--blocks <list>', '3D-ResNeXt only: blocks per stage, for a smaller member (e.g. 1,1,1,1)', parseNumberList)
    .option('--json', 'print one JSON document', false)
    .action(async (options: { arch: string; init: string; case: string; blocks?: number[]; json: boolean }) => {
      const weights = await readWeightsFile(options.init);
      const reference = await readSafetensors(options.case);
      const input = reference.get('input');
      const logits = reference.get('logits');
      if (input?.shape.length !== 5) throw new UserError(`${options.case}: needs a 5-D tensor 'input' [N, C, T, H, W]`);
      if (logits?.shape.length !== 2) throw new UserError(`${options.case}: needs a 2-D tensor 'logits' [N, classes]`);
      const [, channels, frames, size] = input.shape as [number, number, number, number, number];
      if (
        options.blocks &&
        (!options.arch.startsWith('resnext3d-') || options.blocks.length !== 4 || !options.blocks.every((b) => Number.isInteger(b) && b > 0))
      ) {
        throw new UserError('--blocks takes four positive block counts, for a resnext3d architecture');
      }
      const m = options.blocks
        ? new ResNeXt3D(
            {
              ...resnext3dConfig(Number(options.arch.split('-')[1]) || 101, logits.shape[1]!, frames, size),
              blocks: options.blocks as [number, number, number, number],
            },
            0,
            options.arch,
          )
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
