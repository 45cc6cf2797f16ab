// The TypeScript surface: argument checks, loading, and the error guard. No root needed.
import t from 'tap';
import { ADDON_PATH, isNativeError, loadNative } from '../../src/native/index.js';

t.test('loadNative finds the addon built by make and returns one object', async (t) => {
  t.match(ADDON_PATH, /\/native\/build\/Release\/bulwark_native\.node$/);
  t.equal(loadNative(), loadNative());
});

t.test('a missing addon says how to build it', async (t) => {
  t.throws(() => loadNative('/nonexistent/bulwark_native.node'), {
    message: /^bulwark: native addon not built \(run make build\)/,
  });
});

t.test('arguments are checked before they reach C++', async (t) => {
  const n = loadNative();
  t.throws(() => n.namespaceId('/proc/self/ns/net\0x'), { name: 'RangeError', code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => n.namespaceId(42 as unknown as string), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => n.closeFd(-1), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => n.closeFd(1.5), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => n.createUserNamespace([], [{ containerID: 0, hostID: 1, size: 1 }]), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => n.createUserNamespace([{ containerID: 0, hostID: 2 ** 32, size: 1 }], [{ containerID: 0, hostID: 1, size: 1 }]),
    { code: 'ERR_INVALID_ARG_VALUE', message: /uidMap\[0\]\.hostID/ });
  t.throws(() => n.createUserNamespace([{ containerID: 0, hostID: 1 } as never], [{ containerID: 0, hostID: 1, size: 1 }]),
    { code: 'ERR_INVALID_ARG_TYPE', message: /size/ });
  t.throws(() => n.idmapMount('/a', '/b', 3, 'yes' as unknown as boolean), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => n.mountAt(7 as unknown as string), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => n.mountAt('/\0'), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => n.execve('/bin/true', [], [], []), { code: 'ERR_INVALID_ARG_VALUE', message: /argv/ });
  t.throws(() => n.execve('/bin/true', ['true'], ['A=\0'], []), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => n.execve('/bin/true', ['true'], [], [-3]), { code: 'ERR_INVALID_ARG_VALUE' });
});

t.test('isNativeError recognises addon errors only', async (t) => {
  const n = loadNative();
  let err: unknown;
  try {
    n.namespaceId('/nonexistent');
  } catch (e) {
    err = e;
  }
  t.ok(isNativeError(err));
  t.notOk(isNativeError(new Error('plain')));
  t.notOk(isNativeError({ code: 'ENOENT', errno: -2, syscall: 'stat' }), 'not an Error instance');
  t.notOk(isNativeError(Object.assign(new TypeError('x'), { code: 'ERR_INVALID_ARG_TYPE' })));
});
