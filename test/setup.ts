import { selectBackend } from '../src/engine/backend.js';

// Every test file runs on the engine the environment asks for (EGTEA_BACKEND, default auto:
// native TensorFlow when installed).
await selectBackend();
