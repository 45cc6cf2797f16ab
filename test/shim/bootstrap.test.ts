// What the real shim prints on start (containerd 1.x plain address, 2.x JSON bootstrap), what the
// proxy prints back, the shim's argv, and the proxy's socket name.
import t from 'tap';
import { formatStartOutput, parseShimArgs, parseStartOutput, unixPath } from '../../src/shim/bootstrap.js';
import { proxySocketPath } from '../../src/shim/start.js';

t.test('start output: plain addresses and JSON bootstrap parameters', async (t) => {
  const rows: Array<[string, string, ReturnType<typeof parseStartOutput> | RegExp, string | null]> = [
    ['containerd 1.x runc shim', 'unix:///run/containerd/s/abc', { address: 'unix:///run/containerd/s/abc', protocol: 'ttrpc', version: 2 }, 'unix:///p.sock'],
    ['trailing newline', 'unix:///run/containerd/s/abc\n', { address: 'unix:///run/containerd/s/abc', protocol: 'ttrpc', version: 2 }, 'unix:///p.sock'],
    ['a bare path', '/run/kata/s.sock', { address: '/run/kata/s.sock', protocol: 'ttrpc', version: 2 }, 'unix:///p.sock'],
    ['2.x JSON, version 3', '{"version":3,"address":"unix:///run/containerd/s/abc","protocol":"ttrpc"}',
      { address: 'unix:///run/containerd/s/abc', protocol: 'ttrpc', version: 3, json: { version: 3, address: 'unix:///run/containerd/s/abc', protocol: 'ttrpc' } },
      '{"version":3,"address":"unix:///p.sock","protocol":"ttrpc"}'],
    ['JSON with a field the proxy does not know', '{"version":2,"address":"unix:///s","protocol":"ttrpc","features":["x"]}',
      { address: 'unix:///s', protocol: 'ttrpc', version: 2, json: { version: 2, address: 'unix:///s', protocol: 'ttrpc', features: ['x'] } },
      '{"version":2,"address":"unix:///p.sock","protocol":"ttrpc","features":["x"]}'],
    ['JSON without protocol means ttrpc', '{"version":2,"address":"unix:///s"}', { address: 'unix:///s', protocol: 'ttrpc', version: 2, json: { version: 2, address: 'unix:///s' } }, null],
    ['grpc is reported as such', '{"version":2,"address":"unix:///s","protocol":"grpc"}', { address: 'unix:///s', protocol: 'grpc', version: 2, json: { version: 2, address: 'unix:///s', protocol: 'grpc' } }, null],
    ['JSON version 1 is a legacy address, and not a unix one', '{"version":1,"address":"unix:///s"}', /no unix socket address/, null],
    ['malformed JSON', '{"version":2,', /malformed JSON/, null],
    ['JSON without address', '{"version":2}', /has no address/, null],
    ['noise', 'shim started\n', /no unix socket address/, null],
    ['empty', '', /no unix socket address/, null],
    ['two addresses', 'unix:///a unix:///b', /no unix socket address/, null],
  ];
  for (const [name, input, want, printed] of rows) {
    if (want instanceof RegExp) {
      t.throws(() => parseStartOutput(input), { name: 'StartOutputError', message: want }, name);
      continue;
    }
    const got = parseStartOutput(input);
    t.same(got, want, name);
    if (printed !== null) t.equal(formatStartOutput(got, 'unix:///p.sock'), printed, `${name}: printed back`);
  }
});

t.test('unix addresses', async (t) => {
  t.equal(unixPath('unix:///run/x'), '/run/x');
  t.equal(unixPath('/run/x'), '/run/x');
  t.equal(unixPath('vsock://3:1024'), null);
  t.equal(unixPath('unix://'), null);
});

t.test('shim argv as containerd writes it', async (t) => {
  const rows: Array<[string[], string, Record<string, string>]> = [
    [['-namespace', 'k8s.io', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'abc', 'start'], 'start',
      { namespace: 'k8s.io', address: '/run/containerd/containerd.sock', 'publish-binary': '/usr/bin/containerd', id: 'abc' }],
    [['-namespace', 'default', '-address', '/a', '-publish-binary', '/c', '-id', 'x', '-bundle', '/b/x', 'delete'], 'delete',
      { namespace: 'default', address: '/a', 'publish-binary': '/c', id: 'x', bundle: '/b/x' }],
    [['--namespace=n', '-debug', '-id=i', 'start'], 'start', { namespace: 'n', debug: 'true', id: 'i' }],
    [['-id', 'i'], '', { id: 'i' }],
  ];
  for (const [argv, action, flags] of rows) {
    const got = parseShimArgs(argv);
    t.equal(got.action, action, argv.join(' '));
    t.same(Object.fromEntries(got.flags), flags, argv.join(' '));
  }
});

t.test('proxy socket: named by the real shim\'s address, short enough for sun_path', async (t) => {
  const a = proxySocketPath('/run/bulwark/shim', 'unix:///run/containerd/s/aaa');
  t.match(a, /^\/run\/bulwark\/shim\/[0-9a-f]{32}\.sock$/);
  t.equal(proxySocketPath('/run/bulwark/shim', 'unix:///run/containerd/s/aaa'), a, 'same shim, same proxy (a pod shares one)');
  t.not(proxySocketPath('/run/bulwark/shim', 'unix:///run/containerd/s/bbb'), a);
  t.throws(() => proxySocketPath(`/${'d'.repeat(80)}`, 'x'), { name: 'ShimError', message: /too long for a unix socket/ });
});
