import fs from 'node:fs/promises';
import { PIPELINES } from '../../pipelines/index.js';
import { validatePipeline, type Pipeline } from '../config/pipeline.js';
import { UserError } from '../util/errors.js';
import { upgradeLegacyPipeline } from '../config/legacy-pipeline.js';
import { nearestName } from '../util/nearest-name.js';
import { loadPipelineModule } from '../config/pipeline-module.js';

/** Built-in recipe names, for help texts. */
export const PIPELINE_NAMES: readonly string[] = Object.keys(PIPELINES);

/**
 * A pipeline by name: a built-in recipe (`synth`), a module whose default export is a pipeline
 * (`my-recipe.mjs`), or a JSON file (`my-recipe.json`, such as a run.json's `pipeline`). A file's
 * pipeline is validated and named by its path in messages; a module loads in a worker of its own
 * (see loadPipelineModule).
 */
export async function resolvePipeline(nameOrFile: string, options: { moduleSeconds?: number } = {}): Promise<Pipeline> {
  const builtIn = PIPELINES[nameOrFile];
  if (builtIn) return builtIn;
  if (!/[./\\]/.test(nameOrFile)) {
    const near = nearestName(nameOrFile, PIPELINE_NAMES);
    throw new UserError(
      `unknown pipeline '${nameOrFile}'; built in: ${PIPELINE_NAMES.join(', ')}${near !== null ? ` (did you mean '${near}'?)` : ''}, or give a .js/.mjs/.json file`,
    );
  }
  if (nameOrFile.endsWith('.json')) {
    let text: string;
    try {
      text = await fs.readFile(nameOrFile, 'utf8');
    } catch (error) {
      throw new UserError(`${nameOrFile}: cannot read the pipeline (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new UserError(`${nameOrFile}: not JSON (${(error as Error).message})`);
    }
    // A run folder's run.json holds its pipeline under `pipeline`.
    const candidate =
      typeof parsed === 'object' && parsed !== null && 'pipeline' in parsed && 'classes' in parsed
        ? upgradeLegacyPipeline((parsed as { pipeline: unknown }).pipeline)
        : parsed;
    return validatePipeline(candidate as Pipeline, nameOrFile);
  }
  const exported = await loadPipelineModule(nameOrFile, options.moduleSeconds);
  if (!exported) throw new UserError(`${nameOrFile}: no default export; export the pipeline object as default`);
  return validatePipeline(exported as Pipeline, nameOrFile);
}
