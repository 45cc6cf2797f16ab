// 50 parallel creates through bin/bulwark-runtime on real runc, the way a node starting a burst
// of pods calls it. integration/userns/allocation.test.ts proves the 50 ID blocks are distinct;
// this file checks the rest of what must hold when creates race: every container hardened (its
// written config, and from inside one of them), runc lists all 50, the ID ranges in the state
// directory do not overlap, every state file parses and none is half-written, the audit log has
// one whole line per create, and after deleting them all `bulwark gc` leaves the state clean.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseJson } from '../../src/json/lossless.js';
import type { Spec } from '../../src/spec/index.js';
import { specProblems } from '../../src/spec/index.js';
import { makeBundle } from '../lib/index.js';
import type { Bundle } from '../lib/index.js';
import { shippedProfile } from '../runtime/expect.js';
import { AssuranceEnv, BLOCK } from './env.js';
import { writeFigures } from './figures.js';

t.setTimeout(600_000);
const PARALLEL = Number(process.env.BULWARK_PARALLEL_CREATES ?? 50);
const POOL_START = 3_400_000_000;
const baseline = shippedProfile('baseline');

const env = new AssuranceEnv({ label: 'concurrency', poolStart: POOL_START, poolBlocks: PARALLEL + 8 });
const bundles: Bundle[] = [];
t.teardown(async () => {
  await env.dispose();
  for (const b of bundles) b.destroy();
});

/** Every file under `dir`, relative; a container's rootfs directory (rootfs/<key>/<id>) counts as one entry. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const containerRootfs = path.startsWith('rootfs/') && path.split('/').length === 3;
      if (entry.isDirectory() && !containerRootfs) walk(path);
      else out.push(path);
    }
  };
  walk('');
  return out;
}

const STATUS = /^(CapEff|NoNewPrivs|Seccomp):\s+(\S+)$/gm;

t.test(`${PARALLEL} parallel creates`, async (t) => {
  const probeOut = join(env.dir, 'inside.out');
  for (let i = 0; i < PARALLEL; i++) {
    // The first one reports from inside: capabilities, no_new_privs, seccomp mode, its ID map.
    const args = i === 0 ? ['/bin/sh', '-c', 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; cat /proc/self/uid_map'] : ['/bin/sleep', '600'];
    bundles.push(await makeBundle({ label: `par${i}`, args }));
  }
  const started = Date.now();
  const results = await Promise.all(bundles.map((b, i) => env.call(['create', '--bundle', b.dir, b.id], { cwd: b.dir, timeoutMs: 300_000, ...(i === 0 ? { stdoutFile: probeOut } : {}) })));
  const seconds = (Date.now() - started) / 1000;
  t.comment(`${PARALLEL} parallel creates: ${seconds.toFixed(1)} s`);
  t.same(results.map((r, i) => (r.exitCode === 0 ? null : `${bundles[i]!.id}: ${r.exitCode ?? r.signal} ${r.stderr.trim()}`)).filter(Boolean), [], 'every create succeeded');

  const list = await env.runc(['list', '--format', 'json']);
  const listed = (JSON.parse(list.stdout || '[]') as Array<{ id: string; status: string }>) ?? [];
  t.same(listed.map((c) => c.id).sort(), bundles.map((b) => b.id).sort(), `runc list shows all ${PARALLEL}`);
  t.ok(listed.every((c) => c.status === 'created'), 'all in state created');

  // Every bundle holds a complete, valid, hardened config and the original beside it.
  const ranges: Array<{ id: string; uid: number; gid: number }> = [];
  const problems: string[] = [];
  for (const b of bundles) {
    const spec = parseJson(readFileSync(join(b.dir, 'config.json'), 'utf8')) as unknown as Spec;
    const where = b.id;
    if (specProblems(spec).length) problems.push(`${where}: invalid: ${specProblems(spec).join('; ')}`);
    if (spec.process?.noNewPrivileges !== true) problems.push(`${where}: noNewPrivileges not set`);
    if (!spec.linux?.seccomp) problems.push(`${where}: no seccomp filter`);
    if (!spec.linux?.namespaces?.some((n) => n.type === 'user' && !n.path)) problems.push(`${where}: no user namespace of its own`);
    const caps = spec.process?.capabilities?.bounding ?? [];
    const extra = caps.filter((c) => !baseline.rules.capabilities.allow.includes(c));
    if (extra.length) problems.push(`${where}: capabilities beyond the profile: ${extra.join(', ')}`);
    if (!existsSync(join(b.dir, 'config.json.orig'))) problems.push(`${where}: no config.json.orig`);
    const leftovers = readdirSync(b.dir).filter((n) => n.endsWith('.tmp'));
    if (leftovers.length) problems.push(`${where}: temp files left: ${leftovers.join(', ')}`);
    const uid = spec.linux?.uidMappings?.[0];
    const gid = spec.linux?.gidMappings?.[0];
    if (!uid || !gid || uid.size !== BLOCK || gid.size !== BLOCK || uid.hostID === 0) problems.push(`${where}: unexpected ID maps ${JSON.stringify([uid, gid])}`);
    else ranges.push({ id: b.id, uid: uid.hostID, gid: gid.hostID });
  }
  t.same(problems, [], 'every config.json is valid and hardened (no-new-privileges, seccomp, own user namespace, capabilities within baseline, original kept, no temp file)');
  const starts = ranges.map((r) => r.uid).sort((a, b) => a - b);
  const overlaps = starts.filter((s, i) => i > 0 && s < starts[i - 1]! + BLOCK).length;
  t.equal(overlaps, 0, 'no two containers\' ID ranges overlap');
  t.ok(ranges.every((r) => r.uid === r.gid && r.uid >= POOL_START && r.uid + BLOCK <= POOL_START + BLOCK * (PARALLEL + 8)), 'every range lies in the pool, uid and gid alike');

  // The state directory: one record per container, every file whole and parseable.
  const state = files(env.stateDir);
  const stateProblems: string[] = [];
  for (const path of state) {
    const abs = join(env.stateDir, path);
    if (path.endsWith('.tmp')) stateProblems.push(`${path}: temp file left`);
    else if (path.endsWith('record.json')) {
      try {
        const record = JSON.parse(readFileSync(abs, 'utf8')) as { id: string; podKey: string; bundle: string };
        if (!path.endsWith(`/${record.id}/record.json`) || record.podKey !== record.id) stateProblems.push(`${path}: names ${record.id}/${record.podKey}`);
      } catch (e) {
        stateProblems.push(`${path}: ${(e as Error).message}`);
      }
    } else if (path.endsWith('runtime.argv')) {
      const argv = readFileSync(abs, 'utf8').split('\0');
      if (argv.length < 2 || argv[argv.length - 1] !== '' || !existsSync(argv[0]!)) stateProblems.push(`${path}: ${JSON.stringify(argv)}`);
    } else if (path.startsWith('ids/blocks/')) {
      const owner = readFileSync(abs, 'utf8');
      if (!bundles.some((b) => b.id === owner)) stateProblems.push(`${path}: owner ${owner}`);
    } else if (path.startsWith('ids/pods/')) {
      const n = Number(readlinkSync(abs));
      if (!Number.isInteger(n) || readFileSync(join(env.stateDir, 'ids', 'blocks', String(n)), 'utf8') !== path.slice('ids/pods/'.length)) stateProblems.push(`${path}: -> ${n}`);
    } else if (path.startsWith('gc/creating/')) {
      stateProblems.push(`${path}: a create mark outlived its create`);
    }
  }
  t.same(stateProblems, [], 'every state file parses and agrees with the others; no temp file, no stale create mark');
  t.equal(state.filter((p) => p.endsWith('record.json')).length, PARALLEL, `${PARALLEL} records`);
  const blocks = env.blockFiles();
  t.equal(blocks.length, PARALLEL, `${PARALLEL} ID blocks claimed`);
  t.equal(new Set(bundles.map((b) => env.podBlock(b.id))).size, PARALLEL, 'each pod links its own block');
  t.same(ranges.map((r) => (r.uid - POOL_START) / BLOCK).sort((a, b) => a - b), blocks.map(Number), 'the configs\' ID maps are exactly the claimed blocks');

  const audit = readFileSync(env.auditLog, 'utf8').split('\n').filter((l) => l !== '');
  const parsed = audit.map((l) => { try { return JSON.parse(l) as { id: string; decision: string }; } catch { return null; } });
  t.equal(parsed.filter((e) => e?.decision === 'allow').length, PARALLEL, `${PARALLEL} whole audit lines, all allow (no interleaved writes)`);
  t.same(new Set(parsed.map((e) => e?.id)).size, PARALLEL, 'one per container');

  // From inside the first container.
  const first = bundles[0]!;
  const start = await env.call(['start', first.id]);
  t.equal(start.exitCode, 0, `start: ${start.stderr.trim()}`);
  for (let i = 0; i < 100 && !/^\s*0\s+\d+\s+65536\s*$/m.test(existsSync(probeOut) ? readFileSync(probeOut, 'utf8') : ''); i++) await new Promise((r) => setTimeout(r, 100));
  const inside = readFileSync(probeOut, 'utf8');
  const status = Object.fromEntries([...inside.matchAll(STATUS)].map((m) => [m[1], m[2]]));
  const capEff = BigInt(`0x${status.CapEff ?? 'ffffffffffffffff'}`);
  t.equal(capEff & (1n << 21n), 0n, `no CAP_SYS_ADMIN inside (CapEff ${status.CapEff})`);
  t.equal(status.NoNewPrivs, '1', 'no_new_privs inside');
  t.equal(status.Seccomp, '2', 'a seccomp filter inside');
  const map = /^\s*0\s+(\d+)\s+65536\s*$/m.exec(inside);
  t.equal(Number(map?.[1]), ranges.find((r) => r.id === first.id)?.uid, 'its root is its own block\'s first ID, not host root');

  // Delete all (pass-through: no Node), then collect.
  const deleted = await Promise.all(bundles.map((b) => env.call(['delete', '--force', b.id])));
  t.same(deleted.filter((r) => r.exitCode !== 0).map((r) => r.stderr.trim()), [], 'all deleted');
  t.same(env.runcIds(), [], 'runc has none left');
  const gc = await env.gc();
  t.equal(gc.exitCode, 0, `bulwark gc: ${gc.stderr.trim()}`);
  t.equal((gc.report.removed as string[] | undefined)?.length, PARALLEL, `gc removed ${PARALLEL} records`);
  const left = files(env.stateDir).filter((p) => !['default-runtime.argv'].includes(p));
  t.same(left, [], 'the state directory holds nothing but the default runtime');
  t.same(env.mounts(), [], 'no mount left');
  t.ok(existsSync(env.stateDir) && statSync(env.stateDir).isDirectory());

  writeFigures('concurrency', {
    suite: 'integration/assurance/concurrency.test.ts',
    runtime: 'runc',
    parallelCreates: PARALLEL,
    created: results.filter((r) => r.exitCode === 0).length,
    hardened: PARALLEL - problems.length,
    distinctIdBlocks: new Set(blocks).size,
    overlappingRanges: overlaps,
    statefilesChecked: state.length,
    stateProblems: stateProblems.length,
    cleanAfterGc: left.length === 0,
    seconds: Math.round(seconds * 10) / 10,
  });
});
