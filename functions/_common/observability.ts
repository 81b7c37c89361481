/**
 * Powertools Logger and Metrics for every function, behind two small interfaces so that handlers
 * and tests do not depend on how they are emitted (EMF on stdout in Lambda).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const METRIC = {
  observationsClassified: 'ObservationsClassified',
  incidentsOpened: 'IncidentsOpened',
  incidentsUpdated: 'IncidentsUpdated',
  incidentsReopened: 'IncidentsReopened',
  incidentsResolved: 'IncidentsResolved',
  duplicatesAbsorbed: 'DuplicatesAbsorbed',
  staleObservations: 'StaleObservations',
  causeChanges: 'CauseChanges',
  writeConflicts: 'WriteConflicts',
  invalidEvents: 'InvalidEvents',
  eventsPublished: 'EventsPublished',
  slackCalls: 'SlackCalls',
  slackRetries: 'SlackRetries',
  slackRateLimited: 'SlackRateLimited',
  slackPosts: 'SlackPosts',
  slackUpdates: 'SlackUpdates',
  slackPostsRecovered: 'SlackPostsRecovered',
  slackPostsUncertain: 'SlackPostsUncertain',
  slackPostsFailed: 'SlackPostsFailed',
  /** Slack refused the bot token (auth.test at start, or any call): the stack alarms on it. */
  slackAuthRefused: 'SlackAuthRefused',
  /** Posts owed by a change that notify's tick found still owed after the grace (and reconciled). */
  owedPostsSwept: 'OwedPostsSwept',
  /** First posts held to learn whether a storm is forming. */
  postsHeld: 'PostsHeld',
  /** Storm buckets that reached the threshold. */
  stormsDetected: 'StormsDetected',
  /** Incidents that joined a storm bucket (storm or not). */
  stormMembers: 'StormMembers',
  heartbeatsRecorded: 'HeartbeatsRecorded',
  /** Clusters declared silent (a transition, once per silence). */
  forwardersSilenced: 'ForwardersSilenced',
  forwardersBack: 'ForwardersBack',
  /** Clusters silent right now, emitted by every watchdog tick that finds one: the stack alarms on it. */
  silentForwarders: 'SilentForwarders',
  /** Requests to the interactivity endpoint refused (unsigned, forged, stale, foreign…): the stack alarms on spikes. */
  interactionsRefused: 'InteractionsRefused',
  interactionsAccepted: 'InteractionsAccepted',
  /** Actions that changed something (not a retry or a double click). */
  actionsApplied: 'ActionsApplied',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export interface PipelineMetrics {
  count(metric: MetricName, value?: number): void;
  /** Emits what was counted (once per invocation). */
  flush(): void;
}

/** The logging surface the functions use (Powertools' Logger satisfies it). */
export interface Log {
  debug(message: string, ...extra: Array<Record<string, unknown> | Error | string>): void;
  info(message: string, ...extra: Array<Record<string, unknown> | Error | string>): void;
  warn(message: string, ...extra: Array<Record<string, unknown> | Error | string>): void;
  error(message: string, ...extra: Array<Record<string, unknown> | Error | string>): void;
}

const NAMESPACE = 'pullwatch';

export const createLogger = (serviceName: string): Logger => new Logger({ serviceName });

export const createMetrics = (serviceName: string): PipelineMetrics => {
  const metrics = new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? NAMESPACE,
    serviceName,
  });
  return {
    count: (metric, value = 1) => {
      if (value > 0) metrics.addMetric(metric, MetricUnit.Count, value);
    },
    flush: () => metrics.publishStoredMetrics(),
  };
};

/** A short, loggable description of any thrown value. */
export const describeError = (error: unknown): Record<string, unknown> =>
  error instanceof Error
    ? { errorName: error.name, errorMessage: error.message, ...('code' in error ? { code: error.code } : {}) }
    : { errorMessage: String(error) };

/** The same, as one line (`ThrottlingException: Rate exceeded`) for outcomes and reasons. */
export const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);
