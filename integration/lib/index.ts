// The integration harness in one import: `import * as it from '../lib/index.js'`.
export * from './bundle.js';
export * from './cgroups.js';
export * from './checks.js';
export * from './harness.js';
export * from './paths.js';
export * from './probe.js';
export * from './report.js';
export * from './runtimes.js';
export * from './spec-tweaks.js';
