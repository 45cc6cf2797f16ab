// Small helpers shared by `start` and the resident proxy, kept apart so the proxy loads nothing
// heavier than node:net (node:crypto alone adds megabytes to a process's resident memory).

/** How long `start` and `delete` wait for a shim or proxy socket to answer. */
export const CONNECT_TIMEOUT_MS = 2000;

/** The proxy's record next to its socket: who it is and what it serves. */
export interface ProxyRecord {
  pid: number;
  listen: string;
  upstream: string;
}

export const recordPath = (listen: string) => `${listen.replace(/\.sock$/, '')}.json`;

