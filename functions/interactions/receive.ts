/**
 * The interactivity endpoint's work, the same behind a Lambda Function URL, local mode's
 * `POST /slack/events` and Socket Mode: check that the request is Slack's and for us, parse the
 * actions, hand them on, answer. Nothing is applied here: Slack wants an answer within 3 seconds,
 * so the actions are enqueued (the bus, in AWS) and applied by the worker (apply.ts).
 *
 * A refused request changes nothing: it gets its status (401 unsigned, forged or stale; 403 another
 * team or app, or a mute by someone not allowed to; 400 malformed or not our control; 413 too big),
 * a log line with the reason (never the body or a secret) and a count of InteractionsRefused (the
 * stack alarms when they spike).
 */
import {
  type ActionRequest,
  InvalidAction,
  type MuteAllowList,
  actionRequestsOf,
  blockActionsPayloadSchema,
  muteAllowance,
} from '#shared/incident-actions';
import { PIPELINE_DETAIL_TYPE, PIPELINE_SCHEMA_VERSION } from '#shared/incident-events';
import { type EventPublisher, publishAll } from '../_common/event-publisher';
import { METRIC, type Log, type PipelineMetrics } from '../_common/observability';
import type { SigningSecretSource } from './signing-secret';
import { type Refusal, type SlackRequest, verifySignature } from './verify';

export interface ReceiverConfig {
  /** The Slack workspaces (team ids, T…) whose requests are taken (local mode: undefined, any). */
  teamIds?: readonly string[];
  /** The Slack app ids (A…) whose requests are taken (local mode: undefined, any). */
  appIds?: readonly string[];
  maxBodyBytes: number;
  /** When set, only these users, and members of these user groups, may mute (the worker asks about groups). */
  muteAllowList?: MuteAllowList;
}

export interface AcceptDeps {
  config: ReceiverConfig;
  /** Hands verified actions to the worker; must be quick (the answer waits for it). */
  enqueue: (requests: ActionRequest[]) => Promise<void>;
  metrics: PipelineMetrics;
  log: Log;
  now: () => Date;
}

export interface ReceiverDeps extends AcceptDeps {
  secret: SigningSecretSource;
}

export interface ReceiverResponse {
  status: number;
  body: string;
}

/** Slack's interactivity payloads are a few KB; 64 KB leaves room for a message's blocks. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

const refuse = (
  deps: AcceptDeps,
  refusal: Refusal,
  extra: Record<string, unknown> = {},
): ReceiverResponse => {
  deps.metrics.count(METRIC.interactionsRefused);
  deps.log.warn('Slack request refused', { reason: refusal.reason, status: refusal.status, ...extra });
  return { status: refusal.status, body: refusal.reason };
};

export const createInteractionReceiver =
  (deps: ReceiverDeps) =>
  async (request: SlackRequest): Promise<ReceiverResponse> => {
    const now = deps.now().getTime();
    const refusal = verifySignature(request, {
      signingSecret: await deps.secret.signingSecret(),
      now,
      maxBodyBytes: deps.config.maxBodyBytes,
    });
    if (refusal !== undefined) return refuse(deps, refusal);
    // Signed by Slack: from here on the body can be read.
    let payload: unknown;
    try {
      const field = new URLSearchParams(request.body).get('payload');
      payload = field === null ? undefined : JSON.parse(field);
    } catch {
      payload = undefined;
    }
    return acceptPayload(deps, payload, now);
  };

/**
 * A payload known to be Slack's (signed, or from the app's own Socket Mode connection): checked
 * for team, app, shape and the mute allow-list, then handed on.
 */
export const acceptPayload = async (
  deps: AcceptDeps,
  payload: unknown,
  now: number,
): Promise<ReceiverResponse> => {
  const envelope = blockActionsPayloadSchema.safeParse(payload);
  if (!envelope.success) return refuse(deps, { status: 400, reason: 'malformed' });
  const teamId = envelope.data.team?.id ?? envelope.data.user.team_id;
  const { teamIds, appIds } = deps.config;
  if (teamIds !== undefined && (teamId === undefined || !teamIds.includes(teamId)))
    return refuse(deps, { status: 403, reason: 'team' }, { teamId });
  if (appIds !== undefined && !appIds.includes(envelope.data.api_app_id))
    return refuse(deps, { status: 403, reason: 'app' }, { appId: envelope.data.api_app_id });
  let requests: ActionRequest[];
  try {
    requests = actionRequestsOf(payload, now);
  } catch (error) {
    if (error instanceof InvalidAction) return refuse(deps, { status: 400, reason: error.reason });
    throw error;
  }
  // Refused here when the list alone says so; a user group's members are the worker's to ask Slack.
  const list = deps.config.muteAllowList;
  if (
    requests.some(
      (action) => action.kind === 'mute' && muteAllowance(list, action.actor.userId).kind === 'refused',
    )
  )
    return refuse(deps, { status: 403, reason: 'not-allowed' }, { userId: envelope.data.user.id });
  await deps.enqueue(requests);
  deps.metrics.count(METRIC.interactionsAccepted, requests.length);
  // Slack only needs a 200 within 3 s; the message itself is updated by the worker.
  return { status: 200, body: '' };
};

/** Hands verified actions to the worker through the bus (`IncidentActionRequested`, one per action). */
export const enqueueOnBus =
  (publisher: EventPublisher) =>
  (requests: ActionRequest[]): Promise<void> =>
    publishAll(
      publisher,
      requests.map((request) => ({
        detailType: PIPELINE_DETAIL_TYPE.actionRequested,
        detail: { schemaVersion: PIPELINE_SCHEMA_VERSION, request },
      })),
    );
