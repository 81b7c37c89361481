/**
 * `npm run bench:forwarder`: the forwarder, as a separate process (bundled with esbuild, as the
 * container image runs it, with the image's V8 flags), between the fake Kubernetes API server and
 * the fake EventBridge endpoint.
 *
 * 1. Baseline: the forwarder on an empty cluster; RSS is read once it has settled.
 * 2. Idle: it lists and watches `--pods` healthy pods (10,000 by default); RSS is read once it has
 *    settled, and the cost of 10,000 pods is the difference to the baseline.
 * 3. Storm: 5,000 pods in 500 Deployments start failing within seconds, with their kubelet events.
 *    It prints the time until every failure is on the bus, PutEvents calls and entries per call,
 *    peak RSS (over the whole run, the initial list included) and CPU seconds.
 *
 * `--pod-bytes N` makes every pod a realistic object of about N bytes of JSON (several containers,
 * env, volumes, probes, managedFields; at least about 7 KB); without it, pods are the small test
 * objects of the default run. For example: `npm run bench:forwarder -- --pods 100000 --pod-bytes 6000`.
 *
 * Targets: everything shipped within 30 s, at least 9 entries per call, and peak RSS under 150 MB in
 * the default run, or under the manifest's memory limit (infra/k8s/forwarder/deployment.yaml) with
 * `--pods` or `--pod-bytes`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { sleep } from '../forwarder/delays';
import { realisticPod } from '../test/forwarder/realistic-pod';
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

/** `--name value` from the command line, else the environment variable, else the default. */
const option = (name: string, env: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  const raw = index >= 0 ? process.argv[index + 1] : process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < 0) {
    console.error(`bench:forwarder: --${name} must be a whole number, got "${raw}"`);
    process.exit(2);
  }
  return value;
};

const HEALTHY_PODS = option('pods', 'BENCH_HEALTHY_PODS', 10_000);
/** 0: the small test objects of the default run; otherwise realistic pods of about this many bytes. */
const POD_BYTES = option('pod-bytes', 'BENCH_POD_BYTES', 0);
const DEPLOYMENTS = option('deployments', 'BENCH_DEPLOYMENTS', 500);
const PODS_PER_DEPLOYMENT = option('pods-per-deployment', 'BENCH_PODS_PER_DEPLOYMENT', 10);
const STORM_SECONDS = 3;
/** Round-trip time of a PutEvents call, roughly what EventBridge answers in. */
const BUS_LATENCY_MS = option('bus-latency-ms', 'BENCH_BUS_LATENCY_MS', 25);
const DEFAULT_RUN = HEALTHY_PODS <= 10_000 && POD_BYTES === 0;

/** The V8 flags of the container image's entrypoint (forwarder/Dockerfile), read from it. */
const imageNodeFlags = (): string => {
  const dockerfile = readFileSync(join(ROOT, 'forwarder', 'Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  const args = entrypoint === undefined ? [] : (JSON.parse(entrypoint) as string[]);
  return args.filter((arg) => arg.startsWith('--')).join(' ');
};
const NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? imageNodeFlags();

/** The container's memory limit in the manifest (e.g. `memory: 256Mi` under `limits:`), in bytes. */
const manifestMemoryLimit = (): number => {
  const manifest = readFileSync(join(ROOT, 'infra', 'k8s', 'forwarder', 'deployment.yaml'), 'utf8');
  const match = /limits:\s*\n(?:\s+\w+:.*\n)*?\s+memory:\s*'?(\d+)(Mi|Gi)'?/.exec(manifest);
  if (match === null) throw new Error('no memory limit in infra/k8s/forwarder/deployment.yaml');
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 ** 3 : 1024 ** 2);
};

const MB = 1024 * 1024;
const PEAK_TARGET = DEFAULT_RUN ? 150 * MB : manifestMemoryLimit();

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

const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;

/** A pod of the cluster: the default run's small object, or a realistic one of POD_BYTES. */
const makePod = (options: {
  name: string;
  namespace: string;
  image: string;
  node: string;
  replicaSet?: { name: string; hash: string };
}): KubeObject =>
  POD_BYTES > 0
    ? realisticPod({ ...options, bytes: POD_BYTES })
    : podObject({
        name: options.name,
        namespace: options.namespace,
        image: options.image,
        node: options.node,
        ...(options.replicaSet === undefined
          ? {}
          : {
              owner: { kind: 'ReplicaSet', name: options.replicaSet.name },
              labels: { 'pod-template-hash': options.replicaSet.hash },
            }),
      });

/** The pod with its `app` container waiting on a failed pull (the others keep their state). */
const failing = (pod: KubeObject, error: string): KubeObject => {
  if (POD_BYTES === 0)
    return setContainerState(pod, 'app', { waiting: { reason: 'ErrImagePull', message: error } });
  const status = pod.status as {
    phase: string;
    containerStatuses: Array<{ name: string; ready: boolean; started: boolean; state: unknown }>;
  };
  status.phase = 'Pending';
  for (const container of status.containerStatuses) {
    if (container.name !== 'app') continue;
    Object.assign(container, {
      ready: false,
      started: false,
      state: { waiting: { reason: 'ErrImagePull', message: error } },
    });
  }
  return pod;
};

const main = async (): Promise<void> => {
  // The fake API server holds every full object (and a copy per list): give this process room.
  const neededMb = Math.ceil((HEALTHY_PODS * Math.max(POD_BYTES, 2000) * 6) / MB) + 1024;
  if (getHeapStatistics().heap_size_limit < neededMb * MB && process.env.BENCH_RESPAWNED !== '1') {
    const child = spawn(
      process.execPath,
      [...process.execArgv, `--max-old-space-size=${neededMb}`, ...process.argv.slice(1)],
      { stdio: 'inherit', env: { ...process.env, BENCH_RESPAWNED: '1' } },
    );
    child.once('exit', (code) => process.exit(code ?? 1));
    return;
  }

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
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;

  const startForwarder = async (): Promise<{ port: number; child: ChildProcess }> => {
    const port = await freePort();
    const spawned = spawn(process.execPath, [bundle], {
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
    child = spawned;
    // Peak RSS over the whole run: the initial list is when the most objects are alive at once.
    if (sampler !== undefined) clearInterval(sampler);
    sampler = setInterval(() => {
      scrape(port).then(
        (sample) => (peak = Math.max(peak, sample.rss)),
        () => undefined,
      );
    }, 200);
    const readyBy = Date.now() + 600_000;
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (spawned.exitCode !== null) throw new Error(`the forwarder exited (${spawned.exitCode})`);
      if (Date.now() > readyBy) throw new Error('the forwarder did not become ready');
      await sleep(100);
    }
    await sleep(3000);
    return { port, child: spawned };
  };

  const stopForwarder = async (running: ChildProcess): Promise<void> => {
    running.kill('SIGTERM');
    if (running.exitCode === null) await new Promise((resolve) => running.once('exit', resolve));
  };

  try {
    // 1. Baseline: an empty cluster.
    const empty = await startForwarder();
    const baseline = await scrape(empty.port);
    await stopForwarder(empty.child);
    peak = 0;

    // 2. A cluster of healthy pods.
    let podBytes = 0;
    const images = ['nginx:1.27', 'registry.example.com/shop/cart:3.1', 'ghcr.io/example/api:2.14.1'];
    for (let i = 0; i < HEALTHY_PODS; i++) {
      const deployment = `app-${i % 2000}`;
      const pod = makePod({
        name: `${deployment}-7c9d8b6f5-${i.toString(36)}`,
        namespace: `team-${i % 50}`,
        image: images[i % images.length] ?? 'nginx:1.27',
        node: `node-${i % 1000}`,
        replicaSet: { name: `${deployment}-7c9d8b6f5`, hash: '7c9d8b6f5' },
      });
      const running = POD_BYTES > 0 ? pod : setContainerState(pod, 'app', { running: {} });
      if (i < 100) podBytes += JSON.stringify(running).length;
      api.apply('pods', running);
    }
    const started = await startForwarder();
    const port = started.port;
    const idle = await scrape(port);
    const perTenThousand = HEALTHY_PODS === 0 ? 0 : ((idle.rss - baseline.rss) / HEALTHY_PODS) * 10_000;

    // 3. The storm: 500 Deployments of 10 pods fail within a few seconds.
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
          makePod({
            name: `${deployment}-6b7d9f8c5-${p}`,
            namespace,
            image: `registry.example.com/${deployment}:2.0`,
            node: `node-${p}`,
            replicaSet: { name: `${deployment}-6b7d9f8c5`, hash: '6b7d9f8c5' },
          }),
        );
      }
    }
    const before = { calls: bus.calls.length, cpu: idle.cpu };
    const stormStarted = Date.now();
    const batch = Math.ceil(pods.length / (STORM_SECONDS * 10));
    for (let i = 0; i < pods.length; i += batch) {
      for (const input of pods.slice(i, i + batch)) {
        const created = api.apply('pods', input);
        const image = `registry.example.com/${created.metadata.name.split('-6b7d9f8c5')[0]}:2.0`;
        const error = `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found`;
        const failed = api.apply('pods', failing(created, error));
        api.apply(
          'events',
          podEvent({
            pod: failed,
            container: 'app',
            reason: 'Failed',
            message: `Failed to pull image "${image}": ${error}`,
          }),
        );
      }
      await sleep(100);
    }
    const written = Date.now();
    const target = new Set(pods.map((pod) => pod.metadata.name));
    await bus.waitFor(
      (events) =>
        events.filter(
          (event) => event.detailType === 'ImagePullFailed' && target.has(String(event.detail.pod)),
        ).length >= target.size,
      120_000,
      'every failure',
    );
    const shippedAt = Date.now();
    const elapsed = (shippedAt - stormStarted) / 1000;
    await sleep(500);
    if (sampler !== undefined) clearInterval(sampler);
    const after = await scrape(port);
    peak = Math.max(peak, after.rss, idle.rss);
    const calls = bus.calls.slice(before.calls).filter((call) => call.status === 200);
    const entries = calls.reduce((sum, call) => sum + call.entries, 0);
    const duplicates =
      bus.events.filter((event) => event.detailType === 'ImagePullFailed').length - target.size;

    const size =
      POD_BYTES > 0 ? `realistic, ~${Math.round(podBytes / 100)} bytes of JSON each` : 'small test objects';
    const results = {
      'pods watched (idle)': `${HEALTHY_PODS} (${size})`,
      'RSS, empty cluster': `${mb(baseline.rss)} (heap ${mb(baseline.heap)})`,
      'idle RSS watching healthy pods': `${mb(idle.rss)} (heap ${mb(idle.heap)}; limit ${mb(manifestMemoryLimit())})`,
      'RSS per 10,000 pods': mb(perTenThousand),
      'storm: failing pods': `${pods.length} in ${DEPLOYMENTS} Deployments over ~${STORM_SECONDS} s`,
      'time until everything shipped': `${elapsed.toFixed(1)} s (target ≤ 30 s)`,
      // The fake API server runs in this process: on a busy machine, writing big objects is slow.
      'storm written by the bench in': `${((written - stormStarted) / 1000).toFixed(1)} s`,
      'shipped after the last write': `${((shippedAt - written) / 1000).toFixed(1)} s`,
      'PutEvents calls': calls.length,
      'entries per call': `${(entries / calls.length).toFixed(2)} (target ≥ 9)`,
      'failures shipped more than once': duplicates,
      'peak RSS': `${mb(peak)} (target < ${mb(PEAK_TARGET)}; heap after ${mb(after.heap)}, external ${mb(after.external)})`,
      'CPU seconds during the storm': (after.cpu - before.cpu).toFixed(2),
      'PutEvents latency (simulated)': `${BUS_LATENCY_MS} ms`,
      'node flags': NODE_OPTIONS || '(none)',
    };
    for (const [name, value] of Object.entries(results)) console.log(`${name.padEnd(34)} ${value}`);
    const ok =
      elapsed <= 30 &&
      entries / calls.length >= 9 &&
      peak < PEAK_TARGET &&
      idle.rss < manifestMemoryLimit() &&
      duplicates === 0;
    console.log(ok ? 'all targets met' : 'TARGETS MISSED');
    process.exitCode = ok ? 0 : 1;
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    if (child !== undefined) await stopForwarder(child);
    await api.stop();
    await bus.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

void main();
