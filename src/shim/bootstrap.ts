// What a shim prints on `start`, and the shim's command line.
//
// containerd reads the address of the shim it just started from the shim's stdout: containerd 1.x
// takes the text as the address (`unix:///run/containerd/s/<hash>`); containerd 2.x first tries
// JSON bootstrap parameters {"version": 2|3, "address": ..., "protocol": "ttrpc"|"grpc"} and falls
// back to the plain address (version 2, ttrpc) when the text is not JSON or its version is below 2.
// The proxy prints its own address in the form the real shim used, with every other field kept.

export interface StartOutput {
  /** The real shim's address as printed (e.g. unix:///run/containerd/s/...). */
  address: string;
  /** Present when the shim printed JSON bootstrap parameters; kept whole for re-printing. */
  json?: Record<string, unknown>;
  protocol: string;
  version: number;
}

export class StartOutputError extends Error {
  override name = 'StartOutputError';
}

export function parseStartOutput(text: string): StartOutput {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new StartOutputError(`the real shim printed malformed JSON: ${trimmed.slice(0, 200)}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new StartOutputError('the real shim printed JSON that is not an object');
    const o = json as Record<string, unknown>;
    const version = typeof o.version === 'number' ? o.version : 0;
    // containerd itself treats a version below 2 as a legacy plain address; so does the proxy.
    if (version >= 2) {
      if (typeof o.address !== 'string' || !o.address) throw new StartOutputError('the real shim\'s bootstrap JSON has no address');
      const protocol = typeof o.protocol === 'string' && o.protocol ? o.protocol : 'ttrpc';
      return { address: o.address, json: o, protocol, version };
    }
  }
  if (!/^unix:\/\/\/\S+$/.test(trimmed) && !/^\/\S+$/.test(trimmed)) {
    throw new StartOutputError(`the real shim printed no unix socket address: ${JSON.stringify(trimmed.slice(0, 200))}`);
  }
  return { address: trimmed, protocol: 'ttrpc', version: 2 };
}

/** The proxy's address in the real shim's format. */
export function formatStartOutput(real: StartOutput, proxyAddress: string): string {
  if (real.json) return JSON.stringify({ ...real.json, address: proxyAddress });
  return proxyAddress;
}

/** The socket path of a unix address (`unix:///path` or `/path`); null for anything else (vsock, tcp, ...). */
export function unixPath(address: string): string | null {
  if (address.startsWith('unix://')) return address.slice('unix://'.length) || null;
  return address.startsWith('/') ? address : null;
}

export interface ShimArgs {
  /** The action: start, delete, or '' when there is none. */
  action: string;
  flags: Map<string, string>;
}

// Flags of containerd's shim command line that take a value (pkg/shim); the rest are booleans.
const VALUE_FLAGS = new Set(['namespace', 'address', 'publish-binary', 'id', 'bundle', 'socket', 'debug-level']);

/** Go `flag` syntax: -name value, -name=value, --name; the action is the first argument that is not a flag. */
export function parseShimArgs(argv: readonly string[]): ShimArgs {
  const flags = new Map<string, string>();
  let action = '';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      action = argv[i + 1] ?? '';
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      action = arg;
      break;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    if (eq >= 0) {
      flags.set(body.slice(0, eq), body.slice(eq + 1));
    } else if (VALUE_FLAGS.has(body)) {
      flags.set(body, argv[i + 1] ?? '');
      i++;
    } else {
      flags.set(body, 'true');
    }
  }
  return { action, flags };
}
