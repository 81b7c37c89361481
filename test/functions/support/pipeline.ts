/**
 * The pipeline's functions wired to real protocol peers on 127.0.0.1: dynalite (DynamoDB), a local
 * EventBridge (test/support/fake-eventbridge.ts), a local Slack Web API and a local Secrets Manager,
 * each reached by the real SDK client through an endpoint override and dummy credentials. Only the
 * clock is simulated. SQS is simulated by `deliver`: batches, partial failures, redelivery.
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DETAIL_TYPE, type FailedDetail, type RecoveryKind, SCHEMA_VERSION, SOURCE } from '#shared/contract';
import { type IncidentWindows, incidentWindows } from '#shared/incident';
import { INCIDENT_DETAIL_TYPES, PIPELINE_DETAIL_TYPE } from '#shared/incident-events';
import { EventBridgePublisher } from '../../../functions/_common/event-publisher';
import {
  DynamoIncidentStore,
  type IncidentSlackState,
  type PostOwnerRef,
  type PostStore,
} from '../../../functions/_common/incident-store';
import { SlackNotifier } from '../../../functions/_common/notifier';
import type { Log, MetricName, PipelineMetrics } from '../../../functions/_common/observability';
import { SecretsManagerTokenSource } from '../../../functions/_common/slack-token';
import { isIncidentHeadSk, postsPk, postsSk } from '../../../functions/_common/table-keys';
import { type RegistryAnswers, createClassifyHandler } from '../../../functions/classify/classify';
import { type DedupeDeps, createDedupeHandler, createTickHandler } from '../../../functions/dedupe/dedupe';
import {
  type NotifyDeps,
  createNotifyHandler,
  createNotifyTickHandler,
} from '../../../functions/notify/notify';
import { type RouteRule, createClusterRouter, createRouter } from '#shared/routing';
import { DynamoForwarderStore } from '../../../functions/_common/forwarder-store';
import {
  type WatchdogDeps,
  type WatchdogTickResult,
  createHeartbeatHandler,
  createWatchdogTickHandler,
} from '../../../functions/watchdog/watchdog';
import { CapacityMeter } from '../../support/capacity-meter';
import {
  type LocalDynamo,
  DUMMY_CREDENTIALS,
  TEST_REGION,
  scanAll,
  startDynalite,
} from '../../support/dynalite';
import { type AcceptedEvent, FakeEventBridge } from '../../support/fake-eventbridge';
import { FakeSlack } from '../../support/fake-slack';
import { FakeSecretsManager } from './fake-secrets-manager';
import { DynamoActionStore } from '../../../functions/_common/incident-actions-store';
import type { ApplyDeps } from '../../../functions/actions/apply';
import { CachedUserGroups } from '../../../functions/_common/user-groups';

export const T0 = Date.parse('2026-03-01T10:00:00.000Z');
export const MINUTE = 60_000;
export const SLACK_TOKEN = 'xoxb-test-token';
export const CHANNELS = { alerts: 'C0ALERTS01', shop: 'C0SHOP0001', platform: 'C0PLATFORM' };

export class Clock {
  constructor(public ms: number) {}
  now = (): Date => new Date(this.ms);
  advance(ms: number): void {
    this.ms += ms;
  }
}

export class RecordingMetrics implements PipelineMetrics {
  readonly counts = new Map<MetricName, number>();
  flushes = 0;
  count(metric: MetricName, value = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }
  flush(): void {
    this.flushes++;
  }
  get(metric: MetricName): number {
    return this.counts.get(metric) ?? 0;
  }
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  extra: unknown[];
}

export class RecordingLog implements Log {
  readonly entries: LogEntry[] = [];
  debug = (message: string, ...extra: unknown[]) =>
    void this.entries.push({ level: 'debug', message, extra });
  info = (message: string, ...extra: unknown[]) => void this.entries.push({ level: 'info', message, extra });
  warn = (message: string, ...extra: unknown[]) => void this.entries.push({ level: 'warn', message, extra });
  error = (message: string, ...extra: unknown[]) =>
    void this.entries.push({ level: 'error', message, extra });
  at(level: LogEntry['level']): LogEntry[] {
    return this.entries.filter((entry) => entry.level === level);
  }
}

// ---------------------------------------------------------------------------------------------
// Events

const NOT_FOUND = (image: string) =>
  `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/${image}": failed to resolve reference "docker.io/library/${image}": docker.io/library/${image}: not found`;

export interface PodEventOptions {
  cluster?: string;
  namespace?: string;
  workload?: string;
  pod?: number | string;
  container?: string;
  image?: string;
  message?: string;
  /** Minutes after T0. */
  at: number;
  firstSeen?: number;
  count?: number;
  annotations?: Record<string, string>;
}

const detailOf = (options: PodEventOptions): FailedDetail => {
  const workload = options.workload ?? 'web';
  const pod = typeof options.pod === 'string' ? options.pod : `${workload}-7d9c6b5f4-${options.pod ?? 1}`;
  const image = options.image ?? 'nginx:1.27-alpin';
  return {
    schemaVersion: SCHEMA_VERSION,
    cluster: options.cluster ?? 'prod-eu',
    namespace: options.namespace ?? 'shop',
    pod,
    podUid: `uid-${pod}`,
    container: options.container ?? 'web',
    containerType: 'regular',
    image,
    reason: 'ErrImagePull',
    message: options.message ?? NOT_FOUND(image),
    messageTruncated: false,
    node: 'ip-10-0-1-23.eu-west-1.compute.internal',
    workload: { kind: 'Deployment', name: workload },
    pullSecrets: [],
    serviceAccount: 'default',
    annotations: options.annotations ?? {},
    firstSeen: new Date(T0 + (options.firstSeen ?? 0) * MINUTE).toISOString(),
    lastSeen: new Date(T0 + Math.max(options.firstSeen ?? 0, options.at) * MINUTE).toISOString(),
    count: options.count ?? 1,
    observedAt: new Date(T0 + options.at * MINUTE).toISOString(),
  };
};

/** An EventBridge event as a rule target (here: a queue) receives it. */
export const ruleTargetEvent = <D>(source: string, detailType: string, detail: D) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': detailType,
  source,
  account: '123456789012',
  time: new Date(T0).toISOString(),
  region: TEST_REGION,
  resources: [],
  detail,
});

export const failed = (options: PodEventOptions) =>
  ruleTargetEvent(SOURCE, DETAIL_TYPE.failed, detailOf(options));

export const recovered = (options: PodEventOptions & { recovery?: RecoveryKind }) => {
  const detail = detailOf(options);
  // A recovery repeats its failure's fields: the episode's lastSeen is when it last failed.
  return ruleTargetEvent(SOURCE, DETAIL_TYPE.recovered, {
    ...detail,
    lastSeen: detail.firstSeen,
    recovery: options.recovery ?? 'started',
  });
};

/** A forwarder's heartbeat, produced `at` minutes after T0 (by its own clock). */
export const heartbeat = (options: { cluster?: string; at: number; failingContainers?: number }) =>
  ruleTargetEvent(SOURCE, DETAIL_TYPE.heartbeat, {
    schemaVersion: SCHEMA_VERSION,
    cluster: options.cluster ?? 'prod-eu',
    observedAt: new Date(T0 + options.at * MINUTE).toISOString(),
    failingContainers: options.failingContainers ?? 0,
    forwarderVersion: '0.1.0',
  });

/** What a rule target receives for an event the fake bus accepted. */
export const delivered = (event: AcceptedEvent) =>
  ruleTargetEvent(event.source, event.detailType, event.detail);

// ---------------------------------------------------------------------------------------------
// SQS, simulated: batches, partial batch responses, redelivery

type QueueHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

let messageSequence = 0;

export const sqsRecord = (body: unknown): SQSRecord => {
  const messageId = `m-${++messageSequence}`;
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(T0),
      SenderId: 'AIDTEST',
      ApproximateFirstReceiveTimestamp: String(T0),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:pullwatch-test',
    awsRegion: TEST_REGION,
  };
};

/**
 * Delivers bodies in batches, all batches at once (concurrent invocations); returns the bodies whose
 * records were reported as failed (SQS would deliver them again).
 */
export const deliver = async (
  handler: QueueHandler,
  bodies: readonly unknown[],
  batchSize = 10,
): Promise<unknown[]> => {
  const records = bodies.map((body) => ({ body, record: sqsRecord(body) }));
  const batches: Array<typeof records> = [];
  for (let i = 0; i < records.length; i += batchSize) batches.push(records.slice(i, i + batchSize));
  const responses = await Promise.all(
    batches.map((batch) => handler({ Records: batch.map((r) => r.record) })),
  );
  const failedIds = new Set(
    responses.flatMap((response) => response.batchItemFailures.map((f) => f.itemIdentifier)),
  );
  return records.filter(({ record }) => failedIds.has(record.messageId)).map(({ body }) => body);
};

/** Delivers, then redelivers failures (after `between`, e.g. a visibility timeout on the clock) until none fail. */
export const deliverUntilDone = async (
  handler: QueueHandler,
  bodies: readonly unknown[],
  options: { batchSize?: number; rounds?: number; between?: () => void } = {},
): Promise<number> => {
  let pending = [...bodies];
  let rounds = 0;
  while (pending.length > 0) {
    if (++rounds > (options.rounds ?? 10))
      throw new Error(`${pending.length} records still failing after ${rounds - 1} rounds`);
    if (rounds > 1) options.between?.();
    pending = await deliver(handler, pending, options.batchSize);
  }
  return rounds;
};

export const shuffle = <T>(items: readonly T[], seed = 1): T[] => {
  const out = [...items];
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// The pipeline

export interface PipelineOptions {
  /** Slack's message times follow the simulated clock (for runs that move it far). */
  slackOnClock?: boolean;
  windows?: Partial<IncidentWindows>;
  leaseMs?: number;
  slackTimeoutMs?: number;
  routes?: RouteRule[];
  /** Wrap what notify uses (to inject crashes): its incident reads, its post claims. */
  notifyStore?: (store: IncidentSlackState) => IncidentSlackState;
  notifyPosts?: (posts: PostStore<PostOwnerRef>) => PostStore<PostOwnerRef>;
  /** classify's registry check, on the pipeline's clock (off when absent). */
  registryCheck?: (clock: Clock) => RegistryAnswers;
  /** Actions from Slack: notify renders controls and honours snoozes and mutes; `worker` applies actions. */
  interactions?: boolean;
  /** The actions worker's registry check (a re-check asks the registry). */
  recheckRegistry?: ApplyDeps['registryCheck'];
  /** The actions worker's mute allow-list (user groups asked of the fake Slack, real client). */
  muteAllowList?: ApplyDeps['muteAllowList'];
}

export interface Pipeline {
  dynamo: LocalDynamo;
  bus: FakeEventBridge;
  slack: FakeSlack;
  secrets: FakeSecretsManager;
  clock: Clock;
  windows: IncidentWindows;
  store: DynamoIncidentStore;
  /** What the pipeline's DynamoDB calls consume. */
  capacity: CapacityMeter;
  metrics: {
    classify: RecordingMetrics;
    dedupe: RecordingMetrics;
    notify: RecordingMetrics;
    watchdog: RecordingMetrics;
  };
  logs: { classify: RecordingLog; dedupe: RecordingLog; notify: RecordingLog; watchdog: RecordingLog };
  /** With `interactions`: the action store, and the worker's deps (for its queue handler). */
  actions?: DynamoActionStore;
  workerDeps?: ApplyDeps;
  classify: QueueHandler;
  dedupe: QueueHandler;
  notify: QueueHandler;
  tick: () => Promise<unknown>;
  /** notify's scheduled tick: held first posts and throttled updates whose time has come. */
  notifyTick: () => Promise<{ due: number; owed: number; failed: number }>;
  /**
   * What the tick does for retries notify scheduled (a lease to outlive, a Retry-After, a refused
   * token): the clock moves past each (2 minutes a round) and the tick runs, until it finds nothing.
   */
  retryScheduled(rounds?: number): Promise<number>;
  /** The watchdog: heartbeats (SQS) and its scheduled tick. */
  heartbeats: QueueHandler;
  watchdogTick: () => Promise<WatchdogTickResult>;
  /** Bus events accepted since the last call (and a cursor over them). */
  takeNew(detailTypes: readonly string[]): AcceptedEvent[];
  /** Runs classify and dedupe for forwarder events; returns the incident events for notify. */
  untilNotify(events: readonly unknown[]): Promise<unknown[]>;
  /** Runs the chain for forwarder events: classify → dedupe → notify, redelivering failures. */
  flow(events: readonly unknown[]): Promise<void>;
  /** Ticks, then notifies whatever the tick changed. */
  tickAndNotify(): Promise<void>;
  /** The incidents' items in the table (no pointers, storms or clusters), as documents. */
  incidentItems(): Promise<Awaited<ReturnType<typeof scanAll>>>;
  stop(): Promise<void>;
}

export const startPipeline = async (options: PipelineOptions = {}): Promise<Pipeline> => {
  const clock = new Clock(T0 + 30_000);
  const [dynamo, bus, slack, secrets] = await Promise.all([
    startDynalite(),
    new FakeEventBridge().start(),
    new FakeSlack({
      token: SLACK_TOKEN,
      channels: CHANNELS,
      ...(options.slackOnClock === true ? { now: () => clock.ms } : {}),
    }).start(),
    new FakeSecretsManager().start(),
  ]);
  secrets.secrets.set('pullwatch/slack', JSON.stringify({ token: SLACK_TOKEN }));
  // No storm hold unless a test asks for one: first posts go out at once (storms: storm.test.ts).
  const windows = incidentWindows({ stormHoldMs: 0, ...options.windows });
  const aws = { region: TEST_REGION, credentials: DUMMY_CREDENTIALS };
  const eventBridge = new EventBridgeClient({ ...aws, endpoint: bus.endpoint });
  const secretsClient = new SecretsManagerClient({ ...aws, endpoint: secrets.endpoint });
  const dynamoClient = dynamo.newClient();
  const capacity = new CapacityMeter(dynamoClient);
  const store = new DynamoIncidentStore(dynamoClient, { tableName: dynamo.tableName, windows });
  const publisher = new EventBridgePublisher(eventBridge, 'pullwatch-test');
  const metrics = {
    classify: new RecordingMetrics(),
    dedupe: new RecordingMetrics(),
    notify: new RecordingMetrics(),
    watchdog: new RecordingMetrics(),
  };
  const logs = {
    classify: new RecordingLog(),
    dedupe: new RecordingLog(),
    notify: new RecordingLog(),
    watchdog: new RecordingLog(),
  };
  const now = clock.now;
  /** What notify and the watchdog share: Slack (no waiting between retries), the lease, the clock. */
  const posting = (name: 'notify' | 'watchdog') => ({
    notifier: new SlackNotifier({
      tokens: new SecretsManagerTokenSource(secretsClient, 'pullwatch/slack'),
      slackApiUrl: slack.apiUrl,
      timeoutMs: options.slackTimeoutMs ?? 2000,
      retries: 2,
      maxInlineWaitMs: 1000,
      metrics: metrics[name],
      sleep: async () => {},
      now: () => now().getTime(),
    }),
    leaseMs: options.leaseMs ?? 90_000,
    publisher,
    log: logs[name],
    metrics: metrics[name],
    now,
    newToken: randomUUID,
    sleep: async () => {},
  });
  const routing = { defaultChannel: '#alerts', rules: options.routes ?? [] };

  const classify = createClassifyHandler({
    publisher,
    log: logs.classify,
    metrics: metrics.classify,
    now,
    ...(options.registryCheck === undefined ? {} : { registryCheck: options.registryCheck(clock) }),
  });
  const dedupeDeps: DedupeDeps = {
    store,
    publisher,
    windows,
    log: logs.dedupe,
    metrics: metrics.dedupe,
    now,
  };
  const dedupe = createDedupeHandler(dedupeDeps);
  const tick = createTickHandler(dedupeDeps);
  const actions = options.interactions
    ? new DynamoActionStore(dynamoClient, { tableName: dynamo.tableName, now })
    : undefined;
  const notifyDeps: NotifyDeps = {
    ...posting('notify'),
    store: options.notifyStore ? options.notifyStore(store) : store,
    storms: store.storms,
    posts: options.notifyPosts ? options.notifyPosts(store.posts) : store.posts,
    owed: store.owed,
    route: createRouter(routing),
    windows,
    ...(actions === undefined ? {} : { actions }),
  };
  const workerDeps: ApplyDeps | undefined =
    actions === undefined
      ? undefined
      : (() => {
          const worker = posting('notify');
          return {
            ...worker,
            store,
            storms: store.storms,
            posts: store.posts,
            actions,
            windows,
            ...(options.recheckRegistry === undefined ? {} : { registryCheck: options.recheckRegistry }),
            ...(options.muteAllowList === undefined ? {} : { muteAllowList: options.muteAllowList }),
            people: worker.notifier,
            userGroups: new CachedUserGroups(worker.notifier, () => now().getTime()),
          };
        })();
  const notify = createNotifyHandler(notifyDeps);
  const notifyTick = createNotifyTickHandler(notifyDeps);
  const forwarders = new DynamoForwarderStore(dynamoClient, { tableName: dynamo.tableName });
  const watchdogDeps: WatchdogDeps = {
    ...posting('watchdog'),
    store: forwarders,
    posts: forwarders.posts,
    channelFor: createClusterRouter(routing),
    silenceMs: windows.silenceMs,
  };
  const heartbeats = createHeartbeatHandler(watchdogDeps);
  const watchdogTick = createWatchdogTickHandler(watchdogDeps);

  let cursor = 0;
  const takeNew = (detailTypes: readonly string[]) => {
    const fresh = bus.events.slice(cursor);
    cursor = bus.events.length;
    return fresh.filter((event) => detailTypes.includes(event.detailType));
  };
  const incidentTypes: readonly string[] = INCIDENT_DETAIL_TYPES;
  const afterVisibilityTimeout = () => clock.advance(2 * MINUTE);

  const pipeline: Pipeline = {
    dynamo,
    bus,
    slack,
    secrets,
    clock,
    windows,
    store,
    capacity,
    metrics,
    logs,
    ...(actions === undefined ? {} : { actions }),
    ...(workerDeps === undefined ? {} : { workerDeps }),
    classify,
    dedupe,
    notify,
    tick,
    notifyTick,
    heartbeats,
    watchdogTick,
    takeNew,
    untilNotify: async (events) => {
      takeNew([]);
      await deliverUntilDone(classify, events);
      const classified = takeNew([PIPELINE_DETAIL_TYPE.classified]).map(delivered);
      await deliverUntilDone(dedupe, classified);
      return takeNew(incidentTypes).map(delivered);
    },
    flow: async (events) => {
      const incidentEvents = await pipeline.untilNotify(events);
      await deliverUntilDone(notify, incidentEvents, { between: afterVisibilityTimeout });
    },
    retryScheduled: async (rounds = 5) => {
      for (let round = 1; round <= rounds; round++) {
        afterVisibilityTimeout();
        const { due, owed, failed } = await notifyTick();
        if (due === 0 && owed === 0 && failed === 0) return round;
      }
      throw new Error(`the tick still finds retries after ${rounds} rounds`);
    },
    tickAndNotify: async () => {
      takeNew([]);
      await tick();
      const incidentEvents = takeNew(incidentTypes).map(delivered);
      await deliverUntilDone(notify, incidentEvents, { between: afterVisibilityTimeout });
    },
    incidentItems: async () => {
      const all = await scanAll(dynamo);
      // Each head, with its incident's Slack state (posts, render, storm) from the Slack item.
      const slack = new Map(all.map((item) => [`${String(item.pk)}\n${String(item.sk)}`, item]));
      return all
        .filter((item) => isIncidentHeadSk(String(item.sk)))
        .map((head) => {
          const ref = { keyId: String(head.keyId), generation: Number(head.generation) };
          const {
            pk: _pk,
            sk: _sk,
            ...notify
          } = slack.get(`${postsPk(ref.keyId)}\n${postsSk(ref.generation)}`) ?? {};
          return { ...notify, ...head };
        });
    },
    stop: async () => {
      eventBridge.destroy();
      secretsClient.destroy();
      dynamoClient.destroy();
      await Promise.all([dynamo.stop(), bus.stop(), slack.stop(), secrets.stop()]);
    },
  };
  return pipeline;
};

/**
 * The environment the stack gives the Lambda functions, pointed at this pipeline's peers: what a
 * handler module reads when it is loaded as Lambda loads it.
 */
export const lambdaEnv = (pipeline: Pipeline): NodeJS.ProcessEnv => ({
  AWS_REGION: TEST_REGION,
  AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
  AWS_ENDPOINT_URL_DYNAMODB: pipeline.dynamo.endpoint,
  AWS_ENDPOINT_URL_EVENTBRIDGE: pipeline.bus.endpoint,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: pipeline.secrets.endpoint,
  SLACK_API_URL: pipeline.slack.apiUrl,
  PULLWATCH_EVENT_BUS: 'pullwatch-test',
  PULLWATCH_TABLE: pipeline.dynamo.tableName,
  PULLWATCH_SLACK_CHANNEL: '#alerts',
  PULLWATCH_SLACK_TOKEN_SECRET: 'pullwatch/slack',
  PULLWATCH_STORM_HOLD: '0',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
});
