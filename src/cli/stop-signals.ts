// Ctrl-C and SIGTERM while the CLI waits for a job (its own, or one it follows
// on a server): the first signal is recorded and asks the job to stop; a
// second one ends the process at once with 130/143.
import { signalExitCode } from './exit.js';
import type { Io, StopSignal } from './io.js';

/** Listens for SIGINT/SIGTERM until the returned function is called. */
export function listenForStop(io: Io, run: { interruptedBy: StopSignal | null }, onFirst: (signal: StopSignal) => void): () => void {
  const handlers = new Map<StopSignal, () => void>();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const handler = (): void => {
      if (run.interruptedBy !== null) io.exitNow(signalExitCode(run.interruptedBy));
      run.interruptedBy = signal;
      onFirst(signal);
    };
    handlers.set(signal, handler);
    io.onSignal(signal, handler);
  }
  return () => {
    for (const [signal, handler] of handlers) io.offSignal(signal, handler);
  };
}
