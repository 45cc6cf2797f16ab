// How Bulwark is run for a Bulwark arm: the table of variants. Every scenario that has a Bulwark
// arm (runc lifecycle, exec, ctr run, ctr exec) gets one arm per variant that is available here,
// so measuring another way of running Bulwark is one entry below.
//
//   cold   the launcher starts the Node engine for create/exec (no service configured);
//   warm   a policy service (`bin/bulwark serve --socket S`) is running and the launcher is told
//          where through Bulwark's config (`service.socket`) and the environment
//          (BULWARK_SERVICE_SOCKET). When the service does not start (this build has no `serve`,
//          or it fails), the variant is skipped with the reason, never measured as something else.

export interface BulwarkVariant {
  /** Arm key suffix: '' for the first (cold) variant, so its arms keep the key `bulwark`. */
  suffix: string;
  /** Appended to the arm's label. */
  label: string;
  /** Extra lines for Bulwark's config file (YAML), given the service socket path. */
  config(socket: string): string;
  /** Extra environment for every Bulwark call (and for containerd, which passes it on). */
  env(socket: string): Record<string, string>;
  /** Arguments of `bin/bulwark` that run the service in the foreground, or null: no service. */
  service: ((socket: string) => string[]) | null;
}

export const VARIANTS: readonly BulwarkVariant[] = [
  { suffix: '', label: '', config: () => '', env: () => ({}), service: null },
  {
    suffix: '-warm',
    label: ', warm service',
    config: (socket) => `service:\n  socket: ${socket}\n`,
    env: (socket) => ({ BULWARK_SERVICE_SOCKET: socket }),
    service: (socket) => ['serve', '--socket', socket],
  },
];

/** The arm key of a variant: `bulwark`, `bulwark-warm`, ... (base `shim` gives `shim-warm`). */
export const variantKey = (base: string, v: BulwarkVariant): string => `${base}${v.suffix}`;
