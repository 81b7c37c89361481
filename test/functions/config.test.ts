/**
 * Which environment variables each function reads: the stack derives each Lambda's environment by
 * calling these loaders with a recording environment, and functions/README.md documents them.
 */
import { loadClassifyConfig } from '../../functions/classify/config';
import { loadDedupeConfig } from '../../functions/dedupe/config';
import { loadNotifyConfig } from '../../functions/notify/config';
import { loadWatchdogConfig } from '../../functions/watchdog/config';

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
    ['classify', loadClassifyConfig, ['PULLWATCH_EVENT_BUS']],
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
  ])('%s: exactly its variables', (_name, load, variables) => {
    expect(readBy(load as (env: Record<string, string | undefined>) => unknown)).toEqual(variables);
  });
});
