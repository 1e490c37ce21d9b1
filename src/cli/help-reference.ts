import type { Command } from 'commander';

/** One command's help, as `egtea <name> --help` prints it. */
export interface CommandHelp {
  /** The command's words after `egtea` ('' for egtea itself), e.g. 'bench model'. */
  name: string;
  help: string;
}

/** Help is written as into a pipe: 80 columns and no colour, whatever terminal runs this. */
const PIPE_WIDTH = 80;

/**
 * Every command's `--help` text, egtea's own first, then each command and its subcommands in
 * the order they were registered. `outputHelp` is what `--help` runs, so added help text counts.
 * It redirects the commands' output to collect the text: give it a program of its own.
 */
export function commandHelps(program: Command): CommandHelp[] {
  const helps: CommandHelp[] = [];
  const visit = (command: Command, words: string[]): void => {
    let help = '';
    command.configureOutput({ writeOut: (text) => (help += text), getOutHelpWidth: () => PIPE_WIDTH, getOutHasColors: () => false });
    command.outputHelp();
    helps.push({ name: words.join(' '), help });
    for (const sub of command.commands) visit(sub, [...words, sub.name()]);
  };
  visit(program, []);
  return helps;
}

const FENCE = '```';

/** The line of docs/cli.md below which `npm run docs:cli` writes; what is above it is written by hand. */
export const GENERATED_MARKER = "<!-- Generated from each command's --help by `npm run docs:cli`: edit the commands, not the text below. -->";

/** docs/cli.md's generated part: an index of the commands, then each one's help in a block of its own. */
export function cliReferenceMarkdown(program: Command): string {
  const helps = commandHelps(program);
  const title = (name: string) => `egtea${name ? ` ${name}` : ''}`;
  const anchor = (name: string) => title(name).replace(/ /g, '-');
  const lines = [GENERATED_MARKER, '', ...helps.map(({ name }) => `- [\`${title(name)}\`](#${anchor(name)})`), ''];
  for (const { name, help } of helps) lines.push(`## ${title(name)}`, '', `${FENCE}text`, help.trimEnd(), FENCE, '');
  return lines.join('\n');
}
