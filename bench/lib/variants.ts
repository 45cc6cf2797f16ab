// How Bulwark is run for a Bulwark arm: the table of variants. Every scenario that has a Bulwark
// arm (runc lifecycle, exec, ctr run, ctr exec) gets one arm per variant that is available here,
// so measuring another way of running Bulwark is one entry below.
//
//   cold   the launcher starts the Node engine for create/exec (BULWARK_SERVICE=off, so a
//          service running for the same state directory is not asked);
//   warm   `bin/bulwark serve` runs for the arm's config, listening on <stateDir>/engine.sock,
//          where the launcher looks. When it does not start, the variant is skipped with the
//          reason, never measured as something else.


export interface BulwarkVariant {
  /** What BENCH_VARIANTS calls it. */
  name: 'cold' | 'warm';
  /** Arm key suffix: '' for the first (cold) variant, so its arms keep the key `bulwark`. */
  suffix: string;
  /** Appended to the arm's label. */
  label: string;
  /** Extra environment for every Bulwark call (and for containerd, which passes it on). */
  env: Record<string, string>;
  /** Arguments of `bin/bulwark` that run the service in the foreground, or null: no service. */
  service: string[] | null;
}

export const VARIANTS: readonly BulwarkVariant[] = [
  { name: 'cold', suffix: '', label: '', env: { BULWARK_SERVICE: 'off' }, service: null },
  { name: 'warm', suffix: '-warm', label: ', warm service', env: {}, service: ['serve'] },
];

/**
 * The variants BENCH_VARIANTS names (a comma-separated list, e.g. `warm`), in table order; all of
 * them when it is unset or empty. Measuring one alone takes the others' samples out of the
 * interleaving (a cold arm's Node start between two warm samples is part of their conditions).
 */
export function chooseVariants(list: string | undefined): readonly BulwarkVariant[] {
  if (!list) return VARIANTS;
  const wanted = list.split(',').map((n) => n.trim()).filter(Boolean);
  const known = new Set<string>(VARIANTS.map((v) => v.name));
  const unknown = wanted.filter((n) => !known.has(n));
  if (unknown.length > 0 || wanted.length === 0) {
    throw new Error(`BENCH_VARIANTS=${list}: expected a comma-separated list of ${[...known].join(', ')}`);
  }
  return VARIANTS.filter((v) => wanted.includes(v.name));
}

/** The arm key of a variant: `bulwark`, `bulwark-warm`, ... (base `shim` gives `shim-warm`). */
export const variantKey = (base: string, v: BulwarkVariant): string => `${base}${v.suffix}`;

/** Where the service of a config whose state directory is `stateDir` listens (and the launcher looks). */
export { serviceSocketPath as serviceSocket } from '../../src/service/protocol.js';
