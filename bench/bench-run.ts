/** What the local-mode benchmarks (e2e.ts, fleet.ts) do alike around their measurement. */
import { readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';

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

/** CPU time of the machine's cores, busy and in all, in ms (os.cpus()). */
const machineTimes = (): { busy: number; total: number } => {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
};

/** A process's CPU time in ms, from /proc (Linux); undefined elsewhere or once it is gone. */
const processCpuMs = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined;
  try {
    // The fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
};

/**
 * How busy the machine (and the process under test) was while the load ran, second by second: a
 * latency is only read right knowing whether the cores were saturated.
 */
export const sampleCpu = (pid: number | undefined, intervalMs = 1000) => {
  const first = { machine: machineTimes(), process: processCpuMs(pid), at: Date.now() };
  let previous = first.machine;
  const perInterval: number[] = [];
  const timer = setInterval(() => {
    const now = machineTimes();
    perInterval.push((now.busy - previous.busy) / Math.max(1, now.total - previous.total));
    previous = now;
  }, intervalMs);
  return {
    /** The lines to print, for the time since sampling started. */
    stop: (): string[] => {
      clearInterval(timer);
      const last = machineTimes();
      const busy = (last.busy - first.machine.busy) / Math.max(1, last.total - first.machine.total);
      const percent = (share: number) => `${Math.round(100 * share)}%`;
      const processMs = processCpuMs(pid);
      const seconds = (Date.now() - first.at) / 1000;
      return [
        `  machine CPU during the load (${cpus().length} cores): ${percent(busy)} busy; second by second: ${perInterval.map(percent).join(' ')}`,
        ...(processMs === undefined || first.process === undefined
          ? []
          : [
              `  local mode's process: ${((processMs - first.process) / 1000 / seconds).toFixed(2)} cores busy on average (its one thread runs the pipeline)`,
            ]),
      ];
    },
  };
};
