// A separate Node process for the reference measurements of a cold start:
//   node dist/bench/cold-import.js           import the engine's modules, load the baseline
//                                            profile, harden the CRI config once, exit
//   node dist/bench/cold-import.js --memory  the same, then 2000 more hardenings: the RSS a warm
//                                            policy service would sit at
// Prints one JSON line on stdout: the time of each phase (ms, in this order, each after the
// previous, so a module already loaded by an earlier phase costs nothing later) and memory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const phases: Record<string, number> = {};
let last = performance.now();
const lap = (name: string) => {
  const now = performance.now();
  phases[name] = Math.round((now - last) * 10) / 10;
  last = now;
};

await import('../src/json/lossless.js');
lap('import lossless JSON codec');
await import('../src/generated/validators.js');
lap('import ajv validators (precompiled)');
await import('yaml');
lap('import yaml');
const { directorySource, loadProfile } = await import('../src/profile/load.js');
lap('import profile loader');
const { harden } = await import('../src/pipeline.js');
lap('import pipeline + passes');
await import('execa');
lap('import execa');
await import('../src/runtime/engine.js');
lap('import engine (the rest)');
const { loadNative } = await import('../src/native/index.js');
loadNative();
lap('load native addon');
const { parseJson } = await import('../src/json/lossless.js');
const { benchHost } = await import('./lib/inputs.js');
const { repoRoot } = await import('../integration/lib/paths.js');
lap('import bench helpers');
const profile = loadProfile(directorySource(join(repoRoot, 'profiles')), 'baseline');
lap('loadProfile baseline (cold)');
const text = readFileSync(join(repoRoot, 'test', 'fixtures', 'cri-container.json'), 'utf8');
type SpecT = Parameters<typeof harden>[0];
const spec = parseJson(text) as unknown as SpecT;
lap('parse CRI config (cold)');
const host = benchHost(spec);
harden(spec, profile, host);
lap('harden CRI config (cold)');
harden(spec, profile, host);
lap('harden CRI config (second call)');
const rssAfterFirst = process.memoryUsage().rss;
let iterations = 0;
if (process.argv.includes('--memory')) {
  for (; iterations < 2000; iterations++) harden(parseJson(text) as unknown as SpecT, profile, host);
}
const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
process.stdout.write(JSON.stringify({
  sinceProcessStartMs: Math.round(performance.now() * 10) / 10,
  phases,
  rssAfterFirstMiB: mib(rssAfterFirst),
  iterations,
  rssMiB: mib(process.memoryUsage().rss),
  heapUsedMiB: mib(process.memoryUsage().heapUsed),
  maxRssMiB: mib(process.resourceUsage().maxRSS * 1024),
}) + '\n');
