/**
 * Which environment variables each function reads (functions/README.md documents them), and that
 * the environment each table writes for a config (what the stack deploys) reads back to it.
 */
import { incidentWindows } from '#shared/incident';
import { registryCheckConfigSchema } from '#shared/registry-check/check-config';
import { muteAllowListOf } from '#shared/incident-actions';
import { loadWorkerConfig, workerSettings } from '../../functions/actions/config';
import { classifySettings, loadClassifyConfig } from '../../functions/classify/config';
import { dedupeSettings, loadDedupeConfig } from '../../functions/dedupe/config';
import { historySettings } from '../../functions/history/config';
import { loadNotifyConfig, notifySettings } from '../../functions/notify/config';
import { loadWatchdogConfig, watchdogSettings } from '../../functions/watchdog/config';

const VALID: Record<string, string> = {
  PULLWATCH_EVENT_BUS: 'bus',
  PULLWATCH_TABLE: 'table',
  PULLWATCH_SLACK_CHANNEL: '#alerts',
  PULLWATCH_SLACK_TOKEN_SECRET: 'pullwatch/slack',
};

/** The variables a loader reads, in order (each once). */
const readBy = (load: (env: Record<string, string | undefined>) => unknown): string[] => {
  const read: string[] = [];
  const env = new Proxy({} as Record<string, string | undefined>, {
    get: (_target, name) => {
      if (typeof name === 'string' && !read.includes(name)) read.push(name);
      return typeof name === 'string' ? VALID[name] : undefined;
    },
  });
  load(env);
  return read;
};

const SLACK = [
  'PULLWATCH_SLACK_CHANNEL',
  'PULLWATCH_SLACK_ROUTES',
  'SLACK_API_URL',
  'PULLWATCH_SLACK_TOKEN_SECRET',
  'PULLWATCH_SLACK_TIMEOUT_SECONDS',
  'PULLWATCH_SLACK_MAX_WAIT_SECONDS',
  'PULLWATCH_POST_LEASE_SECONDS',
];

describe('each function reads', () => {
  it.each([
    [
      'classify',
      loadClassifyConfig,
      ['PULLWATCH_EVENT_BUS', 'PULLWATCH_REGISTRY_CHECK', 'PULLWATCH_REGISTRY_CHECK_FROM'],
    ],
    [
      'dedupe',
      loadDedupeConfig,
      [
        'PULLWATCH_TABLE',
        'PULLWATCH_EVENT_BUS',
        'PULLWATCH_QUIET_PERIOD',
        'PULLWATCH_REOPEN_WINDOW',
        'PULLWATCH_RETENTION_DAYS',
      ],
    ],
    [
      'notify',
      loadNotifyConfig,
      [
        ...SLACK,
        'PULLWATCH_TABLE',
        'PULLWATCH_EVENT_BUS',
        'PULLWATCH_SLACK_INTERACTIONS',
        'PULLWATCH_UPDATE_INTERVAL',
        'PULLWATCH_QUIET_PERIOD',
        'PULLWATCH_STORM_THRESHOLD',
        'PULLWATCH_STORM_WINDOW',
        'PULLWATCH_STORM_HOLD',
      ],
    ],
    [
      'watchdog',
      loadWatchdogConfig,
      [
        'PULLWATCH_TABLE',
        'PULLWATCH_EVENT_BUS',
        ...SLACK,
        'PULLWATCH_SILENCE_AFTER',
        'PULLWATCH_RETENTION_DAYS',
      ],
    ],
    [
      'actions',
      loadWorkerConfig,
      [
        ...SLACK,
        'PULLWATCH_TABLE',
        'PULLWATCH_EVENT_BUS',
        'PULLWATCH_UPDATE_INTERVAL',
        'PULLWATCH_QUIET_PERIOD',
        'PULLWATCH_SLACK_MUTE_USERS',
        'PULLWATCH_REGISTRY_CHECK',
        'PULLWATCH_REGISTRY_CHECK_FROM',
      ],
    ],
  ])('%s: exactly its variables', (_name, load, variables) => {
    expect(readBy(load as (env: Record<string, string | undefined>) => unknown)).toEqual(variables);
  });
});

describe('the environment a table writes', () => {
  // No default anywhere, so a variable left out of what is written would read back as its default.
  const windows = incidentWindows({
    updateIntervalMs: 420_000,
    quietPeriodMs: 90_000,
    reopenWindowMs: 3_600_000,
    stormWindowMs: 180_000,
    stormThreshold: 8,
    stormHoldMs: 45_000,
    silenceMs: 900_000,
  });
  const slack = {
    routing: {
      defaultChannel: 'C0123ABCD',
      rules: [{ cluster: 'prod-*', namespace: 'shop', channel: '#shop' }, { channel: 'C0999ZZZZ' }],
    },
    slackApiUrl: 'https://slack.example.gov/api/',
    slackTokenSecretId: 'team/slack-bot',
    slackTimeoutMs: 2_500,
    maxInlineWaitMs: 1_000,
    leaseMs: 150_000,
  };
  const common = { tableName: 'incidents', eventBusName: 'pullwatch-bus' };
  const registryCheck = {
    registryCheck: registryCheckConfigSchema.parse({
      enabled: true,
      deniedRegistries: ['*.corp'],
      ecrRepositories: ['arn:aws:ecr:eu-west-1:123456789012:repository/team/*'],
      timeoutSeconds: 3,
      cacheMinutes: 10,
    }),
    registryCheckFrom: 'AWS Lambda in account 123456789012 (eu-west-1)',
  };

  it.each([
    [
      'classify',
      () => classifySettings.read(classifySettings.write({ eventBusName: 'b', ...registryCheck })),
      { eventBusName: 'b', ...registryCheck },
    ],
    [
      'dedupe',
      () => dedupeSettings.read(dedupeSettings.write({ ...common, windows, retentionDays: 30 })),
      {
        ...common,
        windows: incidentWindows({ quietPeriodMs: 90_000, reopenWindowMs: 3_600_000 }),
        retentionDays: 30,
      },
    ],
    [
      'notify',
      () => notifySettings.read(notifySettings.write({ ...common, ...slack, windows, interactions: true })),
      {
        ...common,
        ...slack,
        interactions: true,
        windows: {
          ...windows,
          reopenWindowMs: incidentWindows().reopenWindowMs,
          silenceMs: incidentWindows().silenceMs,
        },
      },
    ],
    [
      'actions',
      () =>
        workerSettings.read(
          workerSettings.write({
            ...common,
            ...slack,
            windows,
            muteAllowList: muteAllowListOf(['U0BOB', 'S0SRE']),
            ...registryCheck,
          }),
        ),
      {
        ...common,
        ...slack,
        windows: incidentWindows({ updateIntervalMs: 420_000, quietPeriodMs: 90_000 }),
        muteAllowList: { users: ['U0BOB'], groups: ['S0SRE'] },
        ...registryCheck,
      },
    ],
    [
      'watchdog',
      () =>
        watchdogSettings.read(
          watchdogSettings.write({ ...common, ...slack, silenceMs: 900_000, retentionDays: 14 }),
        ),
      { ...common, ...slack, silenceMs: 900_000, retentionDays: 14 },
    ],
    [
      'history',
      () => historySettings.read(historySettings.write({ tableName: 't', statsLimit: 500 })),
      { tableName: 't', statsLimit: 500 },
    ],
  ])('%s: reads back to the config it was written for', (_name, roundTrip, expected) => {
    expect(roundTrip()).toEqual(expected);
  });
});

test('the mute allow-list takes user ids and user group ids, and names a wrong one', () => {
  expect(
    loadWorkerConfig({ ...VALID, PULLWATCH_SLACK_MUTE_USERS: 'U0BOB, S0SRE,W0ENT' }).muteAllowList,
  ).toEqual({
    users: ['U0BOB', 'W0ENT'],
    groups: ['S0SRE'],
  });
  expect(() => loadWorkerConfig({ ...VALID, PULLWATCH_SLACK_MUTE_USERS: 'U0BOB,C0ALERTS' })).toThrow(
    'PULLWATCH_SLACK_MUTE_USERS must be comma-separated Slack user ids (U…, W…) or user group ids (S…), got "C0ALERTS"',
  );
});
