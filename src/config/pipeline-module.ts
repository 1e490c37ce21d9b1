import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UserError } from '../util/errors.js';

/** How long a pipeline module may take to load before it is stopped. */
const PIPELINE_MODULE_SECONDS = 30;

// Runs in a worker: imports the module and sends back its default export (a copy), or why not.
const LOADER = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.url).then(
  (module) => {
    try {
      parentPort.postMessage({ loaded: true, value: module.default });
    } catch (error) {
      parentPort.postMessage({ loaded: false, message: 'its default export cannot be copied out of the module (' + error.message + '); export a plain pipeline object' });
    }
  },
  (error) => parentPort.postMessage({ loaded: false, message: String(error && error.message ? error.message : error) }),
);
`;

/**
 * The default export of a pipeline module, loaded in a worker of its own: a module whose
 * top-level await never settles, or that takes longer than `seconds`, is named and stopped, and
 * timers or handles it leaves open end with the worker instead of keeping egtea running.
 */
export async function loadPipelineModule(file: string, seconds = PIPELINE_MODULE_SECONDS): Promise<unknown> {
  const worker = new Worker(LOADER, { eval: true, workerData: { url: pathToFileURL(path.resolve(file)).href }, stdout: false, stderr: false });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<unknown>((resolve, reject) => {
      const fail = (reason: string) => reject(new UserError(`${file}: cannot load the pipeline (${reason})`));
      timer = setTimeout(
        () => fail(`it did not finish loading within ${seconds} s; a top-level await that waits for something that never comes?`),
        seconds * 1000,
      );
      worker.once('message', (message: { loaded: boolean; value?: unknown; message?: string }) =>
        message.loaded ? resolve(message.value) : fail(message.message ?? 'unknown error'),
      );
      worker.once('error', (error: Error) => fail(error.message));
      // Exiting before it answered: the import's promise never settled and nothing was left to wait for.
      worker.once('exit', () => fail('its top-level await never settles: the module waits on a promise nothing resolves'));
    });
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}
