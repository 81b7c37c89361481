/** The variables the interactions function reads (shared/config-table.ts): the endpoint and the worker. */
import {
  type ConfigOf,
  type Env,
  InvalidValue,
  type ValueKind,
  group,
  integer,
  required,
  withDefault,
} from '#shared/config-table';
import { EVENT_BUS_NAME } from '../_common/env';
import { SLACK_MUTE_USERS, SLACK_SETTINGS } from '../_common/slack-config';
import { DEFAULT_MAX_BODY_BYTES } from './receive';

/** Comma-separated Slack ids (T…, A…). */
const SLACK_IDS: ValueKind<string[]> = {
  parse: (text) => {
    const ids = text
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== '');
    const bad = ids.find((id) => !/^[A-Z0-9]{2,30}$/.test(id));
    if (bad !== undefined) throw new InvalidValue(`must be comma-separated Slack ids, got "${bad}"`);
    return ids;
  },
  format: (ids) => ids.join(','),
};

/** Required here; optional in local mode (local/interactions.ts), where any team and app are taken. */
export const TEAM_IDS_VARIABLE = {
  name: 'PULLWATCH_SLACK_TEAM_IDS',
  purpose: 'Slack workspace ids (T…) whose button clicks are taken',
  kind: SLACK_IDS,
};
export const APP_IDS_VARIABLE = {
  name: 'PULLWATCH_SLACK_APP_IDS',
  purpose: 'Slack app ids (A…) whose button clicks are taken',
  kind: SLACK_IDS,
};
export const SLACK_TEAM_IDS = required(TEAM_IDS_VARIABLE);
export const SLACK_APP_IDS = required(APP_IDS_VARIABLE);
export const MAX_BODY_BYTES = withDefault(
  {
    name: 'PULLWATCH_INTERACTIONS_MAX_BODY_BYTES',
    purpose: 'largest request body taken',
    kind: integer(1024),
  },
  DEFAULT_MAX_BODY_BYTES,
);

/** The endpoint: verify and hand on (no Slack calls, no table). */
export const receiverSettings = group({
  slackTokenSecretId: SLACK_SETTINGS.slackTokenSecretId,
  eventBusName: EVENT_BUS_NAME,
  teamIds: SLACK_TEAM_IDS,
  appIds: SLACK_APP_IDS,
  muteAllowList: SLACK_MUTE_USERS,
  maxBodyBytes: MAX_BODY_BYTES,
});
export type ReceiverSettings = ConfigOf<typeof receiverSettings>;

export const loadReceiverConfig = (env: Env): ReceiverSettings => receiverSettings.read(env);

export { SLACK_MUTE_USERS };
