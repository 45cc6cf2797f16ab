// One call per probe run: make a bundle, run the probe with a runtime, parse its report, clean up.
import type { Spec } from '../../src/spec/index.js';
import type { BundleOptions } from './bundle.js';
import { makeBundle } from './bundle.js';
import type { CommandResult, RuntimeClient } from './runtimes.js';
import { parseProbeOutput } from './report.js';

export interface ProbeRunOptions extends Omit<BundleOptions, 'args'> {
  timeoutMs?: number;
  /** Called with the bundle's final config before the runtime runs (e.g. to record it). */
  inspect?: (spec: Spec) => void;
}

export interface ProbeRun<T> {
  result: CommandResult;
  /** Parsed report; undefined when the probe printed none (see result.stderr). */
  report: T | undefined;
  /** Why no report could be parsed. */
  problem?: string;
}

/** Run `/bin/probe <probeArgs>` in a fresh container and return its report. */
export async function runProbe<T>(runtime: RuntimeClient, probeArgs: string[], options: ProbeRunOptions = {}): Promise<ProbeRun<T>> {
  const { timeoutMs, inspect, ...bundleOptions } = options;
  const bundle = await makeBundle({ ...bundleOptions, label: bundleOptions.label ?? probeArgs[0], args: ['/bin/probe', ...probeArgs] });
  try {
    inspect?.(bundle.readSpec());
    const result = await runtime.run(bundle, undefined, { timeoutMs });
    try {
      return { result, report: parseProbeOutput<T>(result.stdout) };
    } catch (error) {
      return { result, report: undefined, problem: `${(error as Error).message}; exit ${result.exitCode ?? result.signal}; stderr: ${result.stderr.slice(-500)}` };
    }
  } finally {
    // run() already removed the container, or force-deleted it after a timeout.
    bundle.destroy();
  }
}

export class ProbeFailedError extends Error {
  readonly run: ProbeRun<unknown>;
  constructor(message: string, run: ProbeRun<unknown>) {
    super(message);
    this.name = 'ProbeFailedError';
    this.run = run;
  }
}

/** Like runProbe, for probes that must succeed: the report, or an error with the runtime's output. */
export async function probeReport<T>(runtime: RuntimeClient, probeArgs: string[], options: ProbeRunOptions = {}): Promise<T> {
  const run = await runProbe<T>(runtime, probeArgs, options);
  const { result } = run;
  if (result.exitCode !== 0 || run.report === undefined) {
    const how = result.timedOut ? 'timed out' : `exit ${result.exitCode ?? result.signal}`;
    throw new ProbeFailedError(
      `${runtime.name}: probe ${probeArgs.join(' ')} failed (${how}): ${run.problem ?? result.stderr.slice(-800)}`,
      run,
    );
  }
  return run.report;
}
