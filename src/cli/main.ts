// Entry point of the `arca` binary (bin/arca imports the built copy): runs the
// CLI on import and sets process.exitCode; it never calls process.exit, so
// stdout is always flushed.
import { processIo } from './io.js';
import { runCli } from './program.js';

// `arca backups | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

process.exitCode = await runCli(process.argv.slice(2), processIo());
