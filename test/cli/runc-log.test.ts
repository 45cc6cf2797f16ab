import t from 'tap';
import { lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  appendLogLine, denialMessage, formatGoTime, formatLogLine, goJsonString, goQuote,
} from '../../src/cli/runc-log.js';
import type { LogLevel } from '../../src/cli/runc-log.js';
import type { Finding } from '../../src/passes/types.js';

const AT = new Date('2026-11-23T17:54:28Z');

// Test names in ASCII: a raw U+2028 in a name would break the TAP stream itself.
const ascii = (text: string): string =>
  JSON.stringify(text).replace(/[^\x20-\x7e]/gu, (ch) => `\\u{${(ch.codePointAt(0) ?? 0).toString(16)}}`);

// Lines runc 1.1.5 itself wrote (`runc --log F --log-format json|text create -b <bundle> cid`
// with a bundle that does not exist), cut to the bundle part of the message:
// [bundle, as it appears in the json line, as it appears in the text line].
const RUNC_WROTE: Array<[string, string, string]> = [
  ['/q"uote', '/q\\"uote', '/q\\"uote'],
  ['/back\\slash', '/back\\\\slash', '/back\\\\slash'],
  ['/nl\nx', '/nl\\nx', '/nl\\nx'],
  ['/tab\u0009x', '/tab\\tx', '/tab\\tx'],
  ['/<a>&b', '/\\u003ca\\u003e\\u0026b', '/<a>&b'],
  ['/\u00e9', '/\u00e9', '/\u00e9'],
  ['/ls\u2028x', '/ls\\u2028x', '/ls\\u2028x'],
  ['/c\u0001x', '/c\\u0001x', '/c\\x01x'],
  ['/del\u007fx', '/del\u007fx', '/del\\x7fx'],
  ['/\u{1f600}', '/\u{1f600}', '/\u{1f600}'],
  ['/nb\u00a0sp', '/nb\u00a0sp', '/nb\\u00a0sp'],
  ['/bs\u0008x', '/bs\\u0008x', '/bs\\bx'],
  ['/ff\u000cx', '/ff\\u000cx', '/ff\\fx'],
  ['/cr\u000dx', '/cr\\rx', '/cr\\rx'],
  ['/vt\u000bx', '/vt\\u000bx', '/vt\\vx'],
  ['/bell\u0007x', '/bell\\u0007x', '/bell\\ax'],
  ['/p\u2029x', '/p\\u2029x', '/p\\u2029x'],
  ['/u\u001fx', '/u\\u001fx', '/u\\x1fx'],
  ['/n\u0085x', '/n\u0085x', '/n\\u0085x'],
  ['/s\u00adx', '/s\u00adx', '/s\\u00adx'],
  ['/t\u{e0001}x', '/t\u{e0001}x', '/t\\U000e0001x'],
  ['/r\ufffdx', '/r\ufffdx', '/r\ufffdx'],
  ['/s\'q', '/s\'q', '/s\'q'],
];

t.test('byte for byte what runc 1.1.5 wrote', async (t) => {
  for (const [bundle, inJson, inText] of RUNC_WROTE) {
    const msg = `runc create failed: chdir ${bundle}: no such file or directory`;
    t.equal(formatLogLine('error', msg, 'json', AT),
      `{"level":"error","msg":"runc create failed: chdir ${inJson}: no such file or directory","time":"2026-11-23T17:54:28Z"}\n`,
      `json ${ascii(bundle)}`);
    t.equal(formatLogLine('error', msg, 'text', AT),
      `time="2026-11-23T17:54:28Z" level=error msg="runc create failed: chdir ${inText}: no such file or directory"\n`,
      `text ${ascii(bundle)}`);
  }
});

t.test('whole lines', async (t) => {
  const rows: Array<[LogLevel, string, 'json' | 'text', Date, string]> = [
    // `runc --log F --log-format json state nope`, and the same in text.
    ['error', 'container does not exist', 'json', new Date('2026-11-23T17:53:37Z'),
      '{"level":"error","msg":"container does not exist","time":"2026-11-23T17:53:37Z"}\n'],
    ['error', 'invalid container ID format', 'text', new Date('2026-11-23T17:54:22Z'),
      'time="2026-11-23T17:54:22Z" level=error msg="invalid container ID format"\n'],
    // urfave/cli's own error, logged by runc with its trailing newline.
    ['error', "No help topic for 'foo'\n", 'text', AT, 'time="2026-11-23T17:54:28Z" level=error msg="No help topic for \'foo\'\\n"\n'],
    ['error', "No help topic for 'foo'\n", 'json', AT, '{"level":"error","msg":"No help topic for \'foo\'\\n","time":"2026-11-23T17:54:28Z"}\n'],
    ['warning', 'w', 'json', AT, '{"level":"warning","msg":"w","time":"2026-11-23T17:54:28Z"}\n'],
    ['info', 'i', 'json', AT, '{"level":"info","msg":"i","time":"2026-11-23T17:54:28Z"}\n'],
    ['debug', 'd', 'json', AT, '{"level":"debug","msg":"d","time":"2026-11-23T17:54:28Z"}\n'],
    ['warning', 'w', 'text', AT, 'time="2026-11-23T17:54:28Z" level=warning msg=w\n'],
    // logrus leaves a value bare when it is only [A-Za-z0-9-._/@^+].
    ['info', 'a-Z_0.9/@^+', 'text', AT, 'time="2026-11-23T17:54:28Z" level=info msg=a-Z_0.9/@^+\n'],
    ['info', 'a b', 'text', AT, 'time="2026-11-23T17:54:28Z" level=info msg="a b"\n'],
    ['info', 'a:b', 'text', AT, 'time="2026-11-23T17:54:28Z" level=info msg="a:b"\n'],
    ['info', 'a=b', 'text', AT, 'time="2026-11-23T17:54:28Z" level=info msg="a=b"\n'],
    ['info', 'é', 'text', AT, 'time="2026-11-23T17:54:28Z" level=info msg="é"\n'],
    // An empty message: the text formatter drops msg, the json formatter keeps it.
    ['error', '', 'text', AT, 'time="2026-11-23T17:54:28Z" level=error\n'],
    ['error', '', 'json', AT, '{"level":"error","msg":"","time":"2026-11-23T17:54:28Z"}\n'],
    // Milliseconds are dropped (RFC3339, not RFC3339Nano).
    ['error', 'x', 'json', new Date('2026-01-02T03:04:05.999Z'), '{"level":"error","msg":"x","time":"2026-01-02T03:04:05Z"}\n'],
  ];
  for (const [level, msg, format, time, line] of rows) {
    t.equal(formatLogLine(level, msg, format, time), line, `${format} ${level} ${ascii(msg)}`);
  }
});

t.test('Go escaping runc cannot be shown (argv holds no NUL; JavaScript has lone surrogates)', async (t) => {
  // [input, encoding/json, strconv.Quote]
  const rows: Array<[string, string, string]> = [
    ['', '""', '""'],
    ['\u0000', '"\\u0000"', '"\\x00"'],
    // A lone surrogate stands for invalid UTF-8, which Go's encoder writes as U+FFFD.
    ['a\ud800b', '"a\\ufffdb"', '"a\\ufffdb"'],
    ['\udc00', '"\\ufffd"', '"\\ufffd"'],
  ];
  for (const [input, json, quoted] of rows) {
    t.equal(goJsonString(input), json, `json ${ascii(input)}`);
    t.equal(goQuote(input), quoted, `quote ${ascii(input)}`);
  }
});

t.test('Go time format', async (t) => {
  const rows: Array<[Date, string]> = [
    [new Date('2026-11-23T17:41:50Z'), '2026-11-23T17:41:50Z'],
    [new Date('2026-11-23T17:41:50.123+01:00'), '2026-11-23T16:41:50Z'],
    [new Date('0099-01-01T00:00:00Z'), '0099-01-01T00:00:00Z'],
    [new Date(0), '1970-01-01T00:00:00Z'],
    [new Date(Number.NaN), '0001-01-01T00:00:00Z'],
  ];
  for (const [time, text] of rows) t.equal(formatGoTime(time), text, text);
  t.doesNotThrow(() => formatLogLine('error', 'x', 'json', new Date('garbage')));
});

t.test('a denial reads as one line naming profile, field and reason', async (t) => {
  const deny = (path: string, message: string): Finding => ({ rule: 'r', path, action: 'deny', message });
  const fix = (path: string): Finding => ({ rule: 'r', path, action: 'fix', message: 'fixed' });
  const warn = (path: string): Finding => ({ rule: 'r', path, action: 'warn', message: 'warned' });
  const rows: Array<[string, Finding[], string]> = [
    ['restricted', [deny('process.capabilities', 'adds CAP_SYS_ADMIN')],
      'bulwark: denied by profile restricted: process.capabilities adds CAP_SYS_ADMIN'],
    ['restricted', [fix('process.noNewPrivileges'), warn('hostname'), deny('linux.namespaces', 'joins the host network namespace')],
      'bulwark: denied by profile restricted: linux.namespaces joins the host network namespace'],
    ['baseline', [deny('process.capabilities', 'adds CAP_SYS_ADMIN'), fix('x'), deny('mounts[3]', 'binds /var/run/docker.sock')],
      'bulwark: denied by profile baseline: process.capabilities adds CAP_SYS_ADMIN; and 1 more (run `bulwark explain` for all)'],
    ['baseline', [deny('a', 'one'), deny('b', 'two'), deny('c', 'three'), deny('d', 'four')],
      'bulwark: denied by profile baseline: a one; and 3 more (run `bulwark explain` for all)'],
    ['restricted', [deny('', 'the bundle has no process')], 'bulwark: denied by profile restricted: the bundle has no process'],
    ['restricted', [fix('a'), warn('b')], 'bulwark: denied by profile restricted'],
    ['restricted', [], 'bulwark: denied by profile restricted'],
  ];
  for (const [profile, findings, line] of rows) t.equal(denialMessage(profile, findings), line, line);
});

t.test('a denial lands in containerd\'s log.json where it reads the last error', async (t) => {
  const msg = denialMessage('restricted', [{ rule: 'capabilities', path: 'process.capabilities', action: 'deny', message: 'adds CAP_SYS_ADMIN' }]);
  const line = formatLogLine('error', msg, 'json', AT);
  t.same(JSON.parse(line), { level: 'error', msg, time: '2026-11-23T17:54:28Z' });
  t.same(Object.keys(JSON.parse(line)), ['level', 'msg', 'time']);
  t.ok(line.endsWith('}\n') && line.indexOf('\n') === line.length - 1, 'exactly one line');
});

t.test('appendLogLine', async (t) => {
  const dir = t.testdir({ 'existing.json': '{"level":"info","msg":"runc","time":"2026-11-23T17:54:28Z"}\n' });
  const fresh = join(dir, 'log.json');
  appendLogLine(fresh, 'one\n');
  appendLogLine(fresh, 'two\n');
  t.equal(readFileSync(fresh, 'utf8'), 'one\ntwo\n', 'appends, never truncates');
  t.equal(statSync(fresh).mode & 0o777, 0o600, 'a new file is 0600');

  const existing = join(dir, 'existing.json');
  writeFileSync(existing, readFileSync(existing), { mode: 0o644 });
  const before = statSync(existing).mode & 0o777;
  appendLogLine(existing, formatLogLine('error', 'bulwark: denied', 'json', AT));
  t.equal(readFileSync(existing, 'utf8').split('\n').length, 3, 'added after runc\'s line');
  t.equal(statSync(existing).mode & 0o777, before, 'an existing file keeps its mode');

  const target = join(dir, 'target');
  writeFileSync(target, '');
  const link = join(dir, 'link.json');
  symlinkSync(target, link);
  t.throws(() => appendLogLine(link, 'x\n'), { code: 'ELOOP' }, 'refuses a symlink');
  t.equal(readFileSync(target, 'utf8'), '', 'the symlink target is untouched');
  t.ok(lstatSync(link).isSymbolicLink());

  t.throws(() => appendLogLine(join(dir, 'missing', 'log.json'), 'x\n'), { code: 'ENOENT' });
  const multibyte = join(dir, 'utf8.json');
  appendLogLine(multibyte, 'é😀\n');
  t.equal(readFileSync(multibyte, 'utf8'), 'é😀\n', 'UTF-8 bytes, counted as bytes');
});
