/**
 * Lambda entry point: wiring only. The interactivity endpoint, behind a Function URL (Slack signs
 * its requests; it cannot sign SigV4): verified actions go on the bus, where functions/actions
 * applies them. It touches no table and calls no Slack API (its role can do neither). Config is
 * read once, at cold start, and clients live at module scope.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { EventBridgePublisher } from '../_common/event-publisher';
import { createLogger, createMetrics } from '../_common/observability';
import { loadReceiverConfig } from './config';
import { createInteractionReceiver, enqueueOnBus } from './receive';
import { SecretsManagerSigningSecret } from './signing-secret';

const receiver = (() => {
  const config = loadReceiverConfig(process.env);
  const metrics = createMetrics('interactions');
  const publisher = new EventBridgePublisher(new EventBridgeClient({}), config.eventBusName);
  return {
    metrics,
    receive: createInteractionReceiver({
      config: {
        teamIds: config.teamIds,
        appIds: config.appIds,
        maxBodyBytes: config.maxBodyBytes,
        ...(config.muteAllowList === undefined ? {} : { muteAllowList: config.muteAllowList }),
      },
      secret: new SecretsManagerSigningSecret(new SecretsManagerClient({}), config.slackTokenSecretId),
      enqueue: enqueueOnBus(publisher),
      metrics,
      log: createLogger('interactions'),
      now: () => new Date(),
    }),
  };
})();

/** Lower-cased header names (Function URLs already send them so; tests and proxies may not). */
const lowerCased = (headers: LambdaFunctionURLEvent['headers']): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));

/** Function URL → verified actions on the bus; Slack gets its answer within milliseconds. */
export const handler = async (event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> => {
  const { receive, metrics } = receiver;
  const body =
    event.body === undefined
      ? ''
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  try {
    const response = await receive({ headers: lowerCased(event.headers), body });
    return { statusCode: response.status, headers: { 'content-type': 'text/plain' }, body: response.body };
  } finally {
    metrics.flush();
  }
};
