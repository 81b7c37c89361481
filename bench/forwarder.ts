/**
 * `npm run bench:forwarder`: the forwarder, as a separate process (bundled with esbuild, as the
 * container image runs it), between the fake Kubernetes API server and the fake EventBridge endpoint.
 *
 * 1. Idle: it lists and watches 10,000 healthy pods; RSS is read once it has settled.
 * 2. Storm: 5,000 pods in 500 Deployments start failing within seconds, with their kubelet events.
 *    It prints the time until every failure is on the bus, PutEvents calls and entries per call,
 *    peak RSS and CPU seconds.
 *
 * Targets: everything shipped within 30 s, at least 9 entries per call, under 150 MB RSS.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeEventBridge } from '../test/support/fake-eventbridge';
import {
  FakeKubeApi,
  type KubeObject,
  podEvent,
  podObject,
  setContainerState,
} from '../test/support/fake-kube-api';
import { freePort } from '../test/support/local-server';

const ROOT = join(__dirname, '..');
const HEALTHY_PODS = Number(process.env.BENCH_HEALTHY_PODS ?? 10_000);
const DEPLOYMENTS = Number(process.env.BENCH_DEPLOYMENTS ?? 500);
const PODS_PER_DEPLOYMENT = Number(process.env.BENCH_PODS_PER_DEPLOYMENT ?? 10);
const STORM_SECONDS = 3;
/** Round-trip time of a PutEvents call, roughly what EventBridge answers in. */
const BUS_LATENCY_MS = Number(process.env.BENCH_BUS_LATENCY_MS ?? 25);

/** The V8 flags the container image runs the forwarder with (forwarder/Dockerfile). */
const NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? '--max-semi-space-size=2 --max-old-space-size=160';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const scrape = async (
  port: number,
): Promise<{ rss: number; cpu: number; heap: number; external: number }> => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string): number =>
    Number(
      text
        .split('\n')
        .find((line) => line.startsWith(`${name} `))
        ?.split(' ')[1] ?? NaN,
    );
  return {
    rss: value('process_resident_memory_bytes'),
    cpu: value('process_cpu_seconds_total'),
    heap: value('nodejs_heap_size_used_bytes'),
    external: value('nodejs_external_memory_bytes'),
  };
};

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const main = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'pullwatch-bench-'));
  const bundle = join(dir, 'forwarder.js');
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'esbuild'),
    [
      join(ROOT, 'forwarder', 'main.ts'),
      '--bundle',
      '--platform=node',
      '--target=node20',
      '--format=cjs',
      '--minify',
      `--outfile=${bundle}`,
      '--log-level=warning',
    ],
    { stdio: 'inherit' },
  );

  const api = await new FakeKubeApi().start();
  const bus = await new FakeEventBridge().start();
  bus.latencyMs = BUS_LATENCY_MS;
  let child: ChildProcess | undefined;
  try {
    // A cluster of healthy pods.
    for (let i = 0; i < HEALTHY_PODS; i++) {
      const pod = podObject({ name: `healthy-${i}`, namespace: `team-${i % 50}`, image: 'nginx:1.27' });
      api.apply('pods', setContainerState(pod, 'app', { running: {} }));
    }
    const port = await freePort();
    child = spawn(process.execPath, [bundle], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        PATH: process.env.PATH ?? '',
        PULLWATCH_CLUSTER: 'bench',
        PULLWATCH_EVENT_BUS: 'pullwatch-bench',
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
        AWS_ACCESS_KEY_ID: 'AKIDBENCH',
        AWS_SECRET_ACCESS_KEY: 'bench-secret',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        KUBECONFIG: api.writeKubeconfig(dir),
        PULLWATCH_METRICS_PORT: String(port),
        PULLWATCH_HEARTBEAT_SECONDS: '60',
        PULLWATCH_LOG_LEVEL: 'warn',
        NODE_OPTIONS: NODE_OPTIONS,
      },
    });
    const readyBy = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > readyBy) throw new Error('the forwarder did not become ready');
      await sleep(100);
    }
    await sleep(3000);
    const idle = await scrape(port);

    // The storm: 500 Deployments of 10 pods fail within a few seconds.
    const deployments = Array.from({ length: DEPLOYMENTS }, (_, d) => `svc-${d}`);
    const pods: KubeObject[] = [];
    for (const deployment of deployments) {
      const namespace = `team-${deployments.indexOf(deployment) % 50}`;
      api.apply('replicasets', {
        metadata: {
          name: `${deployment}-6b7d9f8c5`,
          namespace,
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: deployment,
              uid: deployment,
              controller: true,
            },
          ],
        },
      });
      for (let p = 0; p < PODS_PER_DEPLOYMENT; p++) {
        pods.push(
          podObject({
            name: `${deployment}-6b7d9f8c5-${p}`,
            namespace,
            image: `registry.example.com/${deployment}:2.0`,
            owner: { kind: 'ReplicaSet', name: `${deployment}-6b7d9f8c5` },
            labels: { 'pod-template-hash': '6b7d9f8c5' },
          }),
        );
      }
    }
    const baseline = { calls: bus.calls.length, events: bus.events.length, cpu: idle.cpu };
    let peak = idle.rss;
    const sampler = setInterval(() => {
      scrape(port).then(
        (sample) => (peak = Math.max(peak, sample.rss)),
        () => undefined,
      );
    }, 200);
    const started = Date.now();
    const batch = Math.ceil(pods.length / (STORM_SECONDS * 10));
    for (let i = 0; i < pods.length; i += batch) {
      for (const input of pods.slice(i, i + batch)) {
        const created = api.apply('pods', input);
        const image = `registry.example.com/${created.metadata.name.split('-6b7d9f8c5')[0]}:2.0`;
        const error = `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found`;
        const failing = api.apply(
          'pods',
          setContainerState(created, 'app', { waiting: { reason: 'ErrImagePull', message: error } }),
        );
        api.apply(
          'events',
          podEvent({
            pod: failing,
            container: 'app',
            reason: 'Failed',
            message: `Failed to pull image "${image}": ${error}`,
          }),
        );
      }
      await sleep(100);
    }
    const target = new Set(pods.map((pod) => pod.metadata.name));
    await bus.waitFor(
      (events) =>
        events.filter(
          (event) => event.detailType === 'ImagePullFailed' && target.has(String(event.detail.pod)),
        ).length >= target.size,
      120_000,
      'every failure',
    );
    const elapsed = (Date.now() - started) / 1000;
    await sleep(500);
    clearInterval(sampler);
    const after = await scrape(port);
    peak = Math.max(peak, after.rss);
    const calls = bus.calls.slice(baseline.calls).filter((call) => call.status === 200);
    const entries = calls.reduce((sum, call) => sum + call.entries, 0);
    const duplicates =
      bus.events.filter((event) => event.detailType === 'ImagePullFailed').length - target.size;

    const results = {
      'idle RSS watching healthy pods': `${mb(idle.rss)} (${HEALTHY_PODS} pods; heap ${mb(idle.heap)})`,
      'storm: failing pods': `${pods.length} in ${DEPLOYMENTS} Deployments over ~${STORM_SECONDS} s`,
      'time until everything shipped': `${elapsed.toFixed(1)} s (target ≤ 30 s)`,
      'PutEvents calls': calls.length,
      'entries per call': `${(entries / calls.length).toFixed(2)} (target ≥ 9)`,
      'failures shipped more than once': duplicates,
      'peak RSS': `${mb(peak)} (target < 150 MB; heap after ${mb(after.heap)}, external ${mb(after.external)})`,
      'CPU seconds during the storm': (after.cpu - baseline.cpu).toFixed(2),
      'PutEvents latency (simulated)': `${BUS_LATENCY_MS} ms`,
      'node flags': NODE_OPTIONS || '(none)',
    };
    for (const [name, value] of Object.entries(results)) console.log(`${name.padEnd(34)} ${value}`);
    const ok = elapsed <= 30 && entries / calls.length >= 9 && peak < 150 * 1024 * 1024 && duplicates === 0;
    console.log(ok ? 'all targets met' : 'TARGETS MISSED');
    process.exitCode = ok ? 0 : 1;
  } finally {
    child?.kill('SIGTERM');
    await new Promise((resolve) => (child ? child.once('exit', resolve) : resolve(undefined)));
    await api.stop();
    await bus.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

void main();
