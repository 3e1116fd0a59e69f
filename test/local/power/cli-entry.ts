// Runs the CLI from source (tests spawn it as a separate process: `node --import tsx cli-entry.ts ...`).
import { main } from '../../../src/cli/main.js';

await main(process.argv);
