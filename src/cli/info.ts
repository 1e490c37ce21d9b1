import type { Command } from 'commander';
import { LABEL_KINDS, type LabelKind } from '../data/annotations.js';
import { summarizeDataset } from '../data/dataset-summary.js';
import { DEFAULT_VALIDATION_SUBJECTS } from '../data/splits.js';
import { parseChoice, parsePositiveInt } from './options.js';
import { emit, log, table } from './output.js';

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('clips, subjects and per-class counts of each split, and the majority/minority class groups')
    .requiredOption('--annotations <dir>', 'folder with train_split1.txt, test_split1.txt and verb_idx.txt')
    .option('--label <kind>', 'verb, noun or action', parseChoice(LABEL_KINDS), 'verb')
    .option('--val-subjects <list>', 'validation subjects carved out of the training file: names and ranges', DEFAULT_VALIDATION_SUBJECTS)
    .option('--majority <k>', 'the k most frequent training classes form the majority group', parsePositiveInt, 5)
    .option('--json', 'print one JSON document', false)
    .action(async (options: { annotations: string; label: LabelKind; valSubjects: string; majority: number; json: boolean }) => {
      const s = await summarizeDataset(options.annotations, { label: options.label, validationSubjects: options.valSubjects, majorityCount: options.majority });
      for (const warning of s.warnings) log(`warning: ${warning}`);
      emit(options.json, s, () => {
        const header = ['class', ...s.splits.map((p) => p.split)];
        const rows = s.classes.map((name, c) => [`${s.groups.majority.includes(c) ? '*' : ' '} ${name}`, ...s.splits.map((p) => p.perClass[c]!)]);
        return [
          `${s.annotations}: ${s.label} labels, ${s.classes.length} classes; validation subjects ${s.validationSubjects.join(', ')}`,
          table(
            ['split', 'clips', 'subjects', 'majority mean/class', 'minority mean/class'],
            s.splits.map((p) => [p.split, p.clips, p.subjects.length, p.groupMeans.majority.toFixed(1), p.groupMeans.minority.toFixed(1)]),
          ),
          '',
          table(header, [...rows, ['total', ...s.splits.map((p) => p.clips)]]),
          `* majority (${s.groups.majority.length} most frequent in the training file): ${s.groups.majorityNames.join(', ')}`,
        ].join('\n');
      });
    });
}
