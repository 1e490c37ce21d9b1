import { afterAll } from 'vitest';
import { environmentValue } from '../src/util/environment.js';
import { selectBackend } from '../src/engine/backend.js';
import { setKernelsEnabled } from '../src/engine/kernels.js';
import { removeTemporaryFolders } from './helpers.js';

// Every test file runs on the engine the environment asks for (EGTEA_BACKEND, default auto:
// native TensorFlow when installed), with egtea's kernels as EGTEA_KERNELS says: the unit
// files share one process (vitest.config.ts), and a file may have changed either.
await selectBackend();
setKernelsEnabled(environmentValue('EGTEA_KERNELS') !== '0');

// Folders made with temporaryFolder() go when their test file ends.
afterAll(removeTemporaryFolders);
