/**
 * The pullwatch stack: one per account and region, described by an infra/config/<name>.json.
 * Thin on purpose: each concern is a construct in infra/constructs/.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { incidentEventsPattern, watchdogEventsPattern } from '#shared/incident-events';
import { METRIC } from '../functions/_common/observability';
import type { InfraConfig } from './config';
import { EVENT_BUS_OUTPUT, INCIDENT_TABLE_OUTPUT } from './outputs';
import { Alarms } from './constructs/alarms';
import { PullwatchBus } from './constructs/event-bus';
import { ForwarderAccess } from './constructs/forwarder-access';
import { HistoryApi } from './constructs/history-api';
import { IncidentPipeline } from './constructs/pipeline';
import { IncidentTable } from './constructs/incident-table';
import type { PipelineFunction } from './constructs/pipeline-function';
import { SlackToken } from './constructs/slack-token';
import { ForwarderWatchdog } from './constructs/watchdog';
import { Interactivity } from './constructs/interactivity';

export interface PullwatchStackProps extends StackProps {
  config: InfraConfig;
}

export class PullwatchStack extends Stack {
  readonly bus: PullwatchBus;
  readonly table: IncidentTable;
  readonly slackToken: SlackToken;
  readonly pipeline: IncidentPipeline;
  readonly watchdog: ForwarderWatchdog;
  readonly forwarders: ForwarderAccess;
  readonly history: HistoryApi;
  readonly alarms: Alarms;
  /** Actions from Slack, when the config asks for them. */
  readonly interactivity: Interactivity | undefined;

  /** Every function the stack deploys. */
  get functions(): PipelineFunction[] {
    return [
      ...this.pipeline.functions,
      ...this.watchdog.functions,
      this.history.function,
      ...(this.interactivity?.functions ?? []),
    ];
  }

  constructor(scope: Construct, id: string, props: PullwatchStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.bus = new PullwatchBus(this, 'EventBus', {
      busName: config.busName,
      archiveRetentionDays: config.archiveRetention,
    });
    this.table = new IncidentTable(this, 'Incidents');
    this.slackToken = new SlackToken(this, 'SlackToken', { token: config.slack.token });
    this.pipeline = new IncidentPipeline(this, 'Pipeline', {
      config,
      bus: this.bus,
      table: this.table,
      slackToken: this.slackToken,
    });
    this.watchdog = new ForwarderWatchdog(this, 'Watchdog', {
      config,
      bus: this.bus,
      table: this.table,
      slackToken: this.slackToken,
      failedInvocations: this.pipeline.failedTicks,
    });
    const { interactivity } = config.slack;
    this.interactivity =
      interactivity === undefined
        ? undefined
        : new Interactivity(this, 'Interactivity', {
            config,
            interactivity,
            bus: this.bus,
            table: this.table,
            slackToken: this.slackToken,
            notifyFunctions: this.pipeline.notifyFunctions,
          });
    this.forwarders = new ForwarderAccess(this, 'Forwarders', { bus: this.bus, clusters: config.clusters });
    this.history = new HistoryApi(this, 'HistoryApi', {
      table: this.table,
      logRetentionDays: config.logRetention,
    });
    if (config.centralBusArn !== undefined) {
      this.bus.forwardToBus(
        'IncidentsToCentralBus',
        incidentEventsPattern,
        config.centralBusArn,
        'Incident events → the central account’s bus',
      );
      this.bus.forwardToBus(
        'WatchdogEventsToCentralBus',
        watchdogEventsPattern,
        config.centralBusArn,
        'Silent and returning forwarders → the central account’s bus',
      );
    }

    this.alarms = new Alarms(this, 'Alarms', {
      emails: config.alarmEmails,
      functions: this.functions,
      deadLetterQueues: [
        { name: 'Undelivered', queue: this.bus.undelivered },
        { name: 'Rejected', queue: this.pipeline.rejected },
        { name: 'FailedTicks', queue: this.pipeline.failedTicks },
        { name: 'ClassifyDeadLetters', queue: this.pipeline.classifyQueue.deadLetters },
        { name: 'DedupeDeadLetters', queue: this.pipeline.dedupeQueue.deadLetters },
        { name: 'NotifyDeadLetters', queue: this.pipeline.notifyQueue.deadLetters },
        { name: 'HeartbeatDeadLetters', queue: this.watchdog.heartbeatQueue.deadLetters },
        ...(this.interactivity === undefined
          ? []
          : [{ name: 'ActionDeadLetters', queue: this.interactivity.queue.deadLetters }]),
      ],
      serviceMetrics: [
        {
          id: 'SlackPostsFailed',
          metricName: METRIC.slackPostsFailed,
          service: 'notify',
          description:
            'pullwatch: Slack refused a post or an update (channel_not_found, not_in_channel, invalid token…): see the notify log.',
        },
        {
          id: 'WatchdogSlackPostsFailed',
          metricName: METRIC.slackPostsFailed,
          service: 'watchdog',
          description:
            'pullwatch: Slack refused a watchdog post (a silent or returning cluster): see the watchdog log.',
        },
        {
          id: 'SlackAuthRefused',
          metricName: METRIC.slackAuthRefused,
          service: 'notify',
          description:
            'pullwatch: Slack refused the bot token (invalid_auth, token_revoked, account_inactive…): nothing is posted until the token secret holds a valid SLACK_BOT_TOKEN. Posts are retried and go out once it does.',
        },
        {
          id: 'SilentForwarders',
          metricName: METRIC.silentForwarders,
          service: 'watchdog',
          description: `pullwatch: a cluster's forwarder has sent no heartbeat for ${config.watchdogSilence / 60_000} minutes: its image-pull failures are not being reported. Check the forwarder in that cluster (the Slack warning names it).`,
        },
        ...(this.interactivity === undefined
          ? []
          : [
              {
                id: 'InteractionsRefused',
                metricName: METRIC.interactionsRefused,
                service: 'interactions',
                description:
                  'pullwatch: requests to the Slack interactivity URL are being refused (bad signatures, stale timestamps, other workspaces): someone may be probing it. See the interactions log for the reasons.',
              },
            ]),
      ],
    });

    new CfnOutput(this, EVENT_BUS_OUTPUT, {
      value: this.bus.bus.eventBusName,
      description: 'PULLWATCH_EVENT_BUS of every forwarder',
    });
    new CfnOutput(this, 'EventBusArn', { value: this.bus.bus.eventBusArn });
    new CfnOutput(this, INCIDENT_TABLE_OUTPUT, {
      value: this.table.table.tableName,
      description:
        'The incident table: `pullwatch incidents --stack <this stack>` (or --table) reads it with your own credentials',
    });
    new CfnOutput(this, 'SlackTokenSecret', {
      value: this.slackToken.secretId,
      description:
        'Put the Slack bot token here: aws secretsmanager put-secret-value --secret-id <this> --secret-string xoxb-…',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
  }
}
