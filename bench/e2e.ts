/**
 * `npm run bench:e2e`: local mode (`pullwatch start`, a child process, as a user runs it) between
 * the fake Kubernetes API server and the fake Slack Web API, at 100 observations per second.
 *
 * An observation is a pod's container entering ErrImagePull (its status and the kubelet's `Failed`
 * event, written to the API server). Pods of several Deployments fail in turn, so every observation
 * changes what an incident's Slack message shows (one more affected pod). With the update interval
 * at 0 (every change shown), the latency of an observation is the time from its write to the API
 * server until the first Slack call (chat.postMessage or chat.update) whose message counts it.
 *
 * Target: p99 under 1 s. Its table is behind the capacity meter
 * (test/support/capacity-proxy.ts, through PULLWATCH_DYNAMODB_ENDPOINT): it prints the WCU and RCU
 * per observation too. It also prints how busy the machine's cores and local mode's process were while
 * the load ran, second by second: local mode runs the pipeline on one thread, and its store in a
 * second process, so a latency is read knowing whether the cores were saturated.
 *
 *   BENCH_RATE (100 per second)  BENCH_SECONDS (20)  BENCH_WORKLOADS (50)
 *   BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" for local mode)  BENCH_KEEP (keep its data folder)
 *   BENCH_METER=off (local mode keeps its own store, without the meter's extra hop)
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PullwatchProcess } from '../test/e2e/support/process';
import {
  FakeKubeApi,
  type KubeObject,
  podEvent,
  podObject,
  setContainerState,
} from '../test/support/fake-kube-api';
import { FakeSlack, type SlackCall } from '../test/support/fake-slack';
import { describeCapacity } from '../test/support/capacity-proxy';
import { startMeteredStore } from '../test/support/metered-store';
import { removeOrKeep, runBench, sampleCpu } from './bench-run';
import { batchesOf, observationsHandled } from './local-log';

const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WORKLOADS = Number(process.env.BENCH_WORKLOADS ?? 50);
const OBSERVATIONS = RATE * SECONDS;
const PODS_PER_WORKLOAD = Math.ceil(OBSERVATIONS / WORKLOADS);
const TOKEN = 'xoxb-bench';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

interface Observation {
  workload: string;
  /** Failing pods of the workload once this one fails: the count a Slack message must show. */
  count: number;
  at: number;
}

interface Arrival {
  at: number;
  workload: string;
  pods: number;
}

const NOT_FOUND = (image: string) =>
  `rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/${image}": failed to resolve reference "docker.io/library/${image}": docker.io/library/${image}: not found`;

const main = async (): Promise<void> => {
  const api = await new FakeKubeApi().start();
  const slack = await new FakeSlack({ token: TOKEN, channels: { bench: 'C0BENCH001' } }).start();
  const dir = mkdtempSync(join(tmpdir(), 'pullwatch-bench-e2e-'));
  const store =
    process.env.BENCH_METER === 'off' ? undefined : await startMeteredStore(join(dir, 'dynamodb'));

  // Every Slack call, with when it arrived and what it shows.
  const arrivals: Arrival[] = [];
  const calls = slack.calls;
  const record = calls.push.bind(calls);
  calls.push = (...items: SlackCall[]): number => {
    for (const call of items) {
      if (call.method !== 'chat.postMessage' && call.method !== 'chat.update') continue;
      const text = String(call.args.text ?? '');
      const workload = /deployment\/(app-\d+) \(container/.exec(text)?.[1];
      const pods = /\*Affected:\* (\d+) pods?/.exec(JSON.stringify(call.args.blocks ?? []))?.[1];
      if (workload !== undefined && pods !== undefined)
        arrivals.push({ at: Date.now(), workload, pods: Number(pods) });
    }
    return record(...items);
  };

  // The cluster: WORKLOADS Deployments, their pods created (Pending) before the clock starts.
  const pods: KubeObject[][] = [];
  for (let w = 0; w < WORKLOADS; w++) {
    const name = `app-${String(w).padStart(3, '0')}`;
    const replicaSet = `${name}-6b7f9c8d5`;
    api.apply('replicasets', {
      metadata: {
        name: replicaSet,
        namespace: 'bench',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name, uid: `d-${w}`, controller: true },
        ],
      },
    });
    pods.push(
      Array.from({ length: PODS_PER_WORKLOAD }, (_, p) =>
        api.apply(
          'pods',
          podObject({
            name: `${replicaSet}-${String(p).padStart(5, '0')}`,
            namespace: 'bench',
            container: name,
            image: `${name}:1.0-typo`,
            owner: { kind: 'ReplicaSet', name: replicaSet },
            labels: { 'pod-template-hash': '6b7f9c8d5' },
          }),
        ),
      ),
    );
  }

  const local = new PullwatchProcess(
    ['start', '--data', join(dir, 'data')],
    {
      PATH: process.env.PATH,
      HOME: dir,
      KUBECONFIG: api.writeKubeconfig(dir),
      SLACK_BOT_TOKEN: TOKEN,
      PULLWATCH_SLACK_CHANNEL: '#bench',
      SLACK_API_URL: slack.apiUrl,
      PULLWATCH_UPDATE_INTERVAL: '0',
      // Every Deployment is its own incident and its own message: no storm roll-up, no hold.
      PULLWATCH_STORM_THRESHOLD: '100000',
      PULLWATCH_STORM_HOLD: '0',
      PULLWATCH_DYNAMODB_ENDPOINT: store?.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    undefined,
    process.env.BENCH_NODE_ARGS?.split(' ').filter((arg) => arg !== '') ?? [],
  );
  try {
    await local.waitFor(/Ctrl-C to stop\./, 60_000);
    await local.waitFor(new RegExp(`watching ${WORKLOADS * PODS_PER_WORKLOAD} pods`), 60_000);

    // RATE observations per second, round robin over the Deployments.
    const observations: Observation[] = [];
    const start = Date.now() + 200;
    const cpu = sampleCpu(local.pid);
    for (let i = 0; i < OBSERVATIONS; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const w = i % WORKLOADS;
      const p = Math.floor(i / WORKLOADS);
      const pod = pods[w]![p]!;
      const name = `app-${String(w).padStart(3, '0')}`;
      const { namespace = 'bench', name: podName } = pod.metadata;
      const message = NOT_FOUND(`${name}:1.0-typo`);
      const failing = api.update('pods', namespace, podName, (object) =>
        setContainerState(object, name, { waiting: { reason: 'ErrImagePull', message } }),
      );
      api.apply(
        'events',
        podEvent({
          pod: failing,
          container: name,
          reason: 'Failed',
          message: `Failed to pull image "${name}:1.0-typo": ${message}`,
        }),
      );
      observations.push({ workload: name, count: p + 1, at: Date.now() });
    }
    const behind = observations.at(-1)!.at - (start + ((OBSERVATIONS - 1) * 1000) / RATE);
    const cpuLines = cpu.stop();

    // Latency: until the first Slack call that counts the observation.
    const latencyOf = (observation: Observation): number | undefined => {
      const shown = arrivals.find(
        (arrival) =>
          arrival.workload === observation.workload &&
          arrival.pods >= observation.count &&
          arrival.at >= observation.at,
      );
      return shown === undefined ? undefined : shown.at - observation.at;
    };
    const until = Date.now() + 60_000;
    while (observations.some((observation) => latencyOf(observation) === undefined) && Date.now() < until) {
      await sleep(100);
    }
    const latencies = observations.map(latencyOf);
    const missing = latencies.filter((latency) => latency === undefined).length;
    /** The latencies of the observations `included` picks, sorted. */
    const sortedLatencies = (included: (observation: Observation) => boolean): number[] =>
      latencies
        .filter((latency, i): latency is number => latency !== undefined && included(observations[i]!))
        .sort((a, b) => a - b);
    const sorted = sortedLatencies(() => true);
    // The first seconds carry the cold start (JIT) and every incident's first post; after, steady state.
    const warm = sortedLatencies((observation) => observation.at >= start + 5000);
    const summary = (values: readonly number[]): string =>
      `p50 ${percentile(values, 50)} ms, p90 ${percentile(values, 90)} ms, p99 ${percentile(values, 99)} ms, max ${values.at(-1)} ms`;
    const posts = slack.succeeded('chat.postMessage').length;
    const updates = slack.succeeded('chat.update').length;
    const p99 = percentile(sorted, 99);
    const lines = [
      `pullwatch local mode: observation → Slack call, ${RATE} observations/s for ${SECONDS} s`,
      `  ${OBSERVATIONS} pods failing in ${WORKLOADS} Deployments (each observation changes its incident's message)`,
      `  generator lag at the end: ${Math.max(0, Math.round(behind))} ms`,
      `  Slack calls: ${posts} chat.postMessage, ${updates} chat.update; observations never shown: ${missing}`,
      `  latency: ${summary(sorted)}`,
      ...(warm.length === 0 ? [] : [`  after the first 5 s: ${summary(warm)}`]),
      // Where the tail comes from: each of the first seconds on its own.
      ...[0, 1, 2, 3, 4]
        .map((second) => {
          const within = sortedLatencies(
            (observation) =>
              observation.at >= start + second * 1000 && observation.at < start + (second + 1) * 1000,
          );
          return within.length === 0 ? '' : `    second ${second + 1}: ${summary(within)}`;
        })
        .filter((line) => line !== ''),
      `  target p99 < 1000 ms: ${missing === 0 && p99 < 1000 ? 'met' : 'NOT met'}`,
      ...cpuLines,
    ];
    local.signal('SIGINT');
    const exit = await local.exited;
    if (exit.code !== 0) lines.push(`local mode exited ${JSON.stringify(exit)}:\n${local.stderr}`);
    // Where the time went: the handlers' batches, from local mode's log.
    const log = readFileSync(join(dir, 'data', 'pullwatch.log'), 'utf8');
    for (const line of log.split('\n')) {
      if (line.includes('"pipeline metrics"')) {
        const { WriteConflicts = 0, DuplicatesAbsorbed = 0 } = JSON.parse(line) as Record<string, number>;
        lines.push(`  dedupe write conflicts: ${WriteConflicts}, duplicates absorbed: ${DuplicatesAbsorbed}`);
      }
    }
    for (const [target, { calls, records, ms }] of batchesOf(log)) {
      if (target === 'heartbeat') continue;
      const sortedMs = [...ms].sort((a, b) => a - b);
      lines.push(
        `  ${target}: ${calls} batches of ${(records / calls).toFixed(1)} records on average, ${percentile(sortedMs, 50)} ms median, ${percentile(sortedMs, 99)} ms p99`,
      );
    }
    const observed = observationsHandled(log);
    if (store !== undefined) lines.push(...describeCapacity(await store.report(), observed));
    lines.push(`  observations: ${observed} handled by dedupe`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    local.kill();
    await store?.stop();
    await api.stop();
    await slack.stop();
    removeOrKeep(dir);
  }
};

runBench(main);
