import { afterAll } from 'vitest';
import { selectBackend } from '../src/engine/backend.js';
import { removeTemporaryFolders } from './helpers.js';

// Every test file runs on the engine the environment asks for (EGTEA_BACKEND, default auto:
// native TensorFlow when installed).
await selectBackend();

// Folders made with temporaryFolder() go when their test file ends.
afterAll(removeTemporaryFolders);
