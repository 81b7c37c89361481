/** What the local-mode benchmarks (e2e.ts, fleet.ts) do alike around their measurement. */
import { rmSync } from 'node:fs';

/** Removes a run's temporary folder, or keeps it and says where with BENCH_KEEP set. */
export const removeOrKeep = (dir: string): void => {
  if (process.env.BENCH_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
  else process.stdout.write(`kept ${dir}\n`);
};

/** Runs a benchmark: an error is printed with its stack, and the exit code is 1. */
export const runBench = (main: () => Promise<void>): void =>
  void main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
