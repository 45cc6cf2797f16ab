// A small CRI v1 client, as kubelet talks to containerd: gRPC over the unix socket, with the
// minimal proto beside this file (integration/containerd/cri/api.proto, loaded from the source
// tree: tsc does not copy it to dist/).
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repoRoot } from '../../lib/paths.js';

export const PROTO = join(repoRoot, 'integration', 'containerd', 'cri', 'api.proto');

type Unary = (request: object, callback: (err: grpc.ServiceError | null, response: any) => void) => void;

export interface CriClient {
  call<T = any>(service: 'runtime' | 'image', method: string, request: object, timeoutMs?: number): Promise<T>;
  close(): void;
}

export function criClient(socket: string): CriClient {
  const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const v1 = pkg.runtime.v1;
  const creds = grpc.credentials.createInsecure();
  const target = `unix://${socket}`;
  const clients = {
    runtime: new v1.RuntimeService(target, creds) as grpc.Client & Record<string, Unary>,
    image: new v1.ImageService(target, creds) as grpc.Client & Record<string, Unary>,
  };
  return {
    call(service, method, request, timeoutMs = 120_000) {
      const client = clients[service];
      const fn = client[method] as unknown as (req: object, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => void;
      if (typeof fn !== 'function') return Promise.reject(new Error(`no CRI method ${service}.${method}`));
      return new Promise((resolve, reject) => {
        fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
      });
    },
    close() {
      clients.runtime.close();
      clients.image.close();
    },
  };
}
