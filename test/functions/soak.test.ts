/**
 * The soak: random fault schedules over a small cluster model (test/functions/support/soak.ts),
 * through the real handlers over dynalite and the fake Slack. A failure prints the seed and the
 * path that replays it: PULLWATCH_SOAK_SEED=<seed> PULLWATCH_SOAK_PATH=<path> npx jest test/functions/soak.test.ts
 * (`npm run bench:soak` runs more schedules).
 */
import fc from 'fast-check';
import { CrashingStore, SOAK_WINDOWS, newSoakRun, runSchedule, scheduleArbitrary } from './support/soak';
import { type Pipeline, startPipeline } from './support/pipeline';

const RUNS = Number(process.env.PULLWATCH_SOAK_RUNS ?? 200);
const SEED =
  process.env.PULLWATCH_SOAK_SEED === undefined ? 20261202 : Number(process.env.PULLWATCH_SOAK_SEED);

jest.setTimeout(600_000);

let pipeline: Pipeline;
const crashing = new CrashingStore();
beforeAll(async () => {
  pipeline = await startPipeline({
    windows: SOAK_WINDOWS,
    slackTimeoutMs: 100,
    slackOnClock: true,
    notifyStore: crashing.wrap,
    notifyPosts: crashing.wrap,
  });
});
afterAll(async () => {
  await pipeline.stop();
});

it(`keeps its invariants over ${RUNS} random fault schedules (seed ${SEED})`, async () => {
  const run = newSoakRun(pipeline, crashing);
  let schedule = 0;
  await fc.assert(
    fc.asyncProperty(scheduleArbitrary, (planned) => runSchedule(run, planned, `soak-${++schedule}`)),
    {
      numRuns: RUNS,
      seed: SEED,
      ...(process.env.PULLWATCH_SOAK_PATH === undefined ? {} : { path: process.env.PULLWATCH_SOAK_PATH }),
      endOnFailure: true,
    },
  );
  expect(schedule).toBeGreaterThanOrEqual(RUNS);
});
