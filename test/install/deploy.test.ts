// deploy/: the manifests parse, and every RuntimeClass handler is one `bulwark install containerd`
// registers (no cluster here: this is what can be checked without one).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { handlerSpecs } from '../../src/install/containerd.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const docs = (file: string) => parseAllDocuments(readFileSync(join(repo, 'deploy', file), 'utf8')).map((d) => {
  if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
  return d.toJS() as Record<string, any>;
});

t.test('runtimeclasses.yaml: handlers match the installer\'s', async (t) => {
  const classes = docs('runtimeclasses.yaml');
  t.ok(classes.every((c) => c.apiVersion === 'node.k8s.io/v1' && c.kind === 'RuntimeClass'));
  const installed = handlerSpecs({ mode: 'binary', handler: 'bulwark', profiles: ['restricted', 'strict'], kata: true, installRoot: '/opt/bulwark' }).map((h) => h.name);
  t.same(classes.map((c) => c.handler).sort(), installed.sort());
  const kata = classes.find((c) => c.handler === 'bulwark-kata')!;
  t.ok(kata.overhead?.podFixed?.memory, 'kata: overhead');
  t.ok(kata.scheduling?.nodeSelector, 'kata: scheduling');
});

t.test('daemonset.yaml: a privileged installer running bulwark install containerd', async (t) => {
  const ds = docs('daemonset.yaml').find((d) => d.kind === 'DaemonSet')!;
  const init = ds.spec.template.spec.initContainers[0];
  t.equal(init.securityContext.privileged, true);
  t.match(init.args[0], /bulwark install containerd[^\n]*\\\n\s*--config \/host\/etc\/containerd\/config\.toml/);
  t.match(init.args[0], /nsenter --target 1 .* systemctl restart containerd/);
  t.equal(ds.spec.template.spec.hostPID, true);
});
