/**
 * Local mode: the whole pipeline from one command, against the current kubeconfig context (or a
 * recording), with no AWS account.
 *
 *   forwarder (or replay) ──PutEvents──▶ local bus ──rules from shared/──▶ classify → dedupe → notify
 *                                          │                 heartbeats ──▶ watchdog      │          │
 *                                          └─ ticks (resolution, throttled updates,   dynalite   Slack or
 *                                             held posts, silent forwarders)         (own process) terminal
 *
 * Wiring only: the forwarder is runForwarder with the bus as its publisher; the handlers are the
 * Lambda factories (./pipeline.ts); the store is dynalite on the data folder (./store.ts); Slack is
 * real when configured, otherwise the terminal (./terminal-slack.ts).
 */
import { appendFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  type ForwarderHandle,
  type ForwarderTuning,
  FORWARDER_VERSION,
  runForwarder,
} from '../forwarder/main';
import { ConfigError, type Env } from '../functions/_common/env';
import { type Notifier, SlackNotifier } from '../functions/_common/notifier';
import { MAIN_POST } from '../functions/notify/notify';
import { createClusterRouter, createRouter, isMuted } from '#shared/routing';
import { formatDuration } from '#shared/slack-message';
import { heartbeatDetailSchema } from '#shared/contract';
import { IncidentQueries } from '../functions/history/queries';
import { type DeadLetter, LocalBus, type QueueHandler } from './bus';
import type { KubeTarget } from './cluster';
import type { LocalConfig } from './config';
import { type LogLine, localLog } from './log';
import { CountingMetrics, type LocalPipeline, forwarderPublisher, wirePipeline } from './pipeline';
import { interactionsConfigured, startLocalInteractions } from './interactions';
import type { Recording } from './recording';
import { type ReplayHandle, startReplay } from './replay';
import { type LocalStore, StoreBusy, openLocalStore } from './store';
import { EnvTokenSource, TerminalSlack } from './terminal-slack';

export type LocalSource =
  | { kind: 'cluster'; target: KubeTarget }
  | {
      kind: 'replay';
      recording: Recording;
      file: string;
      speed: number;
      /** The built-in demo (./demo.ts): because there is no kubeconfig, or because it was asked for. */
      demo?: 'no-kubeconfig' | 'asked';
    };

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
  /** Resolves when the source is done (replay), the bus is idle and no incident waits to resolve. */
  settled(): Promise<void>;
  /** The status line, as last printed. */
  status(): string;
  stop(): Promise<void>;
}

/** The demo's one line on going further: a real cluster, real Slack. */
export const DEMO_NEXT_STEPS =
  'Your cluster: point KUBECONFIG at its kubeconfig, or run kubectl config use-context <name>, then npm start. Real Slack: set SLACK_BOT_TOKEN and PULLWATCH_SLACK_CHANNEL.';

const clock = () => new Date().toISOString().slice(11, 19);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export const describeWindows = (config: LocalConfig): string => {
  const w = config.windows;
  return `updates at most every ${formatDuration(w.updateIntervalMs)}, resolves after ${formatDuration(
    w.quietPeriodMs,
  )} quiet, reopens within ${formatDuration(w.reopenWindowMs)}, storm at ${w.stormThreshold} incidents in ${formatDuration(
    w.stormWindowMs,
  )}`;
};

/** Wraps the Slack notifier so the terminal says what was sent where. */
const announcing = (notifier: Notifier, say: (line: string) => void): Notifier => ({
  post: async (message) => {
    const posted = await notifier.post(message);
    say(
      `Slack: ${message.threadTs === undefined ? 'posted' : 'replied in thread'} to ${message.channel}: ${message.text.slice(0, 140)}`,
    );
    return posted;
  },
  update: async (message) => {
    await notifier.update(message);
    say(`Slack: updated ${message.channelId} ${message.ts}: ${message.text.slice(0, 140)}`);
  },
  findPost: (where, marker) => notifier.findPost(where, marker),
});

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

  const seenForwarderWarnings = new Set<string>();
  const onLine = (line: LogLine) => {
    if (line.level === 'error') {
      warn(
        `${line.component}: ${line.message}${line.fields.errorMessage ? ` (${String(line.fields.errorMessage)})` : line.fields.error ? ` (${String(line.fields.error)})` : ''}`,
      );
    } else if (
      (line.component === 'forwarder' || line.component === 'replay') &&
      line.level === 'warn' &&
      !seenForwarderWarnings.has(line.message)
    ) {
      seenForwarderWarnings.add(line.message);
      warn(
        `${line.component}: ${line.message}${line.fields.error ? ` (${String(line.fields.error)})` : ''}; see ${shown(join(config.dataDir, 'pullwatch.log'))}`,
      );
    }
  };
  const logs = localLog(join(config.dataDir, 'pullwatch.log'), onLine);
  const metrics = new CountingMetrics();
  const deadLetters = join(config.dataDir, 'dead-letters.jsonl');
  const onDeadLetter = (letter: DeadLetter) => {
    appendFileSync(deadLetters, `${JSON.stringify({ at: new Date().toISOString(), ...letter })}\n`);
    warn(
      `${letter.target} gave up on a ${letter.event['detail-type']} event after ${letter.attempts} attempts (${letter.reason}); kept in ${shown(deadLetters)}`,
    );
  };
  const busLog = logs.for('bus');
  const bus = new LocalBus({
    onDeadLetter,
    onBatch: (target, records, failed, ms) => busLog.debug('batch handled', { target, records, failed, ms }),
    onHandlerError: (target, error) =>
      logs.for(target).warn('handler failed; the batch will be retried', {
        errorMessage: error instanceof Error ? error.message : String(error),
      }),
  });

  const notifier: Notifier =
    config.slack.kind === 'slack'
      ? announcing(
          new SlackNotifier({
            tokens: new EnvTokenSource(config.slack.token),
            ...(config.slack.apiUrl === undefined ? {} : { slackApiUrl: config.slack.apiUrl }),
            timeoutMs: 5000,
            retries: 2,
            maxInlineWaitMs: 3000,
            metrics,
          }),
          say,
        )
      : new TerminalSlack({
          dataDir: config.dataDir,
          write: options.out,
          cwd,
          bold,
          ...(options.width === undefined ? {} : { width: options.width }),
        });

  let failingContainers: number | undefined;
  const onHeartbeat: QueueHandler = (event) => {
    for (const record of event.Records) {
      const parsed = heartbeatDetailSchema.safeParse(
        (JSON.parse(record.body) as { detail?: unknown }).detail,
      );
      if (parsed.success && parsed.data.cluster === cluster)
        failingContainers = parsed.data.failingContainers;
    }
    return Promise.resolve();
  };
  const onRejected: QueueHandler = (event) => {
    for (const record of event.Records) {
      const rejected = JSON.parse(record.body) as {
        detail?: { stage?: string; reason?: string; field?: string };
      };
      appendFileSync(
        deadLetters,
        `${JSON.stringify({ at: new Date().toISOString(), rejected: rejected.detail })}\n`,
      );
      warn(
        `${rejected.detail?.stage ?? 'pipeline'} rejected an event (${rejected.detail?.reason ?? 'invalid'}${rejected.detail?.field ? `, field ${rejected.detail.field}` : ''}); kept in ${shown(deadLetters)}`,
      );
    }
    return Promise.resolve();
  };

  const client = store.newClient();
  const pipeline = wirePipeline({
    bus,
    client,
    tableName: store.tableName,
    windows: config.windows,
    notifier,
    route: createRouter({ defaultChannel: config.slack.channel, rules: config.routes }),
    channelFor: createClusterRouter({ defaultChannel: config.slack.channel, rules: config.routes }),
    leaseMs: config.leaseMs,
    log: logs.for('pipeline'),
    metrics,
    tickIntervalMs: config.tickIntervalMs,
    onRejected,
    onHeartbeat,
    interactions: interactionsConfigured(env),
    onTickError: (tick, error) =>
      logs.for(tick).warn('tick failed; the next one retries', {
        errorMessage: error instanceof Error ? error.message : String(error),
      }),
  });
  const queries = new IncidentQueries(client, { tableName: store.tableName });
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

  // --- The source of observations
  let forwarder: ForwarderHandle | undefined;
  let replay: ReplayHandle | undefined;
  let census: () => Promise<{ pods: number; namespaces: number } | undefined>;
  const slackLine =
    config.slack.kind === 'slack'
      ? `Slack: posting to ${config.slack.channel}${config.slack.apiUrl === undefined ? '' : ` via ${config.slack.apiUrl}`}`
      : `Slack: not configured; messages are shown here and saved as Block Kit JSON in ${shown(join(config.dataDir, 'slack'))} (set SLACK_BOT_TOKEN and PULLWATCH_SLACK_CHANNEL to post)`;

  const closeAll = async () => {
    await bus.stop(Date.now() + 2000);
    client.destroy();
    await store.close();
    await logs.close();
  };

  try {
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
      say(
        bold(
          `pullwatch local mode · cluster ${cluster} (kubeconfig context ${source.target.context}, ${source.target.server})`,
        ),
      );
      say(`data: ${shown(config.dataDir)} (incidents survive restarts) · ${slackLine}`);
      say(`windows: ${describeWindows(config)}`);
      forwarder = await runForwarder(forwarderEnv, {
        kubeConfig: source.target.kubeConfig,
        publisher: forwarderPublisher(bus),
        log: logs.for('forwarder'),
        tuning: { metricsHost: '127.0.0.1', lingerMs: 20, ...options.forwarderTuning },
      });
      const watching = forwarder;
      census = () => Promise.resolve(watching.census());
    } else {
      const pace = source.speed === 1 ? '' : ` at ${source.speed}× speed`;
      if (source.demo === undefined) {
        say(bold(`pullwatch local mode · replaying ${shown(source.file)} as cluster ${cluster}${pace}`));
        if (source.recording.description) say(source.recording.description);
      } else {
        say(
          bold(
            `pullwatch demo · ${source.demo === 'no-kubeconfig' ? 'no kubeconfig on this machine, so this is a demo: ' : ''}the built-in recordings, played as cluster ${cluster}${pace}`,
          ),
        );
        if (source.recording.description) say(source.recording.description);
        say(DEMO_NEXT_STEPS);
      }
      say(
        `data: ${shown(config.dataDir)} (${source.demo === undefined ? 'incidents survive restarts' : 'the demo’s own'}) · ${slackLine}`,
      );
      say(`windows: ${describeWindows(config)}`);
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

  // --- Status: printed when it changes
  let lastStatus = '';
  let statusRun: Promise<void> | undefined;
  const refreshStatus = () => {
    statusRun ??= printStatus().finally(() => {
      statusRun = undefined;
    });
    return statusRun;
  };
  const printStatus = async () => {
    const counted = await census();
    const open = await queries.openCount(cluster).catch(() => undefined);
    const failing = replay?.census().failingContainers ?? failingContainers;
    const parts = [
      counted === undefined
        ? 'listing pods…'
        : `watching ${plural(counted.pods, 'pod')} in ${plural(counted.namespaces, 'namespace')}`,
      failing === undefined ? undefined : `${plural(failing, 'container')} failing to pull`,
      open === undefined ? undefined : `${plural(open, 'open incident')}`,
    ].filter((part) => part !== undefined);
    const status = parts.join(' · ');
    if (status !== lastStatus) {
      lastStatus = status;
      say(`[${clock()}] ${status}`);
    }
  };
  const statusTimer = setInterval(() => void refreshStatus(), options.statusIntervalMs ?? 2000);
  void refreshStatus();

  let stopping: Promise<void> | undefined;
  const replayDone = replay?.done.then(async () => {
    await bus.idle();
    if (stopping === undefined) say(`[${clock()}] replay finished: every recorded change was played`);
    if (stopping === undefined && source.kind === 'replay' && source.demo !== undefined) {
      say('The demo has played; open incidents resolve once quiet. Ctrl-C to stop.');
    }
  });

  const handle: LocalModeHandle = {
    cluster,
    bus,
    store,
    queries,
    metrics,
    pipeline,
    ...(replayDone === undefined ? {} : { replayDone }),
    settled: async () => {
      await replayDone;
      for (;;) {
        await bus.idle();
        // Incidents of this run: open ones, and those that failed since local mode started.
        const { incidents } = await queries.list({ cluster, limit: 1000 });
        const current = incidents.filter(
          (incident) => incident.status === 'open' || Date.parse(incident.lastSeen) >= startedAt,
        );
        const recovering = current.filter(
          (incident) => incident.status === 'open' && incident.failingContainers === 0,
        );
        // A first post may be held (the storm hold): settled means everyone who should hear has.
        const unannounced = [];
        for (const incident of current) {
          const record = await queries.get(incident.incidentId);
          const muted = isMuted(record?.incident.latest?.annotations);
          const main = record?.posts[MAIN_POST];
          if (!muted && (main === undefined || main.state === 'claimed')) unannounced.push(incident);
        }
        if (recovering.length === 0 && unannounced.length === 0) {
          await bus.idle();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, config.tickIntervalMs));
      }
    },
    status: () => lastStatus,
    stop: () => {
      stopping ??= (async () => {
        clearInterval(statusTimer);
        await statusRun?.catch(() => undefined);
        const unsent = forwarder === undefined ? 0 : (await forwarder.stop()).unsent;
        await replay?.stop();
        await interactions?.stop();
        const { undelivered } = await bus.stop(Date.now() + 10_000);
        await pipeline.drain().catch((error: unknown) => warn(`outbox not emptied: ${String(error)}`));
        logs.for('pipeline').info('pipeline metrics', Object.fromEntries(metrics.counts));
        client.destroy();
        await store.close();
        await logs.close();
        if (unsent + undelivered > 0) {
          warn(
            `stopped with ${unsent + undelivered} events not handled (they are observed again on the next start)`,
          );
        }
      })();
      return stopping;
    },
  };
  return handle;
};
