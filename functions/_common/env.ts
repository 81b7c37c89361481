/**
 * The variables several functions read, each defined once (shared/config-table.ts): a function's
 * `config.ts` is a table of these and its own. Read once when a function's module loads; a missing
 * or malformed variable fails the cold start at once, naming the variable and what it is for.
 */
import { type Setting, TEXT, integer, required, withDefault } from '#shared/config-table';
import { z } from 'zod';
import { matching } from '#shared/config-table';
import { DEFAULT_RETENTION_DAYS } from './incident-table';

export { ConfigError, type Env } from '#shared/config-table';

export const TABLE_NAME: Setting<string> = required({
  name: 'PULLWATCH_TABLE',
  purpose: 'name of the DynamoDB incident table',
  kind: TEXT,
});

export const EVENT_BUS_NAME: Setting<string> = required({
  name: 'PULLWATCH_EVENT_BUS',
  purpose: 'name of the EventBridge bus the pipeline publishes to',
  kind: TEXT,
});

/** PULLWATCH_RETENTION_DAYS: how long what the function writes is kept. */
export const retentionDays = (purpose: string): Setting<number> =>
  withDefault({ name: 'PULLWATCH_RETENTION_DAYS', purpose, kind: integer(1) }, DEFAULT_RETENTION_DAYS);

/**
 * PULLWATCH_SLACK_INTERACTIONS: messages carry controls (acknowledge, snooze, mute, re-check) and
 * notify honours snoozes and mutes; only with the interactivity endpoint deployed.
 */
export const SLACK_INTERACTIONS: Setting<boolean> = withDefault(
  {
    name: 'PULLWATCH_SLACK_INTERACTIONS',
    purpose: '"true" when Slack actions are taken (controls on messages, snoozes and mutes honoured)',
    kind: matching(
      z.enum(['true', 'false']).transform((text) => text === 'true'),
      (on) => String(on),
    ),
  },
  false,
);
