// deploy/systemd: the socket unit must listen where the launcher looks, and the service unit
// must start `bulwark serve` (with its memory flags) so socket activation hands it that socket.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig, INSTALL_ROOT } from '../../src/host/config.js';
import { SOCKET_NAME } from '../../src/service/protocol.js';

const unit = (name: string) => readFileSync(join(INSTALL_ROOT, 'deploy', 'systemd', name), 'utf8');
const value = (text: string, key: string) => text.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);

t.test('the socket unit listens on <default stateDir>/engine.sock, root-only', async (t) => {
  const socket = unit('bulwark.socket');
  t.equal(value(socket, 'ListenStream'), join(defaultConfig().stateDir, SOCKET_NAME));
  t.equal(value(socket, 'SocketMode'), '0600');
  t.equal(value(socket, 'DirectoryMode'), '0700');
});

t.test('the service unit runs bulwark serve, activated by the socket, without mount isolation', async (t) => {
  const service = unit('bulwark.service');
  t.match(value(service, 'ExecStart'), /^\/usr\/bin\/node --max-semi-space-size=1 .*\/dist\/src\/cli\/bulwark\.js serve$/);
  t.equal(value(service, 'Requires'), 'bulwark.socket');
  for (const key of ['PrivateTmp', 'PrivateMounts', 'ProtectSystem', 'MountFlags']) t.equal(value(service, key), undefined, `no ${key}`);
});
