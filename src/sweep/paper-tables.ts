import type { LossName } from '../losses/registry.js';

// The published numbers of the CDB paper's imbalanced-MNIST tables (test error in %, mean and
// standard deviation over 10 runs, 4000 epochs), to print beside ours. Numbers only.

export const PAPER_RATIOS = [0.9, 0.95, 0.98, 0.99, 0.995] as const;

type Published = [mean: number, std: number][];

export interface PaperRow {
  /** The sweep's label of the same loss (null: a method egtea does not have). */
  variant: string | null;
  name: string;
  values: Published;
}

export interface PaperTable {
  id: 'table1' | 'table2';
  title: string;
  losses: LossName[];
  taus: (number | 'dynamic')[];
  rows: PaperRow[];
}

export const PAPER_TABLES: Record<'table1' | 'table2', PaperTable> = {
  table1: {
    id: 'table1',
    title: 'Table 1: test error (%) of LeNet-5 by loss and majority ratio',
    losses: ['ce', 'ifw', 'focal', 'cb', 'eql', 'cdb'],
    taus: ['dynamic'],
    rows: [
      {
        variant: 'ce',
        name: 'CE',
        values: [
          [1.5, 0.51],
          [2.36, 0.46],
          [5.09, 0.41],
          [8.59, 0.41],
          [14.35, 1.1],
        ],
      },
      {
        variant: 'ifw',
        name: 'IFW',
        values: [
          [1.16, 0.4],
          [1.74, 0.31],
          [3.13, 0.74],
          [6.01, 0.56],
          [8.94, 0.7],
        ],
      },
      {
        variant: 'focal',
        name: 'Focal',
        values: [
          [1.74, 0.26],
          [2.78, 0.29],
          [6.67, 0.63],
          [11.11, 1.2],
          [17.17, 0.86],
        ],
      },
      {
        variant: 'cb',
        name: 'CB',
        values: [
          [1.07, 0.23],
          [1.79, 0.39],
          [3.58, 0.71],
          [5.88, 1.2],
          [8.61, 1.11],
        ],
      },
      {
        variant: 'eql',
        name: 'EQL',
        values: [
          [1.49, 0.34],
          [2.26, 0.41],
          [2.43, 0.14],
          [2.6, 0.33],
          [3.71, 0.41],
        ],
      },
      {
        variant: null,
        name: 'L2RW',
        values: [
          [1.24, 0.69],
          [1.76, 1.12],
          [2.06, 0.85],
          [2.63, 0.65],
          [3.94, 1.23],
        ],
      },
      {
        variant: 'cdb(tau=dynamic)',
        name: 'CDB-CE (dynamic tau)',
        values: [
          [0.74, 0.14],
          [1.27, 0.33],
          [1.65, 0.26],
          [2.39, 0.41],
          [3.71, 0.27],
        ],
      },
    ],
  },
  table2: {
    id: 'table2',
    title: 'Table 2: test error (%) of LeNet-5 with CDB-CE by tau and majority ratio',
    losses: ['cdb'],
    taus: [0.5, 1, 1.5, 2, 5, 7, 'dynamic'],
    rows: [
      {
        variant: 'cdb(tau=0.5)',
        name: 'tau 0.5',
        values: [
          [1.06, 0.34],
          [1.43, 0.24],
          [1.93, 0.27],
          [2.59, 0.44],
          [4.03, 0.41],
        ],
      },
      {
        variant: 'cdb(tau=1)',
        name: 'tau 1',
        values: [
          [0.9, 0.27],
          [1.38, 0.2],
          [1.86, 0.3],
          [2.49, 0.57],
          [3.94, 0.36],
        ],
      },
      {
        variant: 'cdb(tau=1.5)',
        name: 'tau 1.5',
        values: [
          [0.85, 0.19],
          [1.35, 0.31],
          [1.71, 0.28],
          [2.31, 0.38],
          [3.54, 0.25],
        ],
      },
      {
        variant: 'cdb(tau=2)',
        name: 'tau 2',
        values: [
          [0.75, 0.15],
          [1.21, 0.32],
          [1.75, 0.36],
          [2.23, 0.34],
          [3.65, 0.41],
        ],
      },
      {
        variant: 'cdb(tau=5)',
        name: 'tau 5',
        values: [
          [0.88, 0.25],
          [1.19, 0.36],
          [2.0, 0.32],
          [2.51, 0.41],
          [3.78, 0.43],
        ],
      },
      {
        variant: 'cdb(tau=7)',
        name: 'tau 7',
        values: [
          [0.96, 0.2],
          [1.2, 0.2],
          [2.04, 0.3],
          [2.64, 0.4],
          [4.13, 0.37],
        ],
      },
      {
        variant: 'cdb(tau=dynamic)',
        name: 'dynamic tau',
        values: [
          [0.74, 0.14],
          [1.27, 0.33],
          [1.65, 0.26],
          [2.39, 0.41],
          [3.71, 0.27],
        ],
      },
    ],
  },
};

/** The paper's layout (losses down, ratios across), each cell ours beside the paper's. */
export function paperTableMarkdown(
  table: PaperTable,
  ratios: readonly number[],
  ours: (variant: string, ratio: number) => { mean: number | null; std: number | null; n: number } | null,
): string {
  const f = (v: number) => v.toFixed(2);
  const header = ['loss', ...ratios.map((r) => `${r}: ours`), ...ratios.map((r) => `${r}: paper`)];
  const rows = table.rows.map((row) => [
    row.name,
    ...ratios.map((r) => {
      const cell = row.variant === null ? null : ours(row.variant, r);
      if (cell === null || cell.mean === null) return row.variant === null ? '-' : 'n/a';
      return `${f(100 * cell.mean)} ± ${cell.std === null ? 'n/a' : f(100 * cell.std)}${cell.n > 0 ? ` (${cell.n})` : ''}`;
    }),
    ...ratios.map((r) => {
      const i = PAPER_RATIOS.indexOf(r as (typeof PAPER_RATIOS)[number]);
      return i < 0 ? '-' : `${f(row.values[i]![0])} ± ${f(row.values[i]![1])}`;
    }),
  ]);
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
