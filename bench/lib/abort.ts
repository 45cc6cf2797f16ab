// Ctrl-C (SIGINT) or SIGTERM stops a run between two samples, never in the middle of one, so every
// container, mount and temp directory it made is removed on the way out. The samples are
// synchronous; `checkpoint()` yields to the event loop so the signal handler gets to run.
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** The signal arrived: the run stops after the current sample and cleans up. */
export class Aborted extends Error {
  override name = 'Aborted';
}

let aborted = false;

/** Install the handlers for the whole run; `onSignal` says so to the user. */
export function installAbortHandlers(onSignal: () => void): void {
  const handler = () => {
    if (!aborted) onSignal();
    aborted = true;
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export async function checkpoint(): Promise<void> {
  await yieldToLoop();
  if (aborted) throw new Aborted('interrupted');
}
