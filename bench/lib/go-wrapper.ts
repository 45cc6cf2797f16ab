// The benchmark's reference Go wrapper (bench/go-wrapper/main.go), built with the system's Go in
// GOPATH mode against Debian's runtime-spec Go sources (golang-github-opencontainers-specs-dev),
// so the build needs no network. Cached like the C helpers (integration/lib/cached-build.ts).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, repoRoot } from '../../integration/lib/paths.js';
import { findExecutable } from '../../integration/lib/runtimes.js';
import { cachedProgram } from '../../integration/lib/cached-build.js';

const GOPATH = process.env.BENCH_GOPATH ?? '/usr/share/gocode';
const SPECS_DIR = join(GOPATH, 'src', 'github.com', 'opencontainers', 'runtime-spec', 'specs-go');
const SOURCE_DIR = join(repoRoot, 'bench', 'go-wrapper');

/** Why the reference wrapper cannot be built here, or null. */
export function goWrapperUnavailable(): string | null {
  if (!findExecutable('go')) return 'go is not installed (apt-get install golang-go)';
  if (!existsSync(join(SPECS_DIR, 'config.go'))) return `the runtime-spec Go sources are not in ${SPECS_DIR} (apt-get install golang-github-opencontainers-specs-dev)`;
  return null;
}

/** Path of the built wrapper; call goWrapperUnavailable() first. */
export const goWrapper = cachedProgram({
  name: 'go-wrapper',
  sources: () => [join(SOURCE_DIR, 'main.go'), join(SPECS_DIR, 'config.go'), join(SPECS_DIR, 'state.go'), join(SPECS_DIR, 'version.go')],
  fingerprint: () => execFileSync(findExecutable('go')!, ['version'], { encoding: 'utf8' }).trim(),
  command: (out) => ({
    file: findExecutable('go')!,
    args: ['build', '-trimpath', '-o', out, join(SOURCE_DIR, 'main.go')],
    // GOPATH mode finds specs-go offline; GOENV=off and an explicit cache need no $HOME.
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: join(cacheDir(), 'go-cache'), GOENV: 'off', GOFLAGS: '', CGO_ENABLED: '0' },
  }),
});
