/**
 * `npm run bench:soak`: the soak of test/functions/soak.test.ts with more schedules, each a random
 * fault schedule (crashes of notify, Slack faults, dropped, duplicated and reordered deliveries)
 * over the small cluster model of test/functions/support/soak.ts, through the real handlers over
 * dynalite and the fake Slack. Prints the seed, the schedules run and their rate; a failure prints
 * the counterexample and the seed and path that replay it (in the jest test too).
 *
 *   BENCH_SOAK_RUNS (2000)  BENCH_SOAK_SEED (the time)  BENCH_SOAK_PATH (replays one counterexample)
 */
import fc from 'fast-check';
import { startPipeline } from '../test/functions/support/pipeline';
import {
  CrashingStore,
  SOAK_WINDOWS,
  newSoakRun,
  runSchedule,
  scheduleArbitrary,
} from '../test/functions/support/soak';
import { runBench } from './bench-run';

runBench(async () => {
  const runs = Number(process.env.BENCH_SOAK_RUNS ?? 2000);
  const seed = Number(process.env.BENCH_SOAK_SEED ?? Date.now() % 2 ** 31);
  const crashing = new CrashingStore();
  const pipeline = await startPipeline({
    windows: SOAK_WINDOWS,
    slackTimeoutMs: 100,
    slackOnClock: true,
    notifyStore: crashing.wrap,
    notifyPosts: crashing.wrap,
  });
  const run = newSoakRun(pipeline, crashing);
  let schedules = 0;
  const started = Date.now();
  process.stdout.write(`soak: ${runs} schedules, seed ${seed}\n`);
  try {
    await fc.assert(
      fc.asyncProperty(scheduleArbitrary, async (schedule) => {
        await runSchedule(run, schedule, `soak-${++schedules}`);
        if (schedules % 100 === 0) process.stdout.write(`  ${schedules} schedules…\n`);
      }),
      {
        numRuns: runs,
        seed,
        ...(process.env.BENCH_SOAK_PATH === undefined ? {} : { path: process.env.BENCH_SOAK_PATH }),
        endOnFailure: true,
      },
    );
  } finally {
    await pipeline.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  const messages = pipeline.slack.messages.length;
  process.stdout.write(
    `soak: ${schedules} schedules held every invariant in ${seconds.toFixed(1)} s (${(schedules / seconds).toFixed(1)}/s; ${messages} Slack messages; seed ${seed})\n`,
  );
});
