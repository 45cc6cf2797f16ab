// Shapes of the lifecycle results (results.json) and options, shared by the scenarios, the
// orchestrator and the report.
import type { BulwarkVariant } from './lib/variants.js';
import type { ArmInfo } from './lib/lab.js';
import type { Progress } from './lib/progress.js';

export type { ArmInfo };

export interface ScenarioResult {
  key: string;
  title: string;
  notes: string[];
  /** The arm every other arm is compared with. */
  baseline: string;
  arms: ArmInfo[];
  /** Steps timed per sample, in order; `total` (when present) is the sum the headline uses. */
  steps: string[];
  headlineStep: string;
  /** arm -> step -> one value per round (ms), in round order. */
  samples: Record<string, Record<string, number[]>>;
  /** Per round, the order the arms ran in. */
  order: string[][];
}

export interface MemoryResult {
  /** Peak RSS (MiB) of the whole `create` process; for Bulwark: max(engine, runc after exec). */
  createPeakRssMiB: Record<string, number[]>;
  /** A Node process holding the engine's modules after 2000 hardenings: a warm service's floor. */
  warmEngine: Record<string, number> | null;
  /** Where a cold engine start goes (bench/cold-import.ts): phase -> ms per run. */
  coldPhases: Record<string, number[]>;
  /** Time from process start to the end of the first hardening, per run. */
  coldTotalMs: number[];
  /** The warm policy services after every arm ran (the long-lived Bulwark process). */
  services: ServiceMemory[];
  notes: string[];
}

/** /proc/<pid>/status of a running `bulwark serve`, in MiB. */
export interface ServiceMemory {
  vmRssMiB: number;
  /** Private (anonymous) pages: what this process alone costs. */
  rssAnonMiB: number;
  /** File-backed pages, mostly Node's own executable, shared with every other node process. */
  rssFileMiB: number;
}

/** What bench/cold-import.ts prints. */
export interface ColdImport {
  sinceProcessStartMs: number;
  phases: Record<string, number>;
  rssAfterFirstMiB: number;
  iterations: number;
  rssMiB: number;
  heapUsedMiB: number;
  maxRssMiB: number;
}

export interface LifecycleReport {
  scenarios: ScenarioResult[];
  memory: MemoryResult;
  skipped: string[];
  notMeasured: string[];
  versions: Record<string, string>;
}

export interface LifecycleOptions {
  /** Rounds of the expensive scenarios (container lifecycles, exec, features); kill/delete get
   *  3x and the reference spawns 2x. */
  samples: number;
  /** Rounds of the cheap pass-through calls `state` and `--version`. */
  cheapSamples: number;
  /** Rounds of `ctr run --rm` and `ctr task exec` through containerd. */
  ctrSamples: number;
  progress: Progress;
  /** Only scenarios whose key contains this. */
  filter?: string;
  /** The ways of running Bulwark to measure (default: every entry of VARIANTS). */
  variants?: readonly BulwarkVariant[];
}

