// Public surface of the CLI layer: run `arca` with a given argv and Io (the
// binary's entry point is main.ts).
export { runCli, buildProgram } from './program.js';
export { processIo, type Io } from './io.js';
