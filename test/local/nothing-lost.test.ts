/**
 * Nothing lost: `pullwatch start` (a real child process) against a burst of failing workloads, with
 * kill -9 at several moments, Ctrl-C while Slack is slow, and Slack faults on the first posts. Each
 * ends the same way after a restart: every failing workload has exactly one top-level post, the data
 * folder is usable, and whatever was said on stderr was one line of pullwatch's own.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi } from '../support/fake-kube-api';
import { FakeSlack } from '../support/fake-slack';
import {
  CHANNEL_ID,
  type Started,
  TOKEN,
  failWorkloads,
  oneLineErrors,
  postsPerWorkload,
  startLocal,
  until,
} from './support/burst';

jest.setTimeout(90_000);

let api: FakeKubeApi;
let slack: FakeSlack;
let dir: string;
const running: Started[] = [];

beforeEach(async () => {
  api = await new FakeKubeApi().start();
  slack = await new FakeSlack({ token: TOKEN, channels: { alerts: CHANNEL_ID }, now: Date.now }).start();
  dir = mkdtempSync(join(tmpdir(), 'pullwatch-nothing-lost-'));
});
afterEach(async () => {
  for (const run of running.splice(0)) {
    run.signal('SIGKILL');
    await run.exited;
  }
  await api.stop();
  await slack.stop();
  rmSync(dir, { recursive: true, force: true });
});

const data = () => join(dir, 'data');
const start = (env: Record<string, string> = {}) => {
  const run = startLocal({ data: data(), home: dir, api, slack }, env);
  running.push(run);
  return run;
};
const topLevel = () => slack.topLevel(CHANNEL_ID).length;

/** Ctrl-C, and the exit it must make: code 0 and one-line messages only. */
const stopCleanly = async (run: Started) => {
  run.signal('SIGINT');
  const exit = await run.exited;
  expect(exit).toEqual({ code: 0, signal: null });
  expect(oneLineErrors(run.stderr())).toEqual([]);
};

/** Every workload has exactly one top-level post, and nothing else was posted at the top level. */
const expectOnePostEach = (workloads: readonly string[]) => {
  const counts = postsPerWorkload(slack);
  expect([...counts.keys()].sort()).toEqual([...workloads].sort());
  expect([...counts.values()].filter((count) => count !== 1)).toEqual([]);
};

it('kill -9 at several moments of a 300-workload burst: after a restart, one post per workload', async () => {
  const workloads: string[] = [];
  let run = start();
  await run.waitFor(/Ctrl-C to stop\./);
  workloads.push(...failWorkloads(api, 300));

  // Killed while the burst is on the bus (nothing posted yet, or a few), then twice more as posts go out.
  const moments = [
    () => new Promise((resolve) => setTimeout(resolve, 400)),
    () =>
      until(
        () => topLevel() >= 60,
        () => `${topLevel()} posts`,
      ),
    () =>
      until(
        () => topLevel() >= 180,
        () => `${topLevel()} posts`,
      ),
  ];
  for (const moment of moments) {
    await moment();
    run.signal('SIGKILL');
    await run.exited;
    run = start();
    await run.waitFor(/Ctrl-C to stop\./);
  }
  await until(
    () => topLevel() >= 300,
    () => `${topLevel()} of 300 posted\n${run.stderr()}`,
  );
  // Nothing more comes.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await stopCleanly(run);
  expectOnePostEach(workloads);
  expect(run.stderr()).not.toContain('gave up');
});

it('Ctrl-C with a slow Slack: the exit line’s promise holds after a restart', async () => {
  slack.latencyMs = 1000;
  let run = start();
  await run.waitFor(/Ctrl-C to stop\./);
  const workloads = failWorkloads(api, 200);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const before = topLevel();
  expect(before).toBeLessThan(200);
  run.signal('SIGINT');
  expect(await run.exited).toEqual({ code: 0, signal: null });
  expect(oneLineErrors(run.stderr())).toEqual([]);
  expect(run.stderr()).not.toContain('gave up');
  const left = 200 - topLevel();
  if (left > 0) expect(run.stderr()).toMatch(/stopped with \d+ events not handled/);

  slack.latencyMs = 0;
  run = start();
  await run.waitFor(/Ctrl-C to stop\./);
  await until(
    () => topLevel() >= 200,
    () => `${topLevel()} of 200 posted (${before} before Ctrl-C)\n${run.stderr()}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await stopCleanly(run);
  expectOnePostEach(workloads);
});

it('a 500, a hang and a 429 with Retry-After on the first posts (no storm hold): each posted once', async () => {
  slack.inject(
    'chat.postMessage',
    { kind: 'status', status: 500 },
    { kind: 'hang' },
    { kind: 'rate-limit', retryAfterSeconds: 4 },
  );
  const run = start();
  await run.waitFor(/Ctrl-C to stop\./);
  const workloads = failWorkloads(api, 6);
  await until(
    () => topLevel() >= 6,
    () => `${topLevel()} of 6 posted\n${run.stderr()}`,
    45_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await stopCleanly(run);
  expectOnePostEach(workloads);

  // The 429's Retry-After held for every later post, not only the one that got it (calls already on
  // their way when it was answered aside: the posts of a batch go out side by side).
  const posts = slack.calls.filter((call) => call.method === 'chat.postMessage');
  const limited = posts.find((call) => call.status === 429)!;
  const offsets = posts.map((call) => call.at - limited.at);
  expect(offsets.filter((ms) => ms > 250 && ms < 3900)).toEqual([]);
  expect(offsets.filter((ms) => ms >= 3900)).not.toEqual([]);
  // Nothing was dead-lettered, and nothing said it gave up.
  expect(run.stderr()).not.toContain('gave up');
  expect(existsSync(join(data(), 'dead-letters.jsonl'))).toBe(false);
});

it('a refused token: one line naming SLACK_BOT_TOKEN (not its value), and the folder stays usable', async () => {
  const refused = start({ SLACK_BOT_TOKEN: 'xoxb-revoked-0000' });
  expect((await refused.exited).code).toBe(2);
  expect(refused.stderr().trim().split('\n')).toEqual([
    'pullwatch: Slack refused SLACK_BOT_TOKEN (invalid_auth): set it to the bot token (xoxb-…) of an app installed in your workspace',
  ]);
  expect(refused.stderr() + refused.stdout()).not.toContain('xoxb-revoked-0000');

  const run = start();
  await run.waitFor(/Ctrl-C to stop\./);
  const workloads = failWorkloads(api, 2);
  await until(
    () => topLevel() >= 2,
    () => `${topLevel()} of 2 posted`,
  );
  await stopCleanly(run);
  expectOnePostEach(workloads);
});
