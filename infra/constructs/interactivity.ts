/**
 * Actions from Slack (shared/incident-actions.ts), beside the incident pipeline:
 *
 *   Slack → Function URL (auth NONE) → interactions.handler: verifies Slack's signature, puts
 *          IncidentActionRequested on the bus, answers at once
 *   rule actionRequestedPattern → SQS → actions.handler: applies it (table, Slack, bus; a re-check
 *          asks the registry when the registry check is on, with classify's ECR reads)
 *
 * The URL is public because Slack cannot sign SigV4: every request is checked against the signing
 * secret instead (in the Slack secret, next to the bot token), and the endpoint's role can only
 * read that secret and put pipeline events. The URL is a stack output, to paste in the Slack app.
 */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { busRuleFor } from '#shared/bus-rules';
import { muteAllowListOf } from '#shared/incident-actions';
import { workerSettings } from '../../functions/actions/config';
import { receiverSettings } from '../../functions/interactions/config';
import { DEFAULT_MAX_BODY_BYTES } from '../../functions/interactions/receive';
import type { InfraConfig } from '../config';
import type { PullwatchBus } from './event-bus';
import type { IncidentTable } from './incident-table';
import {
  QUEUE_FUNCTION,
  QUEUE_VISIBILITY,
  consumeQueue,
  grantPublishPipelineEvents,
  grantRegistryCheckReads,
  registryCheckSettingsOf,
  slackSettingsOf,
  windowsOf,
} from './pipeline';
import { PipelineFunction } from './pipeline-function';
import { MAX_RECEIVE_COUNT, WorkQueue } from './queues';
import type { SlackToken } from './slack-token';

export const INTERACTIVITY_URL_OUTPUT = 'SlackInteractivityUrl';

export interface InteractivityProps {
  config: InfraConfig;
  interactivity: NonNullable<InfraConfig['slack']['interactivity']>;
  bus: PullwatchBus;
  table: IncidentTable;
  slackToken: SlackToken;
  /** notify's functions: they lift an "until resolved" snooze when its incident resolves. */
  notifyFunctions: readonly PipelineFunction[];
}

export class Interactivity extends Construct {
  readonly endpoint: PipelineFunction;
  readonly worker: PipelineFunction;
  readonly queue: WorkQueue;
  readonly url: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: InteractivityProps) {
    super(scope, id);
    const { config, bus, table, slackToken, interactivity } = props;
    const muteAllowList =
      interactivity.muteUsers === undefined ? undefined : muteAllowListOf(interactivity.muteUsers);

    // Slack wants an answer within 3 s: a small, quick function that only verifies and enqueues.
    this.endpoint = new PipelineFunction(this, 'Endpoint', {
      name: 'interactions',
      description: 'pullwatch: Slack interactivity endpoint (verifies the signature, enqueues the action)',
      settings: receiverSettings,
      config: {
        slackTokenSecretId: slackToken.secretId,
        eventBusName: bus.bus.eventBusName,
        teamIds: interactivity.teamIds,
        appIds: interactivity.appIds,
        muteAllowList: muteAllowList,
        maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      },
      timeout: Duration.seconds(3),
      memorySize: 512,
      logRetentionDays: config.logRetention,
    });
    this.url = this.endpoint.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    grantPublishPipelineEvents(this.endpoint.role, bus);
    slackToken.grantRead(this.endpoint.role);

    this.queue = new WorkQueue(this, 'Queue', {
      visibilityTimeout: QUEUE_VISIBILITY,
      holds: `Slack actions received ${MAX_RECEIVE_COUNT} times without being applied`,
    });
    const rule = busRuleFor('interactions');
    bus.routeToQueue(rule.id, rule.pattern, this.queue.queue, rule.description);
    this.worker = new PipelineFunction(this, 'Worker', {
      ...QUEUE_FUNCTION,
      name: 'actions',
      description: 'pullwatch: applies Slack actions (acknowledge, snooze, mute, re-check)',
      settings: workerSettings,
      config: {
        tableName: table.table.tableName,
        eventBusName: bus.bus.eventBusName,
        windows: windowsOf(config),
        ...slackSettingsOf(config, slackToken, QUEUE_FUNCTION.timeout),
        muteAllowList,
        // Re-check asks the registry as classify does, from the same place.
        ...registryCheckSettingsOf(this, config),
      },
      logRetentionDays: config.logRetention,
    });
    consumeQueue(this.worker, this.queue);
    grantPublishPipelineEvents(this.worker.role, bus);
    table.grantReadWriteIncidents(this.worker.role);
    table.grantLiftSilences(this.worker.role);
    slackToken.grantRead(this.worker.role);
    grantRegistryCheckReads(this.worker, config.registryCheck);
    for (const fn of props.notifyFunctions) table.grantLiftSilences(fn.role);

    new CfnOutput(scope, INTERACTIVITY_URL_OUTPUT, {
      value: this.url.url,
      description:
        'Paste in the Slack app: Interactivity & Shortcuts → Request URL (slack-app-manifest.yaml: settings.interactivity.request_url)',
    });
  }

  get functions(): PipelineFunction[] {
    return [this.endpoint, this.worker];
  }
}
