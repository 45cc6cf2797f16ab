// User namespaces made ahead of time for the warm service. An idmapped mount needs a user
// namespace holding the container's ID mapping; making one (clone a helper into a new user
// namespace, write its maps, open it) is the largest single step of a create (~0.15-0.35 ms).
// Shortly after each create's reply the service makes the one the next new pod will most likely
// need (the lowest free ID block), and hands it out when a create asks for exactly that mapping.
// Anything else is made on demand, as before. A pooled namespace is only a mapping: nothing ever
// runs in it, and the one handed out is closed by its user as usual.
import type { IDMapping } from '../spec/index.js';

export interface UsernsNative {
  createUserNamespace(uidMap: readonly IDMapping[], gidMap: readonly IDMapping[]): number;
  closeFd(fd: number): void;
}

/** At most this many namespaces wait in the pool (each is one open descriptor). */
const POOL_SIZE = 2;

function keyOf(uidMap: readonly IDMapping[], gidMap: readonly IDMapping[]): string {
  const part = (maps: readonly IDMapping[]) => maps.map((m) => `${m.containerID}:${m.hostID}:${m.size}`).join(',');
  return `${part(uidMap)}/${part(gidMap)}`;
}

export class UserNamespacePool {
  /** Mapping key -> descriptor, oldest first. */
  private readonly ready = new Map<string, number>();
  readonly stats = { made: 0, handedOut: 0, madeOnDemand: 0 };

  constructor(private readonly native: UsernsNative) {}

  /** A namespace with exactly these maps; the caller owns (and closes) the descriptor. */
  take(uidMap: readonly IDMapping[], gidMap: readonly IDMapping[]): number {
    const key = keyOf(uidMap, gidMap);
    const fd = this.ready.get(key);
    if (fd !== undefined) {
      this.ready.delete(key);
      this.stats.handedOut++;
      return fd;
    }
    this.stats.madeOnDemand++;
    return this.native.createUserNamespace(uidMap, gidMap);
  }

  /** Make one for these maps unless one is waiting; the oldest is closed beyond POOL_SIZE. */
  prepare(uidMap: readonly IDMapping[], gidMap: readonly IDMapping[]): void {
    const key = keyOf(uidMap, gidMap);
    if (this.ready.has(key)) return;
    const fd = this.native.createUserNamespace(uidMap, gidMap);
    this.stats.made++;
    this.ready.set(key, fd);
    for (const [oldKey, oldFd] of this.ready) {
      if (this.ready.size <= POOL_SIZE) break;
      this.ready.delete(oldKey);
      this.native.closeFd(oldFd);
    }
  }

  /** Descriptors waiting in the pool (for tests and the service's stats). */
  get size(): number {
    return this.ready.size;
  }

  close(): void {
    for (const fd of this.ready.values()) this.native.closeFd(fd);
    this.ready.clear();
  }
}
