// Process entry of the cold path: the runtime engine started by the native launcher for create,
// run, exec, update and features when no warm service answers (src/service/). Never touches process.stdout/stderr on the success path: during create
// and exec those are the container's own pipes.
import { writeSync } from 'node:fs';
import { loadNative } from '../native/index.js';
import { Engine } from './engine.js';

const stderr = (text: string) => {
  try {
    writeSync(2, text);
  } catch {
    // stderr closed: the --log line is all the caller gets
  }
};

async function main(): Promise<number> {
  const native = loadNative();
  const engine = new Engine({
    native,
    env: process.env,
    cwd: process.cwd(),
    argv0: process.env.BULWARK_LAUNCHER_ARGV0 ?? process.argv[1] ?? 'bulwark-runtime',
    now: () => new Date(),
    stderr,
    stdout: (text) => void writeSync(1, text),
    capture: async (file, args) => {
      // Loaded on demand: only `features` runs a child, and importing execa costs ~90 ms of
      // every create and exec otherwise.
      const { execa } = await import('execa');
      const r = await execa(file, args, { reject: false, stdin: 'ignore' });
      return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
    },
  });
  const outcome = await engine.run(process.argv.slice(2));
  switch (outcome.kind) {
    case 'exec':
      return native.execve(outcome.path, outcome.argv, outcome.env, outcome.keepFds);
    case 'exit':
      return outcome.code;
    case 'cold':
      // Only a served engine answers `cold`; this one is the cold path itself.
      throw new Error(`unexpected cold outcome: ${outcome.reason}`);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    stderr(`bulwark: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
