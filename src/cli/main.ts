import { Command, CommanderError, Option } from 'commander';
import { BACKEND_CHOICES } from '../engine/backend.js';
import { environmentProblems, unknownEgteaVariables, type EnvironmentName } from '../util/environment.js';
import { fileSystemError, UserError } from '../util/errors.js';
import { selectBackendBeforeAction } from './backend-hook.js';
import { registerBenchCommand } from './bench.js';
import { registerCompareCommand } from './compare.js';
import { registerDemoCommand } from './demo.js';
import { registerEngineCommand } from './engine.js';
import { registerEvalCommand } from './eval.js';
import { registerImagesCommand } from './images.js';
import { registerInfoCommand } from './info.js';
import { registerSweepCommand } from './sweep.js';
import { registerSynthCommand } from './synth.js';
import { registerTrainCommand } from './train.js';
import { registerPaperCommand } from './paper.js';
import { registerPrepareCommand } from './prepare.js';
import { registerReportCommand } from './report.js';
import { registerModelCommand } from './model.js';
import { registerPipelineCommand } from './pipeline.js';
import { registerWeightsCommand } from './weights.js';

export const EXIT = { ok: 0, userError: 1, usage: 2 } as const;

export function buildProgram(): Command {
  const program = new Command('egtea')
    .description('Train action recognition on class-imbalanced video with the Class-wise Difficulty-Balanced (CDB) loss')
    .version('0.1.0')
    // The variable's value is the default; a bogus one is refused naming the variable (exit 2).
    .addOption(
      new Option('--backend <name>', 'TensorFlow backend')
        .choices(BACKEND_CHOICES)
        .env('EGTEA_BACKEND' satisfies EnvironmentName)
        .default('auto'),
    )
    .option('--verbose', 'print stack traces with errors', false)
    .showHelpAfterError()
    .configureHelp({ showGlobalOptions: true })
    .exitOverride();
  selectBackendBeforeAction(program);
  registerEngineCommand(program);
  registerInfoCommand(program);
  registerSynthCommand(program);
  registerPrepareCommand(program);
  registerImagesCommand(program);
  registerDemoCommand(program);
  registerPipelineCommand(program);
  registerTrainCommand(program);
  registerEvalCommand(program);
  registerCompareCommand(program);
  registerReportCommand(program);
  registerSweepCommand(program);
  registerPaperCommand(program);
  registerWeightsCommand(program);
  registerModelCommand(program);
  registerBenchCommand(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Before anything loads TensorFlow: some values of its variables abort or stall it.
  const problems = environmentProblems();
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`egtea: ${problem}\n`);
    return EXIT.usage;
  }
  for (const warning of unknownEgteaVariables()) process.stderr.write(`egtea: warning: ${warning}\n`);
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const verbose = program.opts<{ verbose?: boolean }>().verbose || argv.includes('--verbose');
    // A full disk, a read-only folder or a file where a folder should be: the path, not a stack.
    const shown = fileSystemError(error) ?? error;
    if (shown instanceof UserError) {
      process.stderr.write(`egtea: ${shown.message}\n`);
      if (verbose && shown.stack) process.stderr.write(`${shown.stack}\n`);
      return EXIT.userError;
    }
    process.stderr.write(`egtea: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof Error && error.stack) process.stderr.write(`${verbose ? error.stack : 'run with --verbose for the stack trace'}\n`);
    return EXIT.userError;
  }
}
