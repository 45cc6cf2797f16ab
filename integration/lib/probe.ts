// The in-container probe (integration/probe/probe.c), built once per source version
// (integration/lib/cached-build.ts).
import { probeSource } from './paths.js';
import { staticProgram } from './cached-build.js';

/** Absolute path of the probe binary for the current probe.c, compiling it if needed. */
export const ensureProbe = staticProgram({ name: 'probe', sources: () => [probeSource] });
