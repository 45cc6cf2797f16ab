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
  { suffix: '', label: '', env: { BULWARK_SERVICE: 'off' }, service: null },
  { suffix: '-warm', label: ', warm service', env: {}, service: ['serve'] },
];

/** The arm key of a variant: `bulwark`, `bulwark-warm`, ... (base `shim` gives `shim-warm`). */
export const variantKey = (base: string, v: BulwarkVariant): string => `${base}${v.suffix}`;

/** Where the service of a config whose state directory is `stateDir` listens (and the launcher looks). */
export { serviceSocketPath as serviceSocket } from '../../src/service/protocol.js';
