// One column of the matrix: one container runs every in-container attack in sequence (its init
// is `attack init`), the test execs into it while it watches (CVE-2019-5736), execs processes
// that carry the unhardened spec's privileges and a /proc/self/fd working directory, then lets
// it run the fork and memory bombs. A second, short container has its configured working
// directory under /proc/self/fd (CVE-2024-21626).
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson } from '../../src/json/lossless.js';
import type { Spec } from '../../src/spec/index.js';
import type { CommandResult, RuntimeClient } from '../lib/index.js';
import { makeBundle } from '../lib/index.js';
import type { Column } from './columns.js';
import { columnTweak, POD_CAPS, POD_USER } from './columns.js';

export interface AttackLine {
  attack: string;
  outcome: 'allowed' | 'blocked' | 'n/a' | 'error';
  how: string;
  detail: string;
  routes: Record<string, string>;
}

export interface ExecAttempt {
  result: CommandResult;
  line: AttackLine | undefined;
  /** The --process file as the runtime finally read it (Bulwark rewrites it in place). */
  processAfter?: NonNullable<Spec['process']>;
}

export interface ColumnRun {
  lines: Map<string, AttackLine>;
  phases: string[];
  original: Spec;
  hardened: Spec;
  trapExecs: CommandResult[];
  execCaps: ExecAttempt;
  execSetuid: ExecAttempt;
  execCwd: ExecAttempt;
  cwdCreate: ExecAttempt;
  /** Read on the host from the container's cgroups before it was deleted. */
  cgroup: { pidsMax?: string; memoryLimit?: string; oomKills?: number };
  durationMs: number;
}

/** Fd 7 is where runc before 1.1.12 leaked the host's /sys/fs/cgroup (CVE-2024-21626). */
export const LEAKED_FD_CWD = '/proc/self/fd/7';
const WATCH_SECONDS = 20;
const BOMB_MIB = 256;

export function parseLines(text: string): { lines: Map<string, AttackLine>; phases: string[] } {
  const lines = new Map<string, AttackLine>();
  const phases: string[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    const value = JSON.parse(raw) as AttackLine | { phase: string };
    if ('phase' in value) phases.push(value.phase);
    else lines.set(value.attack, value);
  }
  return { lines, phases };
}

function firstLine(stdout: string): AttackLine | undefined {
  return [...parseLines(stdout).lines.values()][0];
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function readCgroup(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function hostCgroup(cgroupsPath: string): ColumnRun['cgroup'] {
  const oom = readCgroup(join('/sys/fs/cgroup/memory', cgroupsPath, 'memory.oom_control'));
  const kills = oom ? /oom_kill (\d+)/.exec(oom)?.[1] : undefined;
  return {
    pidsMax: readCgroup(join('/sys/fs/cgroup/pids', cgroupsPath, 'pids.max')),
    memoryLimit: readCgroup(join('/sys/fs/cgroup/memory', cgroupsPath, 'memory.limit_in_bytes')),
    oomKills: kills === undefined ? undefined : Number(kills),
  };
}

/** The attack program and the "#!/proc/self/exe" exec target an image could ship. */
function install(rootfs: string, program: string): void {
  copyFileSync(program, join(rootfs, 'bin', 'attack'));
  chmodSync(join(rootfs, 'bin', 'attack'), 0o755);
  writeFileSync(join(rootfs, 'bin', 'trap'), '#!/proc/self/exe\n', { mode: 0o755 });
}

/** A --process file from the spec containerd holds (the original, unhardened one). */
function processFile(dir: string, name: string, original: Spec, edit: (p: NonNullable<Spec['process']>) => void): string {
  const process = structuredClone(original.process!);
  edit(process);
  const path = join(dir, name);
  writeFileSync(path, `${JSON.stringify(process)}\n`, { mode: 0o644 });
  return path;
}

async function execProcess(client: RuntimeClient, id: string, file: string): Promise<ExecAttempt> {
  const result = await client.command(['exec', '--process', file, id], { timeoutMs: 60_000 });
  const after = JSON.parse(readFileSync(file, 'utf8')) as NonNullable<Spec['process']>;
  return { result, line: firstLine(result.stdout), processAfter: after };
}

export async function runColumn(column: Column, client: RuntimeClient, program: string, rootDisk: string): Promise<ColumnRun> {
  const started = Date.now();
  const tweak = columnTweak(column);
  const bundle = await makeBundle({
    label: `atk-${column.key}`,
    args: ['/bin/attack', 'init', rootDisk, String(WATCH_SECONDS), String(BOMB_MIB)],
    tweak,
  });
  install(bundle.rootfs, program);
  const original = bundle.readSpec();
  const id = bundle.id;
  const output = () => parseLines(client.output(id).stdout);
  try {
    const created = await client.create(bundle, undefined, { timeoutMs: 120_000 });
    if (created.exitCode !== 0) throw new Error(`${column.key}: create failed (exit ${created.exitCode}): ${created.stderr.trim()}`);
    const hardened = parseJson(readFileSync(join(bundle.dir, 'config.json'), 'utf8')) as unknown as Spec;
    const start = await client.start(id);
    if (start.exitCode !== 0) throw new Error(`${column.key}: start failed (exit ${start.exitCode}): ${start.stderr.trim()}`);
    await until('the attacks and the watcher', () => output().phases.includes('watching'), 90_000);

    // CVE-2019-5736: exec a "#!/proc/self/exe" target while the container watches. The watcher
    // reports once something came and went; a missed process gets two more tries.
    const trapExecs: CommandResult[] = [];
    for (let i = 0; i < 3 && !output().lines.has('runtime_exe'); i++) {
      trapExecs.push(await client.command(['exec', id, '/bin/trap'], { timeoutMs: 60_000 }));
      await until('the watcher\'s report', () => output().lines.has('runtime_exe'), 3_000).catch(() => undefined);
    }
    await until('the watcher\'s report', () => output().lines.has('runtime_exe'), (WATCH_SECONDS + 10) * 1000);

    // kubectl exec through containerd: the process file comes from the unhardened spec.
    const execCaps = await execProcess(client, id, processFile(bundle.dir, 'process-caps.json', original, (p) => {
      p.args = ['/bin/attack', 'exec_caps'];
      p.noNewPrivileges = false;
      p.capabilities = { bounding: [...POD_CAPS], effective: [...POD_CAPS], permitted: [...POD_CAPS], inheritable: [...POD_CAPS], ambient: [...POD_CAPS] };
    }));
    const execSetuid = await execProcess(client, id, processFile(bundle.dir, 'process-setuid.json', original, (p) => {
      p.args = ['/bin/attack', 'setuid'];
      p.user = { uid: POD_USER.uid, gid: POD_USER.gid };
      p.noNewPrivileges = false;
    }));
    const execCwd = await execProcess(client, id, processFile(bundle.dir, 'process-cwd.json', original, (p) => {
      p.args = ['/bin/attack', 'leaked_fd'];
      p.cwd = LEAKED_FD_CWD;
    }));

    const kill = await client.kill(id, 'USR1');
    if (kill.exitCode !== 0) throw new Error(`${column.key}: kill USR1 failed: ${kill.stderr.trim()}`);
    await until('the bombs', () => output().phases.includes('done'), 90_000);
    const cgroup = hostCgroup(bundle.cgroupsPath);
    const { lines, phases } = output();
    await client.cleanup(id);
    bundle.destroy();
    const cwdCreate = await runCwdContainer(column, client, program, rootDisk);
    return { lines, phases, original, hardened, trapExecs, execCaps, execSetuid, execCwd, cwdCreate, cgroup, durationMs: Date.now() - started };
  } catch (error) {
    const { stdout, stderr } = client.output(id);
    await client.cleanup(id);
    bundle.destroy();
    throw new Error(`${(error as Error).message}\ncontainer stdout:\n${stdout}\ncontainer stderr:\n${stderr}`);
  }
}

/** CVE-2024-21626 through the config: process.cwd under /proc/self/fd. */
async function runCwdContainer(column: Column, client: RuntimeClient, program: string, rootDisk: string): Promise<ExecAttempt> {
  const tweak = columnTweak(column);
  const bundle = await makeBundle({
    label: `atk-cwd-${column.key}`,
    args: ['/bin/attack', 'leaked_fd', rootDisk],
    tweak: (spec) => {
      tweak(spec);
      spec.process = { ...spec.process!, cwd: LEAKED_FD_CWD };
    },
  });
  install(bundle.rootfs, program);
  try {
    const result = await client.run(bundle, undefined, { timeoutMs: 120_000 });
    return { result, line: firstLine(result.stdout) };
  } finally {
    bundle.destroy();
  }
}
