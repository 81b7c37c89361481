/**
 * `pullwatch forward`: wiring only. Informers feed the reconciler, the reconciler feeds the
 * shipper, the shipper feeds EventBridge; heartbeats, probes, metrics and SIGTERM around them.
 *
 * Entry points: `forwardMain(env)` for the CLI and the container (exit codes, signals), and
 * `runForwarder(env, dependencies)` for embedding and tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KubeConfig, type CoreV1Event, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { CheckpointWriter, DeliveredLedger, fileCheckpoint } from './checkpoint';
import { ConfigError, type ForwarderConfig, namespaceInScope, parseConfig } from './config';
import { sleep } from './delays';
import { SupervisedInformer } from './informers';
import { KubeHttp } from './kube-http';
import { type Logger, describeError, jsonLogger } from './log';
import { ContainerTracker } from './container-tracker';
import { PodEventIndex } from './event-index';
import type { EventLike, PodLike } from './kube-objects';
import { heartbeatEvent } from './outgoing-events';
import { projectEvent, projectPod } from './projection';
import { PodReconciler } from './reconciler';
import { type PutEventsSender, Shipper, eventBridgePublisher } from './ship';
import { ForwarderMetrics, type Probe, startHealthServer } from './telemetry';
import { WorkloadDirectory } from './workloads';

/** Knobs for tests and benchmarks; production uses the defaults. */
export interface ForwarderTuning {
  watchTimeoutSeconds?: number;
  restartBaseMs?: number;
  restartMaxMs?: number;
  stallAfterMs?: number;
  /** An unsynced informer fails /healthz after this long. */
  startupGraceMs?: number;
  lingerMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  queueCapacity?: number;
  concurrency?: number;
  sdkMaxAttempts?: number;
  checkpointIntervalMs?: number;
  metricsHost?: string;
  listPageSize?: number;
  /** How long a failure known only by "Back-off pulling image" waits for the kubelet's event text. */
  holdMs?: number;
  /** Overrides PULLWATCH_HEARTBEAT_SECONDS with a finer interval. */
  heartbeatMs?: number;
}

export interface ForwarderDependencies {
  kubeConfig?: KubeConfig;
  /** Replaces the EventBridge client built from the configuration. */
  publisher?: PutEventsSender;
  log?: Logger;
  tuning?: ForwarderTuning;
}

export interface ForwarderHandle {
  config: ForwarderConfig;
  metricsPort: number;
  metrics: ForwarderMetrics;
  healthz(): Probe;
  readyz(): Probe;
  /** Stops watching, ships what is queued until the flush deadline, and saves the checkpoint. */
  stop(): Promise<{ unsent: number }>;
  /** The pods watched, from the informers' caches; undefined until the first list is in. */
  census(): { pods: number; namespaces: number } | undefined;
}

export const FORWARDER_VERSION = ((): string => {
  try {
    return (
      (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string })
        .version ?? 'unknown'
    );
  } catch {
    return 'unknown';
  }
})();

/** Pull failures and pull-secret warnings are the only pod events read; each is its own watch. */
const EVENT_SELECTORS = [
  'type=Warning,involvedObject.kind=Pod,reason=Failed',
  'type=Warning,involvedObject.kind=Pod,reason=FailedToRetrieveImagePullSecret',
];

type Pod = V1Pod & PodLike;
type PodEvent = CoreV1Event & EventLike;

const loadKubeConfig = (
  config: ForwarderConfig,
  env: Readonly<Record<string, string | undefined>>,
): KubeConfig => {
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig !== undefined) kubeConfig.loadFromFile(config.kubeconfig);
  else if (env.KUBERNETES_SERVICE_HOST !== undefined) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  return kubeConfig;
};

const excluding = (field: string, namespaces: readonly string[]): string[] =>
  namespaces.map((namespace) => `${field}!=${namespace}`);

export const runForwarder = async (
  env: Readonly<Record<string, string | undefined>> = process.env,
  dependencies: ForwarderDependencies = {},
): Promise<ForwarderHandle> => {
  const config = parseConfig(env);
  const tuning = dependencies.tuning ?? {};
  const log =
    dependencies.log ??
    jsonLogger(undefined, config.logLevel, { component: 'forwarder', cluster: config.cluster });
  const startedAt = Date.now();
  const inScope = namespaceInScope(config);
  const metrics = new ForwarderMetrics();

  // --- Kubernetes clients
  const kubeConfig = dependencies.kubeConfig ?? loadKubeConfig(config, env);
  const kube = new KubeHttp(kubeConfig);
  const pageSize = tuning.listPageSize ?? 500;

  // --- Shipping
  const client =
    dependencies.publisher === undefined
      ? new EventBridgeClient({
          region: config.region,
          ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
          maxAttempts: tuning.sdkMaxAttempts ?? 3,
          requestHandler: { requestTimeout: 10_000, connectionTimeout: 5_000 },
        })
      : undefined;
  const publisher = dependencies.publisher ?? eventBridgePublisher(client as EventBridgeClient);

  const checkpoint =
    config.stateFile === undefined ? undefined : fileCheckpoint(config.stateFile, config.cluster, log);
  const restored = (await checkpoint?.load()) ?? [];
  const shipped = restored.filter((episode) => inScope(episode.namespace));
  if (restored.length > 0)
    log.info('restored the checkpoint', {
      episodes: shipped.length,
      outOfScope: restored.length - shipped.length,
    });
  const ledger = new DeliveredLedger(shipped);
  const writer =
    checkpoint === undefined
      ? undefined
      : new CheckpointWriter(ledger, checkpoint, log, tuning.checkpointIntervalMs);
  const tracker = new ContainerTracker(shipped, tuning.holdMs);

  const shipper = new Shipper({
    publisher,
    busName: config.eventBus,
    log,
    ...(tuning.queueCapacity === undefined ? {} : { capacity: tuning.queueCapacity }),
    ...(tuning.concurrency === undefined ? {} : { concurrency: tuning.concurrency }),
    ...(tuning.lingerMs === undefined ? {} : { lingerMs: tuning.lingerMs }),
    ...(tuning.retryBaseMs === undefined ? {} : { retryBaseMs: tuning.retryBaseMs }),
    ...(tuning.retryMaxMs === undefined ? {} : { retryMaxMs: tuning.retryMaxMs }),
    onCall: (entries) => {
      metrics.putCalls.inc();
      metrics.entriesPerCall.observe(entries);
    },
    onDelivered: (events) => {
      for (const event of events) metrics.shipped.inc({ detail_type: event.detailType });
      ledger.delivered(events);
      writer?.touch();
    },
    onRetry: (scope, count) => metrics.retried.inc({ scope }, count),
    onFailedEntry: (code, permanent) =>
      metrics.failedEntries.inc({ error_code: code, permanent: String(permanent) }),
    onCoalesced: (count) => metrics.coalesced.inc(count),
    onRejected: () => metrics.rejected.inc(),
  });

  // --- Observing
  const workloads = new WorkloadDirectory(
    (kind, namespace, name) =>
      kube.ownersOf(
        kind === 'ReplicaSet'
          ? `/apis/apps/v1/namespaces/${namespace}/replicasets/${name}`
          : `/apis/batch/v1/namespaces/${namespace}/jobs/${name}`,
      ),
    log,
  );

  const events = new PodEventIndex();
  const podInformers = new Map<string, SupervisedInformer<Pod>>();
  const reconciler = new PodReconciler({
    cluster: config.cluster,
    tracker,
    events,
    workloads,
    podByName: (namespace, name) =>
      (podInformers.get(namespace) ?? podInformers.get(''))?.get(name, namespace),
    ship: (event) => shipper.enqueue(event),
    log,
    onObservation: (kind) => metrics.observations.inc({ kind }),
  });

  const informerOptions = {
    kubeConfig,
    log,
    ...(tuning.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: tuning.watchTimeoutSeconds }),
    ...(tuning.restartBaseMs === undefined ? {} : { restartBaseMs: tuning.restartBaseMs }),
    ...(tuning.restartMaxMs === undefined ? {} : { restartMaxMs: tuning.restartMaxMs }),
    ...(tuning.stallAfterMs === undefined ? {} : { stallAfterMs: tuning.stallAfterMs }),
  };
  const scopes: Array<string | undefined> =
    config.namespaces.length === 0 ? [undefined] : config.namespaces.filter(inScope);
  // With no namespace list, excluded namespaces are filtered by the API server.
  const exclusions = excluding(
    'metadata.namespace',
    config.namespaces.length === 0 ? config.excludeNamespaces : [],
  );
  const eventInformers: Array<SupervisedInformer<PodEvent>> = [];

  for (const namespace of scopes) {
    const where = namespace === undefined ? 'all namespaces' : namespace;
    const podSelector = exclusions.join(',') || undefined;
    const podPath = namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${namespace}/pods`;
    const pods = new SupervisedInformer<Pod>({
      ...informerOptions,
      name: `pods (${where})`,
      path: podPath,
      ...(podSelector === undefined ? {} : { fieldSelector: podSelector }),
      listPage: (continueToken) =>
        kube.listPage<Pod>(podPath, {
          limit: pageSize,
          ...(podSelector === undefined ? {} : { fieldSelector: podSelector }),
          ...(continueToken === undefined ? {} : { continueToken }),
        }),
      slim: projectPod,
      onRestart: (cause) => metrics.watchRestarts.inc({ informer: 'pods', cause }),
    });
    pods.on('add', (pod) => reconciler.podChanged(pod));
    pods.on('update', (pod) => reconciler.podChanged(pod));
    pods.on('delete', (pod) => reconciler.podDeleted(pod));
    podInformers.set(namespace ?? '', pods);

    for (const base of EVENT_SELECTORS) {
      const eventSelector = [base, ...exclusions].join(',');
      const eventPath = namespace === undefined ? '/api/v1/events' : `/api/v1/namespaces/${namespace}/events`;
      const informer = new SupervisedInformer<PodEvent>({
        ...informerOptions,
        name: `events ${base.split('reason=')[1] ?? ''} (${where})`,
        path: eventPath,
        fieldSelector: eventSelector,
        listPage: (continueToken) =>
          kube.listPage<PodEvent>(eventPath, {
            limit: pageSize,
            fieldSelector: eventSelector,
            ...(continueToken === undefined ? {} : { continueToken }),
          }),
        slim: projectEvent,
        onRestart: (cause) => metrics.watchRestarts.inc({ informer: 'events', cause }),
      });
      informer.on('add', (event) => reconciler.eventChanged(event));
      informer.on('update', (event) => reconciler.eventChanged(event));
      informer.on('delete', (event) => reconciler.eventDeleted(event));
      eventInformers.push(informer);
    }
  }
  const allInformers: Array<SupervisedInformer<KubernetesObject>> = [
    ...(eventInformers as unknown as Array<SupervisedInformer<KubernetesObject>>),
    ...([...podInformers.values()] as unknown as Array<SupervisedInformer<KubernetesObject>>),
  ];

  // --- Probes and metrics
  let stopping = false;
  let ready = false;
  const stallAfterMs = tuning.stallAfterMs ?? ((tuning.watchTimeoutSeconds ?? 300) + 60) * 1000;
  const startupGraceMs = tuning.startupGraceMs ?? 300_000;
  const healthz = (): Probe => {
    const now = Date.now();
    const problems: string[] = [];
    const informers = allInformers.map((informer) => informer.healthSnapshot());
    for (const informer of informers) {
      if (!informer.synced) {
        if (now - startedAt > startupGraceMs) problems.push(`${informer.name}: no successful list yet`);
      } else if (now - (informer.lastActivityAt ?? 0) > stallAfterMs * 2) {
        problems.push(
          `${informer.name}: no list or watch activity for ${Math.round((now - (informer.lastActivityAt ?? 0)) / 1000)}s`,
        );
      }
    }
    if (reconciler.backlog > 0 && !reconciler.waitingOnShipper && now - reconciler.lastProgressAt > 120_000) {
      problems.push(
        `the observation loop has not progressed for ${Math.round((now - reconciler.lastProgressAt) / 1000)}s`,
      );
    }
    return {
      ok: problems.length === 0,
      detail: { problems, informers, backlog: reconciler.backlog, queue: shipper.depth },
    };
  };
  const readyz = (): Probe => ({ ok: ready && !stopping, detail: { ready, stopping } });
  metrics.sources.queueDepth = () => shipper.depth;
  metrics.sources.failingContainers = () => tracker.failingCount;
  const health = await startHealthServer(
    config.metricsPort,
    metrics,
    { healthz, readyz },
    tuning.metricsHost,
  );

  // --- Start: events first, so pods are observed with their events; then pods.
  log.info('forwarder starting', {
    version: FORWARDER_VERSION,
    eventBus: config.eventBus,
    region: config.region,
    namespaces: config.namespaces,
    excludeNamespaces: config.excludeNamespaces,
    metricsPort: health.port,
    checkpoint: config.stateFile ?? null,
  });
  let heartbeat: NodeJS.Timeout | undefined;
  const sendHeartbeat = (): void =>
    shipper.offerHeartbeat(
      heartbeatEvent(config.cluster, tracker.failingCount, FORWARDER_VERSION, new Date()),
    );

  const starting = (async () => {
    await Promise.all(eventInformers.map((informer) => informer.start()));
    if (stopping) return;
    await Promise.all([...podInformers.values()].map((informer) => informer.start()));
    if (stopping) return;
    const live = new Set<string>();
    for (const informer of podInformers.values()) {
      for (const pod of informer.list()) if (pod.metadata?.uid) live.add(pod.metadata.uid);
    }
    await reconciler.reconcileGone(live, inScope);
    await reconciler.drained();
    if (stopping) return;
    ready = true;
    log.info('forwarder watching', {
      pods: live.size,
      failingContainers: tracker.failingCount,
      podEvents: events.size,
    });
    sendHeartbeat();
    heartbeat = setInterval(sendHeartbeat, tuning.heartbeatMs ?? config.heartbeatSeconds * 1000);
  })().catch((error: unknown) => {
    log.error('forwarder failed to start', describeError(error));
  });

  const stop = async (): Promise<{ unsent: number }> => {
    if (stopping) return { unsent: shipper.depth };
    stopping = true;
    const deadline = Date.now() + config.flushSeconds * 1000;
    log.info('forwarder stopping; flushing', { queued: shipper.depth, backlog: reconciler.backlog });
    if (heartbeat) clearInterval(heartbeat);
    await Promise.all(allInformers.map((informer) => informer.stop()));
    reconciler.close();
    await Promise.race([reconciler.drained(), sleep(deadline - Date.now(), { unref: true })]);
    const { unsent } = await shipper.flush(deadline);
    await writer?.close();
    await starting;
    await health.close();
    client?.destroy();
    if (unsent > 0) log.error('stopped with events not shipped', { unsent });
    else log.info('forwarder stopped; everything shipped');
    return { unsent };
  };

  const census = () => {
    if (!ready) return undefined;
    let pods = 0;
    const namespaces = new Set<string>();
    for (const informer of podInformers.values()) {
      for (const pod of informer.list()) {
        const namespace = pod.metadata?.namespace ?? '';
        if (!inScope(namespace)) continue;
        pods++;
        namespaces.add(namespace);
      }
    }
    return { pods, namespaces: namespaces.size };
  };

  return { config, metricsPort: health.port, metrics, healthz, readyz, stop, census };
};

/**
 * The `pullwatch forward` command: runs until SIGTERM or SIGINT, then flushes. Returns the exit
 * code: 2 for a configuration error (one line on stderr naming the variable), 1 if it could not
 * start, 0 after a clean stop.
 */
export const forwardMain = async (
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> => {
  let handle: ForwarderHandle;
  try {
    handle = await runForwarder(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`pullwatch forward: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(
      `pullwatch forward: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'signal received', signal })}\n`,
  );
  const { unsent } = await handle.stop();
  return unsent > 0 ? 1 : 0;
};

if (require.main === module) {
  void forwardMain().then((code) => process.exit(code));
}
