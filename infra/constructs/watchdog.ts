/**
 * The watchdog (functions/watchdog): each cluster's forwarder sends a heartbeat every minute or so;
 * a cluster that goes quiet for `watchdogSilence` is reported silent in Slack (once), and again when
 * it is back. Its own concern, beside the incident pipeline:
 *
 *   rule heartbeatPattern → SQS heartbeats → watchdog.record (each cluster's liveness)
 *   schedule every minute → watchdog.handler (declares silent clusters; metric SilentForwarders)
 */
import { Construct } from 'constructs';
import { busRuleFor } from '#shared/bus-rules';
import { watchdogSettings } from '../../functions/watchdog/config';
import type { InfraConfig } from '../config';
import type { PullwatchBus } from './event-bus';
import type { IncidentTable } from './incident-table';
import { MinuteSchedule } from './minute-schedule';
import {
  QUEUE_FUNCTION,
  QUEUE_VISIBILITY,
  TICK_FUNCTION,
  consumeQueue,
  grantPublishPipelineEvents,
  slackSettingsOf,
} from './pipeline';
import { PipelineFunction } from './pipeline-function';
import { type DeadLetterQueue, MAX_RECEIVE_COUNT, WorkQueue } from './queues';
import type { SlackToken } from './slack-token';

/** The exports of functions/watchdog/handler.ts. */
export const WATCHDOG_ENTRY = { heartbeats: 'record', tick: 'handler' } as const;

export interface ForwarderWatchdogProps {
  config: InfraConfig;
  bus: PullwatchBus;
  table: IncidentTable;
  slackToken: SlackToken;
  /** Where failed scheduled invocations go (shared with the pipeline's ticks). */
  failedInvocations: DeadLetterQueue;
}

export class ForwarderWatchdog extends Construct {
  readonly heartbeatQueue: WorkQueue;
  readonly functions: PipelineFunction[];

  constructor(scope: Construct, id: string, props: ForwarderWatchdogProps) {
    super(scope, id);
    const { config, bus, table, slackToken } = props;
    this.heartbeatQueue = new WorkQueue(this, 'HeartbeatQueue', {
      visibilityTimeout: QUEUE_VISIBILITY,
      holds: `heartbeat-queue messages received ${MAX_RECEIVE_COUNT} times without success`,
    });
    const rule = busRuleFor('watchdog');
    bus.routeToQueue(rule.id, rule.pattern, this.heartbeatQueue.queue, rule.description);

    const configFor = (timeout: typeof QUEUE_FUNCTION.timeout) => ({
      tableName: table.table.tableName,
      eventBusName: bus.bus.eventBusName,
      ...slackSettingsOf(config, slackToken, timeout),
      silenceMs: config.watchdogSilence,
      retentionDays: config.historyRetention,
    });
    const heartbeats = new PipelineFunction(this, 'Heartbeats', {
      ...QUEUE_FUNCTION,
      logRetentionDays: config.logRetention,
      name: 'watchdog',
      handler: WATCHDOG_ENTRY.heartbeats,
      description: 'pullwatch: records forwarder heartbeats (each cluster’s liveness)',
      settings: watchdogSettings,
      config: configFor(QUEUE_FUNCTION.timeout),
    });
    const tick = new PipelineFunction(this, 'Tick', {
      ...TICK_FUNCTION,
      logRetentionDays: config.logRetention,
      name: 'watchdog',
      handler: WATCHDOG_ENTRY.tick,
      description: 'pullwatch: every minute, reports clusters whose forwarder went silent',
      settings: watchdogSettings,
      config: configFor(TICK_FUNCTION.timeout),
      reservedConcurrency: 1,
    });
    this.functions = [heartbeats, tick];

    consumeQueue(heartbeats, this.heartbeatQueue);
    new MinuteSchedule(this, 'TickSchedule', {
      fn: tick,
      undelivered: bus.undelivered,
      failedInvocations: props.failedInvocations,
    });
    for (const fn of this.functions) {
      grantPublishPipelineEvents(fn.role, bus);
      table.grantReadWriteIncidents(fn.role);
      slackToken.grantRead(fn.role);
    }
  }
}
