/**
 * Lambda wiring shared by the functions that post to Slack (notify, watchdog): what ensurePost
 * needs besides the posts' store, and the publisher for rejected events. Called at module scope, so the
 * clients are made once per container.
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SlackConfig } from './slack-config';
import { type EventPublisher, EventBridgePublisher } from './event-publisher';
import { type AuthCheck, SlackNotifier, type SlackPeople } from './notifier';
import { slackAuthCheckOnce } from './slack-auth-check';
import { createLogger, createMetrics } from './observability';
import type { PostDeps } from './slack-posts';
import { SecretsManagerTokenSource } from './slack-token';

export type SlackFunctionDeps = Omit<PostDeps<unknown>, 'posts'> & {
  publisher: EventPublisher;
  /** auth.test, once per container (functions/_common/slack-auth-check.ts). */
  checkSlackAuth: () => Promise<AuthCheck>;
  /** The same client: user groups, ephemeral messages (the actions worker). */
  people: SlackPeople;
};

export const slackFunctionDeps = (
  service: string,
  config: SlackConfig & { eventBusName: string },
): SlackFunctionDeps => {
  const metrics = createMetrics(service);
  const log = createLogger(service);
  const notifier = new SlackNotifier({
    tokens: new SecretsManagerTokenSource(new SecretsManagerClient({}), config.slackTokenSecretId),
    ...(config.slackApiUrl === undefined ? {} : { slackApiUrl: config.slackApiUrl }),
    timeoutMs: config.slackTimeoutMs,
    retries: 2,
    maxInlineWaitMs: config.maxInlineWaitMs,
    metrics,
  });
  return {
    notifier,
    people: notifier,
    checkSlackAuth: slackAuthCheckOnce({
      checkAuth: () => notifier.checkAuth(),
      tokenSource: `secret ${config.slackTokenSecretId}`,
      log,
    }),
    leaseMs: config.leaseMs,
    publisher: new EventBridgePublisher(new EventBridgeClient({}), config.eventBusName),
    log,
    metrics,
    now: () => new Date(),
    newToken: randomUUID,
  };
};
