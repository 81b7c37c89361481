/**
 * The Slack settings of the functions that post (notify, watchdog): the token's secret, the Web
 * API, the calls' limits and the channels.
 */
import {
  InvalidValue,
  SECONDS_AS_MS,
  type Setting,
  TEXT,
  type ValueKind,
  type ValuesOf,
  group,
  optional,
  required,
  withDefault,
} from '#shared/config-table';
import { MUTE_ALLOW_ID, type MuteAllowList, muteAllowListOf } from '#shared/incident-actions';
import { SLACK_CHANNEL_VARIABLE, SLACK_ROUTES } from '#shared/routing';

/** An http(s) URL; it always ends in `/` (the client appends method names to it). */
const API_URL: ValueKind<string> = {
  parse: (text) => {
    if (!/^https?:\/\/\S+$/.test(text)) throw new InvalidValue(`must be an http(s) URL, got "${text}"`);
    return text.endsWith('/') ? text : `${text}/`;
  },
  format: (url) => url,
};

/** SLACK_API_URL: overrides the Web API base URL (GovSlack, a proxy, tests); local mode reads it too. */
export const SLACK_API_URL: Setting<string | undefined> = optional({
  name: 'SLACK_API_URL',
  purpose: 'base URL of the Slack Web API',
  kind: API_URL,
});

export const SLACK_SETTINGS = {
  routing: group({
    defaultChannel: required(SLACK_CHANNEL_VARIABLE),
    rules: SLACK_ROUTES,
  }),
  slackApiUrl: SLACK_API_URL,
  slackTokenSecretId: required({
    name: 'PULLWATCH_SLACK_TOKEN_SECRET',
    purpose: 'Secrets Manager id or ARN of the Slack bot token',
    kind: TEXT,
  }),
  slackTimeoutMs: withDefault(
    { name: 'PULLWATCH_SLACK_TIMEOUT_SECONDS', purpose: 'timeout of one Slack call', kind: SECONDS_AS_MS },
    5_000,
  ),
  maxInlineWaitMs: withDefault(
    {
      name: 'PULLWATCH_SLACK_MAX_WAIT_SECONDS',
      purpose: 'longest Retry-After waited out inline',
      kind: SECONDS_AS_MS,
    },
    3_000,
  ),
  // Must exceed the function's timeout (set by the stack; 30 s by default).
  leaseMs: withDefault(
    {
      name: 'PULLWATCH_POST_LEASE_SECONDS',
      purpose: 'how long a claim on a Slack post is held',
      kind: SECONDS_AS_MS,
    },
    90_000,
  ),
};

export type SlackConfig = ValuesOf<typeof SLACK_SETTINGS>;

/** Comma-separated user ids (U…, W…) and user group ids (S…). */
const MUTE_ALLOW_LIST: ValueKind<MuteAllowList> = {
  parse: (text) => {
    const ids = text
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== '');
    const bad = ids.find((id) => !MUTE_ALLOW_ID.test(id));
    if (bad !== undefined)
      throw new InvalidValue(
        `must be comma-separated Slack user ids (U…, W…) or user group ids (S…), got "${bad}"`,
      );
    return muteAllowListOf(ids);
  },
  format: (list) => [...list.users, ...list.groups].join(','),
};

/**
 * Who may mute: read by the endpoint (a listed user, or a list without groups, is decided there)
 * and by the actions worker (which asks Slack whether the user is in a listed group).
 */
export const SLACK_MUTE_USERS: Setting<MuteAllowList | undefined> = optional({
  name: 'PULLWATCH_SLACK_MUTE_USERS',
  purpose:
    'when set, the only Slack users (U…, W…) and members of user groups (S…) allowed to mute a workload',
  kind: MUTE_ALLOW_LIST,
});
