import type { Command } from 'commander';
import { activeEngine, selectBackend, type EngineInfo } from '../engine/backend.js';

type Options = Record<string, unknown>;

/**
 * The commands that run TensorFlow (by their path under `egtea`), each with when it does: the
 * backend `--backend` names is selected before their action, and only for them, so the others
 * start without loading TensorFlow. `train --workers` only launches workers (which select their
 * own); `model convert` needs a model only to check the tensors against `--arch`.
 */
const ENGINE_COMMANDS: Record<string, (options: Options) => boolean> = {
  engine: () => true,
  'engine check': () => true,
  demo: () => true,
  train: (o) => !(typeof o.workers === 'number' && o.workers > 1),
  eval: () => true,
  weights: () => true,
  'sweep-cell': () => true,
  'sweep-pack': () => true,
  'model info': () => true,
  'model convert': (o) => o.arch !== undefined,
  'model check': () => true,
  'bench engine': () => true,
  'bench loader': () => true,
  'bench sweep': () => true,
};

/** A command's path under the program: 'train', 'model info'. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Whether a command about to run needs the backend, given its parsed options. */
function runsOnEngine(command: Command): boolean {
  return ENGINE_COMMANDS[commandPath(command)]?.(command.opts()) ?? false;
}

/** Selects the backend before the action of every command that runs on it (one hook for all). */
export function selectBackendBeforeAction(program: Command): void {
  program.hook('preAction', async (_program, action) => {
    if (runsOnEngine(action)) await selectBackend(program.opts<{ backend?: string }>().backend);
  });
}

/** The engine the hook selected, for the commands that print or measure it. */
export function selectedEngine(): EngineInfo {
  const engine = activeEngine();
  if (engine === null) throw new Error('no backend selected: the command is missing from ENGINE_COMMANDS (src/cli/backend-hook.ts)');
  return engine;
}
