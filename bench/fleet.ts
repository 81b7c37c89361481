/**
 * `npm run bench:fleet`: a fleet-wide incident through local mode. A DaemonSet on 5,000 nodes
 * (kube-system/daemonset/node-agent, a tag that does not exist) is built with the recordings'
 * builder (test/fixtures/recordings/scenarios.ts `daemonSetFleet`: every pod fails, a third
 * recovers, then the rest) and replayed by `pullwatch start --replay … --exit` (a child process, as
 * a user runs it) against the fake Slack Web API, with its table behind the capacity meter
 * (test/support/capacity-proxy.ts, through PULLWATCH_DYNAMODB_ENDPOINT).
 *
 * It holds what Slack shows against the recording's truth (test/e2e/support/fleet-truth.ts) and
 * prints: the time to the first post; when the counts shown were first exact (the message's failing
 * containers equal the true number at that moment, and every affected pod is counted); WCU and RCU
 * per observation; the largest write and the largest item; whether the incident resolved while
 * containers still failed; and the time to recover shown against the true one.
 *
 *   BENCH_NODES (5000)  BENCH_SPEED (1: as recorded, 44 s)  BENCH_UPDATE_INTERVAL (1s)
 *   BENCH_QUIET_PERIOD (5s)  BENCH_KEEP (keep the data folder)
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeRecording } from '../local/recording';
import { LOCAL_TABLE } from '../local/store';
import { fleetTruth } from '../test/e2e/support/fleet-truth';
import { watchIncidentMessages } from '../test/e2e/support/incident-messages';
import { PullwatchProcess } from '../test/e2e/support/process';
import { replayStartedAt } from '../test/e2e/support/replay-clock';
import { TEXTS, daemonSetFleet } from '../test/fixtures/recordings/scenarios';
import { describeCapacity } from '../test/support/capacity-proxy';
import { FakeSlack } from '../test/support/fake-slack';
import { startMeteredStore } from '../test/support/metered-store';
import { removeOrKeep, runBench } from './bench-run';
import { observationsHandled } from './local-log';

const NODES = Number(process.env.BENCH_NODES ?? 5000);
const SPEED = Number(process.env.BENCH_SPEED ?? 1);
const UPDATE_INTERVAL = process.env.BENCH_UPDATE_INTERVAL ?? '1s';
const QUIET_PERIOD = process.env.BENCH_QUIET_PERIOD ?? '5s';
const TOKEN = 'xoxb-bench-fleet';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const main = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'pullwatch-bench-fleet-'));
  const recording = daemonSetFleet({
    nodes: NODES,
    seed: 'bench-fleet',
    image: 'ghcr.io/acme/node-agent:3.2.1',
    failure: TEXTS.notFound,
    description: `bench:fleet: daemonset/node-agent on ${NODES} nodes asks for a tag that does not exist; a third of the nodes recover, then the rest.`,
  });
  const file = join(dir, 'fleet.jsonl');
  writeFileSync(file, serializeRecording(recording));
  const truth = fleetTruth(recording);

  const slack = await new FakeSlack({ token: TOKEN, channels: { fleet: 'C0FLEET001' } }).start();
  const messages = watchIncidentMessages(slack);
  const store = await startMeteredStore(join(dir, 'dynamodb'));
  const data = join(dir, 'data');
  const local = new PullwatchProcess(
    ['start', '--replay', file, '--speed', String(SPEED), '--exit', '--data', data],
    {
      PATH: process.env.PATH,
      HOME: dir,
      SLACK_BOT_TOKEN: TOKEN,
      PULLWATCH_SLACK_CHANNEL: '#fleet',
      SLACK_API_URL: slack.apiUrl,
      PULLWATCH_UPDATE_INTERVAL: UPDATE_INTERVAL,
      PULLWATCH_QUIET_PERIOD: QUIET_PERIOD,
      PULLWATCH_STORM_HOLD: '0s',
      PULLWATCH_DYNAMODB_ENDPOINT: store.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  );
  try {
    await local.waitFor(/Ctrl-C to stop\./, 120_000);
    const exit = await Promise.race([
      local.exited,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30 * 60_000).unref()),
    ]);
    const finished = Date.now();
    const log = readFileSync(join(data, 'pullwatch.log'), 'utf8');
    // Recording time t happened at started + t / SPEED.
    const started = replayStartedAt(log);
    const realTimeOf = (recordingMs: number) => started + recordingMs / SPEED;
    const recordingTimeOf = (at: number) => (at - started) * SPEED;

    const { shown, resolutions } = messages;
    const firstFailure = realTimeOf(truth.firstFailureAt);
    const firstPost = shown.find((message) => message.method === 'chat.postMessage');
    const exact = shown.find(
      (message) =>
        message.failing !== undefined &&
        message.failing === truth.failingAt(recordingTimeOf(message.at)) &&
        message.affectedPods === truth.affectedPods,
    );
    const failingShown = shown.flatMap((message) => (message.failing === undefined ? [] : [message.failing]));
    const allClear = [...shown.filter((message) => message.state !== 'failing'), ...resolutions].sort(
      (a, b) => a.at - b.at,
    )[0];
    const stillFailing = allClear === undefined ? undefined : truth.failingAt(recordingTimeOf(allClear.at));
    const trueRecovery = (truth.lastRecoveryAt - truth.firstFailureAt) / SPEED;
    const observations = observationsHandled(log);
    const largest = await store.largestItem(LOCAL_TABLE);

    const lines = [
      `pullwatch local mode at fleet size: daemonset/node-agent on ${NODES} nodes, a missing tag, replayed at ${SPEED}× (the story takes ${seconds(truth.lastRecoveryAt / SPEED)})`,
      `  truth: ${truth.affectedPods} pods affected, ${truth.peakFailing} failing at the peak, ${truth.plateau.failing} still failing once a third recovered, the last recovery ${seconds(trueRecovery)} after the first failure`,
      `  local mode: ${exit === 'timeout' ? 'did NOT settle within 30 min' : `settled and exited ${exit.code} ${seconds(finished - started)} after the replay started`}; Slack: ${slack.succeeded('chat.postMessage').length} posts, ${slack.succeeded('chat.update').length} updates (updates at most every ${UPDATE_INTERVAL})`,
      `  time to first post: ${firstPost === undefined ? 'never' : seconds(firstPost.at - firstFailure)} after the first failure`,
      `  counts exact: ${exact === undefined ? 'NEVER' : `${seconds(exact.at - firstFailure)} after the first failure (${exact.failing} failing, ${exact.affectedPods} pods)`}; most pods shown ${Math.max(0, ...shown.map((message) => message.affectedPods ?? 0))} of ${truth.affectedPods}, most failing shown ${Math.max(0, ...failingShown)} of ${truth.peakFailing}, ${truth.plateau.failing} once a third recovered: ${failingShown.includes(truth.plateau.failing) ? 'shown' : 'NEVER shown'}`,
      `  resolved early: ${allClear === undefined ? 'never resolved' : stillFailing! > 0 ? `YES, ${'state' in allClear && allClear.state === 'recovering' ? '"recovering"' : '"resolved"'} with ${stillFailing} containers still failing` : 'no'}`,
      `  time to recover: ${resolutions[0] === undefined ? 'none shown' : `${resolutions[0].seconds} s shown`}, true ${seconds(trueRecovery)}; resolution says ${resolutions[0]?.affectedPods ?? '-'} pods affected`,
      ...describeCapacity(await store.report(), observations),
      `  observations: ${observations} handled by dedupe (the forwarder's failures and recoveries; ${truth.affectedPods * 2} happened)`,
      `  largest item in the table at the end: ${largest === undefined ? 'none' : `${(largest.bytes / 1024).toFixed(1)} KB (${largest.pk.replace(/#.*/, '#…')})`}`,
    ];
    if (exit !== 'timeout' && exit.code !== 0)
      lines.push(`local mode exited ${JSON.stringify(exit)}:\n${local.stderr}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    local.kill();
    await store.stop();
    await slack.stop();
    removeOrKeep(dir);
  }
};

runBench(main);
