/**
 * The incident pipeline, as functions/README.md draws it:
 *
 *   rule pullEventsPattern     → SQS classify → classify → ImagePullClassified → bus
 *   rule classifiedPattern     → SQS dedupe   → dedupe   → incident events     → bus
 *   rule incidentEventsPattern → SQS notify   → notify   → Slack
 *   rule rejectedPattern       → SQS rejected (the dead-letter queue for input that breaks the contract)
 *   schedule every minute      → dedupe.tick, notify.tick (async, with an on-failure destination)
 *
 * Each queue has its own dead-letter queue (redrive after 5 receives); each event source mapping
 * reports batch item failures, so a transient failure retries its record only.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BUS_RULES, type BusRuleTarget } from '#shared/bus-rules';
import { type IncidentWindows, incidentWindows } from '#shared/incident';
import { PIPELINE_SOURCE } from '#shared/incident-events';
import type { SlackConfig } from '../../functions/_common/slack-config';
import { classifySettings } from '../../functions/classify/config';
import { dedupeSettings } from '../../functions/dedupe/config';
import { notifySettings } from '../../functions/notify/config';
import type { RegistryCheckConfig } from '#shared/registry-check/check-config';
import type { InfraConfig } from '../config';
import { acknowledge } from './acknowledgements';
import type { PullwatchBus } from './event-bus';
import type { IncidentTable } from './incident-table';
import { MinuteSchedule } from './minute-schedule';
import { PipelineFunction } from './pipeline-function';
import { DeadLetterQueue, MAX_RECEIVE_COUNT, WorkQueue } from './queues';
import type { SlackToken } from './slack-token';

/** Functions fed by a queue. */
export const QUEUE_FUNCTION = { timeout: Duration.seconds(30), memorySize: 512 } as const;
/** Scheduled every minute: a tick must end before the next one starts. */
export const TICK_FUNCTION = { timeout: Duration.seconds(50), memorySize: 512 } as const;
/** A queue's visibility timeout: 6 × its consumer's timeout (AWS's advice for Lambda event sources). */
export const QUEUE_VISIBILITY = Duration.seconds(QUEUE_FUNCTION.timeout.toSeconds() * 6);
export const BATCH_SIZE = 10;
/** Concurrent notify batches: Slack allows about one message per second per channel. */
const NOTIFY_MAX_CONCURRENCY = 2;
/** A claim on a Slack post must outlive the invocation that holds it: 3 × its timeout. */
export const POST_LEASE_FACTOR = 3;

/** The incident windows of a deployment, as the functions' configs hold them. */
export const windowsOf = (config: InfraConfig): IncidentWindows =>
  incidentWindows({
    updateIntervalMs: config.windows.updateInterval,
    quietPeriodMs: config.windows.quietPeriod,
    reopenWindowMs: config.windows.reopenWindow,
    stormWindowMs: config.windows.stormWindow,
    stormHoldMs: config.windows.stormHold,
    stormThreshold: config.stormThreshold,
    silenceMs: config.watchdogSilence,
  });

/** What notify and the watchdog need to post: the token's secret, the API, limits, the channels. */
export const slackSettingsOf = (
  config: InfraConfig,
  slackToken: SlackToken,
  timeout: Duration,
): SlackConfig => ({
  slackTokenSecretId: slackToken.secretId,
  slackApiUrl: config.slack.apiUrl,
  slackTimeoutMs: 5_000,
  maxInlineWaitMs: 3_000,
  leaseMs: timeout.toMilliseconds() * POST_LEASE_FACTOR,
  routing: { defaultChannel: config.slack.defaultChannel, rules: config.slack.routes },
});

/** The function takes the queue's messages in batches, reporting the ones that failed. */
export const consumeQueue = (fn: PipelineFunction, queue: WorkQueue, maxConcurrency?: number): void => {
  fn.function.addEventSource(
    new sources.SqsEventSource(queue.queue, {
      batchSize: BATCH_SIZE,
      reportBatchItemFailures: true,
      ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
    }),
  );
};

export interface IncidentPipelineProps {
  config: InfraConfig;
  bus: PullwatchBus;
  table: IncidentTable;
  slackToken: SlackToken;
}

export class IncidentPipeline extends Construct {
  readonly classifyQueue: WorkQueue;
  readonly dedupeQueue: WorkQueue;
  readonly notifyQueue: WorkQueue;
  /** PipelineEventRejected events: input that breaks the contract, with the reason. */
  readonly rejected: DeadLetterQueue;
  /** Scheduled invocations that failed after their retries (the ticks' on-failure destination). */
  readonly failedTicks: DeadLetterQueue;
  readonly functions: PipelineFunction[];
  /** notify's handler and tick (interactivity lets them lift a snooze: infra/constructs/interactivity.ts). */
  readonly notifyFunctions: PipelineFunction[];

  constructor(scope: Construct, id: string, props: IncidentPipelineProps) {
    super(scope, id);
    const { config, bus, table, slackToken } = props;
    const windows = windowsOf(config);
    const eventBusName = bus.bus.eventBusName;
    const tableName = table.table.tableName;

    const queueFor = (queueId: string, stage: string) =>
      new WorkQueue(this, queueId, {
        visibilityTimeout: QUEUE_VISIBILITY,
        holds: `${stage}-queue messages received ${MAX_RECEIVE_COUNT} times without success`,
      });
    this.classifyQueue = queueFor('ClassifyQueue', 'classify');
    this.dedupeQueue = queueFor('DedupeQueue', 'dedupe');
    this.notifyQueue = queueFor('NotifyQueue', 'notify');
    this.rejected = new DeadLetterQueue(this, 'Rejected', {
      holds:
        'PipelineEventRejected events: input that breaks the contract, with the reason and the offending field',
      notARedriveTarget: true,
    });
    this.failedTicks = new DeadLetterQueue(this, 'FailedTicks', {
      holds: 'scheduled invocations (dedupe, notify and watchdog ticks) that failed after their retries',
      notARedriveTarget: true,
    });

    const queues: Partial<Record<BusRuleTarget, sqs.IQueue>> = {
      classify: this.classifyQueue.queue,
      dedupe: this.dedupeQueue.queue,
      notify: this.notifyQueue.queue,
      'dead-letter': this.rejected.queue,
    };
    // The bus's rules whose consumers are here (shared/bus-rules.ts; the watchdog's is its own).
    for (const rule of BUS_RULES) {
      const queue = queues[rule.target];
      if (queue !== undefined) bus.routeToQueue(rule.id, rule.pattern, queue, rule.description);
    }

    const common = { logRetentionDays: config.logRetention };
    const classify = new PipelineFunction(this, 'Classify', {
      ...common,
      ...QUEUE_FUNCTION,
      name: 'classify',
      description:
        'pullwatch: diagnoses image-pull failures (ImagePullFailed/Recovered → ImagePullClassified)',
      settings: classifySettings,
      config: {
        eventBusName,
        ...registryCheckSettingsOf(this, config),
      },
    });
    const dedupeConfig = {
      tableName,
      eventBusName,
      windows,
      retentionDays: config.historyRetention,
    };
    const dedupe = new PipelineFunction(this, 'Dedupe', {
      ...common,
      ...QUEUE_FUNCTION,
      name: 'dedupe',
      description: 'pullwatch: folds classified observations into incidents and emits incident events',
      settings: dedupeSettings,
      config: dedupeConfig,
    });
    const dedupeTick = new PipelineFunction(this, 'DedupeTick', {
      ...common,
      ...TICK_FUNCTION,
      name: 'dedupe',
      handler: 'tick',
      description: 'pullwatch: every minute, resolves incidents whose quiet period has ended',
      settings: dedupeSettings,
      config: dedupeConfig,
      reservedConcurrency: 1,
    });
    const notifyConfig = {
      tableName,
      eventBusName,
      ...slackSettingsOf(config, slackToken, QUEUE_FUNCTION.timeout),
      windows,
      interactions: config.slack.interactivity !== undefined,
    };
    const notify = new PipelineFunction(this, 'Notify', {
      ...common,
      ...QUEUE_FUNCTION,
      name: 'notify',
      description: 'pullwatch: posts and updates one Slack message per incident',
      settings: notifySettings,
      config: notifyConfig,
    });
    const notifyTick = new PipelineFunction(this, 'NotifyTick', {
      ...common,
      ...TICK_FUNCTION,
      name: 'notify',
      handler: 'tick',
      description: 'pullwatch: every minute, delivers Slack updates held back by the update interval',
      settings: notifySettings,
      // The tick's claims are held by the tick's (longer) invocation.
      config: { ...notifyConfig, ...slackSettingsOf(config, slackToken, TICK_FUNCTION.timeout) },
      reservedConcurrency: 1,
    });
    this.functions = [classify, dedupe, dedupeTick, notify, notifyTick];
    this.notifyFunctions = [notify, notifyTick];

    // Queue consumers.
    consumeQueue(classify, this.classifyQueue);
    consumeQueue(dedupe, this.dedupeQueue);
    consumeQueue(notify, this.notifyQueue, NOTIFY_MAX_CONCURRENCY);

    // Scheduled ticks: invoked asynchronously, so each has an on-failure destination.
    for (const [scheduleId, tick] of [
      ['DedupeTickSchedule', dedupeTick],
      ['NotifyTickSchedule', notifyTick],
    ] as const) {
      new MinuteSchedule(this, scheduleId, {
        fn: tick,
        undelivered: bus.undelivered,
        failedInvocations: this.failedTicks,
      });
    }

    // Permissions: each function publishes pipeline events only, and reads or writes the table.
    for (const fn of this.functions) grantPublishPipelineEvents(fn.role, bus);
    for (const fn of [dedupe, dedupeTick, notify, notifyTick]) table.grantReadWriteIncidents(fn.role);
    for (const fn of [notify, notifyTick]) slackToken.grantRead(fn.role);
    grantRegistryCheckReads(classify, config.registryCheck);
  }
}

/** The ECR reads the registry check makes, on the repositories the config lists and no others. */
export const ECR_CHECK_ACTIONS = ['ecr:DescribeImages', 'ecr:ListImages', 'ecr:BatchGetImage'] as const;

/** The registry check's settings of a function that runs it (classify; the actions worker's re-check). */
export const registryCheckSettingsOf = (scope: Construct, config: InfraConfig) => ({
  registryCheck: config.registryCheck,
  registryCheckFrom: `AWS Lambda in account ${Stack.of(scope).account} (${Stack.of(scope).region})`,
});

/** The one grant of the check's ECR reads, to each function that runs the check. */
export const grantRegistryCheckReads = (fn: PipelineFunction, check: RegistryCheckConfig): void => {
  if (!check.enabled || check.ecrRepositories.length === 0) return;
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: [...ECR_CHECK_ACTIONS], resources: [...check.ecrRepositories] }),
  );
  // A trailing * is a repository-name prefix the operator chose: each is acknowledged by its ARN.
  for (const arn of check.ecrRepositories.filter((listed) => listed.endsWith('*'))) {
    acknowledge(
      fn.role,
      `AwsSolutions-IAM5[Resource::${arn}]`,
      `The registry check reads the ECR repositories registryCheck.ecrRepositories lists; ${arn} is a repository-name prefix the operator chose, and the actions are read-only (DescribeImages, ListImages, BatchGetImage)`,
    );
  }
};

/** PutEvents on this bus, with the pipeline's source only: a function cannot pose as a forwarder. */
export const grantPublishPipelineEvents = (grantee: iam.IGrantable, bus: PullwatchBus): void => {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['events:PutEvents'],
      resources: [bus.bus.eventBusArn],
      conditions: { StringEquals: { 'events:source': PIPELINE_SOURCE } },
    }),
  );
};
