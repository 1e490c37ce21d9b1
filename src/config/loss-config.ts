import { LOSSES, lossDefinition, resolveLossSettings, type LossName, type LossSettings } from '../losses/registry.js';
import { oneOf, optionName, optional, variants, type Field, type Leaf } from '../util/schema.js';

// A pipeline's loss block: one type per loss, so a setting is accepted only by the losses that
// read it. Everything here is generated from the losses' own files (src/losses/catalog/), where
// each setting and its default are spelled once.

/** A loss block: the loss's name and any of its settings (left out: the loss's default). */
export type LossConfig = { [N in LossName]: { name: N } & Partial<LossSettings<N>> }[LossName];

/** A value as the docs print it. */
function showDefault(value: unknown): string {
  return value === null ? 'null' : String(value);
}

/** A setting's schema leaf, its doc ending with its default. */
function settingField(field: Leaf, fallback: unknown): Leaf {
  return optional({ ...field, doc: `${field.doc} (default ${showDefault(fallback)})` });
}

/** The pipeline's `loss` block: the keys depend on the loss's name. */
export const LOSS_FIELD: Field = variants(
  'the loss and its settings',
  'name',
  Object.fromEntries(
    LOSSES.map((d) => [
      d.name,
      {
        name: oneOf(`the loss (${d.name} here): ${d.summary}`, [d.name]),
        ...Object.fromEntries(Object.entries(lossDefinition(d.name).settings).map(([key, s]) => [key, settingField(s.field, s.default)])),
      },
    ]),
  ),
  { settings: "a loss's settings sit in the loss block itself now, e.g. loss: { name: 'focal', gamma: 1 }" },
);

/** One loss setting as the command line offers it: the losses that take it, its leaf and each loss's default. */
export interface LossSettingOption {
  key: string;
  flag: string;
  leaf: Leaf;
  losses: { name: LossName; default: unknown }[];
}

/** Every loss setting, once, in the order the registry lists them: what `--tau`, `--gamma`, ... are generated from. */
export function lossSettingOptions(): LossSettingOption[] {
  const options = new Map<string, LossSettingOption>();
  for (const d of LOSSES) {
    for (const [key, setting] of Object.entries(lossDefinition(d.name).settings)) {
      const entry: LossSettingOption = options.get(key) ?? { key, flag: optionName(key), leaf: setting.field, losses: [] };
      entry.losses.push({ name: d.name, default: setting.default });
      options.set(key, entry);
    }
  }
  return [...options.values()];
}

/** An option's help: the losses that take it, what it must be, its meaning and defaults. */
export function lossOptionHelp(option: LossSettingOption): string {
  // The most common default, then the losses whose default differs: 'default mean (ldam: weighted)'.
  const shown = option.losses.map((l) => showDefault(l.default));
  const common = shown.reduce((best, d) => (shown.filter((x) => x === d).length > shown.filter((x) => x === best).length ? d : best), shown[0]!);
  const others = option.losses.filter((l) => showDefault(l.default) !== common).map((l) => `${l.name}: ${showDefault(l.default)}`);
  const fallback = `default ${common}${others.length > 0 ? ` (${others.join(', ')})` : ''}`;
  return `loss ${option.losses.map((l) => l.name).join(', ')}: ${option.leaf.doc} (${option.leaf.expects}; ${fallback})`;
}

/** A table of one loss's options (pipeline key, `train` option, default, meaning), for the docs; the README's CDB table is `lossOptionsTable('cdb')`. */
export function lossOptionsTable(name: LossName): string {
  return [
    '| option | `train` option | default | meaning |',
    '| --- | --- | --- | --- |',
    ...Object.entries(lossDefinition(name).settings).map(
      ([key, s]) => `| \`${key}\` | \`${optionName(key)}\` | \`${showDefault(s.default)}\` | ${s.field.doc.replace(/\|/g, '\\|')} |`,
    ),
  ].join('\n');
}

/** The README's table of CDB options. */
export function cdbOptionsTable(): string {
  return lossOptionsTable('cdb');
}

/** The loss block with every default filled in, as the run trains it (for run summaries). */
export function resolvedLoss(loss: LossConfig): LossConfig {
  return { name: loss.name, ...resolveLossSettings(loss.name, loss) } as LossConfig;
}
