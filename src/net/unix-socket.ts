// Unix-socket helpers shared by the warm policy service, the shim proxy, `bulwark doctor` and the
// shim's start/delete. Only node:net and node:fs, so the resident shim proxy stays small.
import { chmodSync } from 'node:fs';
import { connect } from 'node:net';
import type { Server } from 'node:net';

/** Does something accept connections on `path`? With `timeoutMs`, a slow answer counts as no. */
export function canConnect(path: string, timeoutMs?: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    if (timeoutMs !== undefined) s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Listen on `path` with a socket that is 0600 from birth (umask while binding, chmod after):
 * only root may ever connect, with no window in between.
 */
export function listenOwnerOnly(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const mask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.removeListener('error', reject);
        chmodSync(path, 0o600);
        resolve();
      });
    } finally {
      process.umask(mask);
    }
  });
}
