/**
 * Local mode: the whole pipeline from one command, against the current kubeconfig context (or a
 * recording), with no AWS account.
 *
 *   forwarder (or replay) ──PutEvents──▶ local bus ──rules from shared/──▶ classify → dedupe → notify
 *                                          │                 heartbeats ──▶ watchdog      │          │
 *                                          └─ ticks (resolution, throttled updates,   dynalite   Slack or
 *                                             held and owed posts, silent forwarders) (own process) terminal
 *
 * Wiring and lifecycle only: the forwarder is runForwarder with the bus as its publisher; the
 * handlers are the Lambda factories (./pipeline.ts); the store is dynalite on the data folder
 * (./store.ts); Slack is real when configured, otherwise the terminal (./slack-target.ts). What the
 * terminal shows is in ./banner.ts, ./terminal-lines.ts, ./status-line.ts and ./dead-letters.ts.
 *
 * Nothing is lost to a crash or a stop: the forwarder's checkpoint counts a failure as shipped only
 * once dedupe has stored it, and every post a stored change owes is swept at start.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  type ForwarderHandle,
  type ForwarderTuning,
  FORWARDER_VERSION,
  runForwarder,
} from '../forwarder/main';
import { ConfigError, type Env } from '../functions/_common/env';
import { createClusterRouter, createRouter } from '#shared/routing';
import { IncidentQueries } from '../functions/history/queries';
import { type LocalSource, bannerLines } from './banner';
import { LocalBus } from './bus';
import type { LocalConfig } from './config';
import { deadLetterFile } from './dead-letters';
import { failingCountFromHeartbeats } from './heartbeats';
import { localLog } from './log';
import { CountingMetrics, type LocalPipeline, forwarderPublisher, wirePipeline } from './pipeline';
import { interactionsConfigured, muteSettingsOf, startLocalInteractions } from './interactions';
import { type ReplayHandle, startReplay } from './replay';
import { waitUntilSettled } from './settled';
import { slackTarget } from './slack-target';
import { stamped, statusLine } from './status-line';
import { type LocalStore, StoreBusy, openLocalStore } from './store';
import { terminalLines } from './terminal-lines';

export { DEMO_NEXT_STEPS, type LocalSource, describeWindows } from './banner';

export interface LocalModeOptions {
  env: Env;
  config: LocalConfig;
  source: LocalSource;
  /** Standard output (messages, status) and standard error (problems). */
  out: (text: string) => void;
  err: (text: string) => void;
  color?: boolean;
  width?: number;
  cwd?: string;
  /** How often the status line is refreshed (printed only when it changes). */
  statusIntervalMs?: number;
  forwarderTuning?: ForwarderTuning;
}

export interface LocalModeHandle {
  cluster: string;
  bus: LocalBus;
  store: LocalStore;
  queries: IncidentQueries;
  metrics: CountingMetrics;
  pipeline: LocalPipeline;
  /** Replay only: resolves when the recording has played and everything it caused was shipped. */
  replayDone?: Promise<void>;
  /** Resolves when the start-up sweep of owed posts has run. */
  sweptAtStart: Promise<void>;
  /** Resolves when the source is done (replay), the bus is idle and no incident waits to resolve. */
  settled(): Promise<void>;
  /** The status line, as last printed. */
  status(): string;
  stop(): Promise<void>;
}

/** How long a stop lets the bus drain before it closes the store. */
const STOP_DRAIN_MS = 10_000;

export const startLocalMode = async (options: LocalModeOptions): Promise<LocalModeHandle> => {
  const { config, source, env } = options;
  const startedAt = Date.now();
  const cwd = options.cwd ?? process.cwd();
  const bold = (text: string) => (options.color ? `\u001b[1m${text}\u001b[22m` : text);
  const say = (line: string) => options.out(`${line}\n`);
  const warn = (line: string) => options.err(`pullwatch: ${line}\n`);
  const shown = (path: string) => {
    const near = relative(cwd, path);
    return near === '' ? '.' : near.startsWith('..') ? path : near;
  };

  const cluster =
    config.cluster ??
    (source.kind === 'cluster' ? source.target.context : (source.recording.cluster ?? 'replay'));
  if (!/^\S{1,100}$/.test(cluster)) {
    throw new ConfigError(`the cluster name "${cluster}" has spaces or is too long: set PULLWATCH_CLUSTER`);
  }

  mkdirSync(config.dataDir, { recursive: true });
  const store = await openLocalStore(config.dataDir, `pullwatch start (${cluster})`, {
    share: true,
    waitMs: 2000,
    ...(config.storeEndpoint === undefined ? {} : { endpoint: config.storeEndpoint }),
  });
  if (!store.owner) {
    await store.close();
    throw new StoreBusy(
      `another pullwatch process is using ${shown(config.dataDir)}; stop it first, or give this one its own folder with --data <dir>`,
    );
  }
  for (const notice of store.notices) warn(notice);
  // The checkpoint says which failures were shipped: to a store without them, they must go again.
  const checkpoint = join(config.dataDir, 'forwarder-checkpoint.json');
  if (store.startsAfresh && source.kind === 'cluster' && existsSync(checkpoint)) {
    rmSync(checkpoint, { force: true });
    warn(
      `the store has none of the incidents ${shown(checkpoint)} counts as shipped: dropped it, so current failures are shipped again`,
    );
  }

  const logs = localLog(
    join(config.dataDir, 'pullwatch.log'),
    terminalLines(warn, shown(join(config.dataDir, 'pullwatch.log'))),
  );
  const metrics = new CountingMetrics();
  const deadLetterPath = join(config.dataDir, 'dead-letters.jsonl');
  const deadLetters = deadLetterFile(deadLetterPath, shown(deadLetterPath), warn);
  const busLog = logs.for('bus');
  const bus = new LocalBus({
    onDeadLetter: deadLetters.onDeadLetter,
    onBatch: (target, records, failed, ms) => busLog.debug('batch handled', { target, records, failed, ms }),
    onHandlerError: (target, error) =>
      logs.for(target).warn('handler failed; the batch will be retried', {
        errorMessage: error instanceof Error ? error.message : String(error),
      }),
  });
  const slack = slackTarget({
    config,
    metrics,
    say,
    write: options.out,
    cwd,
    bold,
    ...(options.width === undefined ? {} : { width: options.width }),
  });
  const failing = failingCountFromHeartbeats(cluster);
  const client = store.newClient();
  const closeStore = async () => {
    client.destroy();
    await store.close();
    await logs.close();
  };

  // --- Before anything is observed: the token, then what an earlier run left owed.
  let pipeline: LocalPipeline;
  let queries: IncidentQueries;
  try {
    const notice = await slack.check();
    if (notice !== undefined) warn(notice);
    pipeline = wirePipeline({
      bus,
      client,
      tableName: store.tableName,
      windows: config.windows,
      notifier: slack.notifier,
      route: createRouter({ defaultChannel: config.slack.channel, rules: config.routes }),
      channelFor: createClusterRouter({ defaultChannel: config.slack.channel, rules: config.routes }),
      leaseMs: config.leaseMs,
      log: logs.for('pipeline'),
      metrics,
      tickIntervalMs: config.tickIntervalMs,
      registryCheck: config.registryCheck,
      interactions: interactionsConfigured(env),
      ...muteSettingsOf(env),
      ...(slack.people === undefined ? {} : { slackPeople: slack.people }),
      onRejected: deadLetters.onRejected,
      onHeartbeat: failing.handler,
      onTickError: (tick, error) =>
        logs.for(tick).warn('tick failed; the next one retries', {
          errorMessage: error instanceof Error ? error.message : String(error),
        }),
    });
    queries = new IncidentQueries(client, { tableName: store.tableName });
  } catch (error) {
    await bus.stop();
    await closeStore();
    throw error;
  }
  // Actions from Slack (Socket Mode, or POST /slack/events behind a tunnel), when configured.
  const interactions = await startLocalInteractions({
    env,
    publisher: pipeline.publisher,
    log: logs.for('interactions'),
    metrics,
    ...(config.slack.kind === 'slack' && config.slack.apiUrl !== undefined
      ? { slackApiUrl: config.slack.apiUrl }
      : {}),
  });
  if (interactions !== undefined)
    say(
      interactions.mode === 'socket'
        ? 'Slack actions: Socket Mode (SLACK_APP_TOKEN)'
        : `Slack actions: Request URL ${interactions.url} (put your tunnel in front of it)`,
    );

  const sweepLog = logs.for('notify.sweep');
  const sweptAtStart = pipeline.sweepOwed().then(
    ({ owed, failed }) => {
      if (owed > 0) sweepLog.info('posts owed by an earlier run swept at start', { owed, failed });
    },
    (error: unknown) =>
      sweepLog.warn('the start-up sweep failed; the tick retries', {
        errorMessage: error instanceof Error ? error.message : String(error),
      }),
  );

  // --- The source of observations
  let forwarder: ForwarderHandle | undefined;
  let replay: ReplayHandle | undefined;
  let census: () => Promise<{ pods: number; namespaces: number } | undefined>;
  const closeAll = async () => {
    pipeline.stopSweeping();
    await interactions?.stop();
    await bus.stop(Date.now() + 2000);
    await sweptAtStart;
    await closeStore();
  };

  try {
    for (const line of bannerLines({
      config,
      cluster,
      source,
      shown,
      slackFolder: join(config.dataDir, 'slack'),
      bold,
    })) {
      say(line);
    }
    if (source.kind === 'cluster') {
      const forwarderEnv: Env = {
        ...env,
        PULLWATCH_CLUSTER: cluster,
        PULLWATCH_EVENT_BUS: 'pullwatch-local',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_EVENTBRIDGE: undefined,
        AWS_ENDPOINT_URL: undefined,
        PULLWATCH_METRICS_PORT: env.PULLWATCH_METRICS_PORT ?? '0',
        PULLWATCH_HEARTBEAT_SECONDS: env.PULLWATCH_HEARTBEAT_SECONDS ?? '15',
        PULLWATCH_FLUSH_SECONDS: env.PULLWATCH_FLUSH_SECONDS ?? '5',
        PULLWATCH_STATE_FILE: checkpoint,
      };
      forwarder = await runForwarder(forwarderEnv, {
        kubeConfig: source.target.kubeConfig,
        // Acknowledged once stored: the checkpoint never counts what a crash could lose.
        publisher: forwarderPublisher(bus, { durable: true }),
        log: logs.for('forwarder'),
        // An acknowledgement waits for dedupe's write (not EventBridge's ~20 ms), so more calls are
        // kept in flight than in a cluster, or the forwarder ships slower than events arrive.
        tuning: { metricsHost: '127.0.0.1', lingerMs: 20, concurrency: 32, ...options.forwarderTuning },
      });
      const watching = forwarder;
      census = () => Promise.resolve(watching.census());
    } else {
      replay = startReplay({
        recording: source.recording,
        cluster,
        publisher: forwarderPublisher(bus),
        log: logs.for('replay'),
        speed: source.speed,
        forwarderVersion: FORWARDER_VERSION,
      });
      const current = replay;
      census = () => Promise.resolve(current.census());
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  say('Ctrl-C to stop.');

  const status = statusLine(
    {
      census: () => census(),
      failing: () => replay?.census().failingContainers ?? failing.current(),
      openIncidents: () => queries.openCount(cluster),
    },
    say,
  );
  const statusTimer = setInterval(() => void status.refresh(), options.statusIntervalMs ?? 2000);
  void status.refresh();

  let stopping: Promise<void> | undefined;
  const replayDone = replay?.done.then(async () => {
    await bus.idle();
    if (stopping === undefined) say(stamped('replay finished: every recorded change was played'));
    if (stopping === undefined && source.kind === 'replay' && source.demo !== undefined) {
      say('The demo has played; open incidents resolve once quiet. Ctrl-C to stop.');
    }
  });

  const stop = async () => {
    clearInterval(statusTimer);
    await status.idle();
    const unsent = forwarder === undefined ? 0 : (await forwarder.stop()).unsent;
    await replay?.stop();
    await interactions?.stop();
    pipeline.stopSweeping();
    const { undelivered } = await bus.stop(Date.now() + STOP_DRAIN_MS);
    await sweptAtStart;
    // Emptied only if notify handled everything; otherwise the entries stay for the next start.
    await pipeline.drain().catch((error: unknown) => warn(`outbox not emptied: ${String(error)}`));
    logs.for('pipeline').info('pipeline metrics', Object.fromEntries(metrics.counts));
    await closeStore();
    if (unsent + undelivered > 0) {
      // True by construction: a failure not stored was not acknowledged, so the forwarder ships it
      // again; a post a stored change owes is swept at the next start.
      warn(
        `stopped with ${unsent + undelivered} events not handled (they are observed again on the next start, and what they owe is posted then)`,
      );
    }
  };

  return {
    cluster,
    bus,
    store,
    queries,
    metrics,
    pipeline,
    sweptAtStart,
    ...(replayDone === undefined ? {} : { replayDone }),
    settled: () =>
      waitUntilSettled({
        bus,
        queries,
        cluster,
        startedAt,
        pollMs: config.tickIntervalMs,
        ...(replayDone === undefined ? {} : { sourceDone: replayDone }),
      }),
    status: () => status.last(),
    stop: () => (stopping ??= stop()),
  };
};
