/**
 * Local mode's pipeline in-process for tests: the local bus with the real handlers (local/pipeline.ts),
 * dynalite (test/support/dynalite.ts), terminal Slack into a temporary folder, and a clock the test
 * moves (to each event's time: tests send events in time order). Ticks run only when asked (`tickAt`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DETAIL_TYPE, type FailedDetail, type RecoveryKind, SCHEMA_VERSION, SOURCE } from '#shared/contract';
import { type IncidentWindows, incidentWindows } from '#shared/incident';
import type { RegistryCheckConfig } from '#shared/registry-check/check-config';
import { createRouter } from '#shared/routing';
import type { Log } from '../../../functions/_common/observability';
import { type DeadLetter, LocalBus } from '../../../local/bus';
import { CountingMetrics, type LocalPipeline, wirePipeline } from '../../../local/pipeline';
import { TerminalSlack } from '../../../local/terminal-slack';
import { type LocalDynamo, startDynalite } from '../../support/dynalite';
import { TEXTS, imageFacts } from '../../fixtures/recordings/scenarios';

export const T0 = Date.parse('2026-03-01T10:00:00.000Z');
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

export interface FailureOptions {
  cluster?: string;
  namespace?: string;
  workload?: string;
  kind?: string;
  pod?: string;
  container?: string;
  image?: string;
  message?: string;
  /** Epoch ms. */
  at: number;
  firstSeen?: number;
  count?: number;
}

export const failureDetail = (options: FailureOptions): FailedDetail => {
  const workload = options.workload ?? 'web';
  const pod = options.pod ?? `${workload}-7d9c6b5f4-x2x9z`;
  const image = options.image ?? 'nginx:1.27-alpin';
  return {
    schemaVersion: SCHEMA_VERSION,
    cluster: options.cluster ?? 'prod-eu',
    namespace: options.namespace ?? 'shop',
    pod,
    podUid: `uid-${options.cluster ?? 'prod-eu'}-${pod}`,
    container: options.container ?? workload,
    containerType: 'regular',
    image,
    reason: 'ErrImagePull',
    message: options.message ?? TEXTS.notFound(imageFacts(image)),
    messageTruncated: false,
    node: 'ip-10-0-1-23.eu-west-1.compute.internal',
    workload: { kind: options.kind ?? 'Deployment', name: workload },
    pullSecrets: [],
    serviceAccount: 'default',
    annotations: {},
    firstSeen: new Date(options.firstSeen ?? options.at).toISOString(),
    lastSeen: new Date(options.at).toISOString(),
    count: options.count ?? 1,
    observedAt: new Date(options.at).toISOString(),
  };
};

export interface TestPipeline {
  dynamo: LocalDynamo;
  metrics: CountingMetrics;
  bus: LocalBus;
  pipeline: LocalPipeline;
  slack: TerminalSlack;
  /** What terminal Slack printed. */
  printed: string[];
  clock: { ms: number };
  dir: string;
  /** The forwarder's events, put on the bus with the clock set to their time; resolves when handled. */
  failed(options: FailureOptions): Promise<void>;
  recovered(options: FailureOptions & { recovery?: RecoveryKind }): Promise<void>;
  /** Moves the clock and runs both ticks. */
  tickAt(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export const startTestPipeline = async (
  windows: Partial<IncidentWindows> = {},
  options: {
    log?: Log;
    onDeadLetter?: (letter: DeadLetter) => void;
    /** Another process on this store (left running at stop). */
    dynamo?: LocalDynamo;
    /** The registry check from this machine (no credentials looked up), on the test's clock. */
    registryCheck?: RegistryCheckConfig;
  } = {},
): Promise<TestPipeline> => {
  const dynamo = options.dynamo ?? (await startDynalite());
  const dir = mkdtempSync(join(tmpdir(), 'pullwatch-local-'));
  const clock = { ms: T0 };
  const printed: string[] = [];
  const bus = new LocalBus({
    retryBaseMs: 5,
    retryMaxMs: 20,
    ...(options.onDeadLetter === undefined ? {} : { onDeadLetter: options.onDeadLetter }),
  });
  const slack = new TerminalSlack({
    dataDir: dir,
    write: (text) => printed.push(text),
    now: () => clock.ms,
    cwd: dir,
  });
  const metrics = new CountingMetrics();
  const pipeline = wirePipeline({
    bus,
    client: dynamo.client,
    tableName: dynamo.tableName,
    windows: incidentWindows({ stormHoldMs: 0, ...windows }),
    notifier: slack,
    route: createRouter({ defaultChannel: '#alerts', rules: [] }),
    leaseMs: 30_000,
    log: options.log ?? silent,
    metrics,
    tickIntervalMs: 3_600_000,
    onRejected: () => Promise.resolve(),
    onHeartbeat: () => Promise.resolve(),
    channelFor: () => '#alerts',
    now: () => new Date(clock.ms),
    ...(options.registryCheck === undefined
      ? {}
      : {
          registryCheck: options.registryCheck,
          registryCheckSite: { credentials: async () => undefined, now: () => new Date(clock.ms) },
        }),
  });
  const send = async (detailType: string, detail: object, at: number) => {
    clock.ms = at;
    bus.put([{ source: SOURCE, detailType, detail }]);
    await bus.idle();
  };
  return {
    dynamo,
    metrics,
    bus,
    pipeline,
    slack,
    printed,
    clock,
    dir,
    failed: (options) => send(DETAIL_TYPE.failed, failureDetail(options), options.at),
    recovered: (options) => {
      const detail = failureDetail(options);
      return send(
        DETAIL_TYPE.recovered,
        // A recovery repeats its failure's fields; the episode's lastSeen is when it last failed.
        { ...detail, lastSeen: detail.firstSeen, recovery: options.recovery ?? 'started' },
        options.at,
      );
    },
    tickAt: async (ms) => {
      clock.ms = ms;
      await pipeline.tick();
      await bus.idle();
    },
    stop: async () => {
      await bus.stop();
      if (options.dynamo === undefined) await dynamo.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/**
 * A small history: a resolved incident in prod-eu (web, recovered after a minute) and an open one in
 * prod-us (api, redis:7.2), six minutes apart.
 */
export const seedTwoIncidents = async (world: TestPipeline): Promise<void> => {
  await world.failed({ at: T0, pod: 'web-a' });
  await world.recovered({ at: T0 + MINUTE, pod: 'web-a' });
  await world.tickAt(T0 + 5 * MINUTE);
  await world.failed({ at: T0 + 6 * MINUTE, cluster: 'prod-us', workload: 'api', image: 'redis:7.2' });
};
