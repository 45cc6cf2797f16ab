// `make bench`: micro benchmarks, then real-container lifecycles side by side with bare runc and
// crun, then create-split; writes bench/results/{results.json,results.md,lifecycle.svg,split.json,
// split.md} (and lifecycle.png when rsvg-convert is installed). Settings (environment):
//   BENCH_SAMPLES        rounds of each container scenario (default 10)
//   BENCH_CHEAP_SAMPLES  rounds of the cheap pass-through calls state and --version (default 10x)
//   BENCH_CTR_SAMPLES    rounds of ctr run --rm and ctr task exec through containerd (default
//                        BENCH_SAMPLES)
//   BENCH_MICRO_TIME     ms of measuring per micro task (default 300)
//   BENCH_ONLY           micro | lifecycle | split (default: all three)
//   BENCH_SPLIT_SAMPLES  rounds of create-split, where a warm create's overhead goes (default
//                        max(30, 3 x BENCH_SAMPLES); bench/split.ts)
//   BENCH_SPLIT_BUSY_MS  ms create-split's control arm spins before its create (default 3.5)
//   BENCH_FILTER         only micro tasks / lifecycle scenarios whose name contains this (a
//                        comma-separated list: any of these)
//   BENCH_VARIANTS       which ways of running Bulwark get arms: cold, warm (a comma-separated
//                        list; default both)
//   BENCH_EXTRA_LAUNCHER another build of bin/bulwark-runtime, measured next to it in the
//                        pass-through scenario (before/after comparisons of the launcher)
//   BENCH_RESULTS        output directory (default bench/results)
//   BENCH_TMPDIR         where bundles, runtime roots and Bulwark's state go (default /dev/shm
//                        when it is a tmpfs: on a node, containerd's bundles and runc's root live
//                        under /run, a tmpfs, so fsync is nearly free there; else $TMPDIR)
// Speed is never asserted: this reports, it does not pass or fail on numbers.
//
// TMPDIR must be set before the integration harness is loaded (it fixes its temp prefix when
// imported), hence this small entry point and a dynamic import of the rest.
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';

const TMPFS_MAGIC = 0x01021994;

function filesystem(path: string): string {
  try {
    const type = statfsSync(path).type;
    return type === TMPFS_MAGIC ? 'tmpfs' : type === 0xef53 ? 'ext2/3/4' : `fs magic 0x${type.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

function chooseTmpdir(): string {
  if (process.env.BENCH_TMPDIR) return process.env.BENCH_TMPDIR;
  if (filesystem('/dev/shm') === 'tmpfs') return '/dev/shm';
  return tmpdir();
}

const dir = chooseTmpdir();
process.env.TMPDIR = dir;
const { main } = await import('./main.js');
main(`${dir} (${filesystem(dir)})`).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof Error && err.name === 'Aborted') {
      process.stderr.write('\nbench: interrupted; everything it created has been removed\n');
      process.exitCode = 130;
      return;
    }
    process.stderr.write(`\nbench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
