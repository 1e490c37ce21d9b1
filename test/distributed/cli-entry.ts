// The egtea command run from the TypeScript sources (through tsx), as bin/egtea runs dist/:
// --workers relaunches this same file for each worker.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
