// Small helpers shared by `start` and the resident proxy, kept apart so the proxy loads nothing
// heavier than node:net (node:crypto alone adds megabytes to a process's resident memory).
import { connect } from 'node:net';

export function canConnect(path: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** The proxy's record next to its socket: who it is and what it serves. */
export interface ProxyRecord {
  pid: number;
  listen: string;
  upstream: string;
}

export const recordPath = (listen: string) => `${listen.replace(/\.sock$/, '')}.json`;

