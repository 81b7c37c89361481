/**
 * What people do to an incident from Slack: acknowledge it, snooze it (1 h, 4 h, 24 h, until it
 * resolves), unsnooze it, mute its workload, re-check it. Pure: the schemas of what Slack sends, the
 * ids and values carried in the posted blocks, and the decisions (apply an action to the state, is a
 * workload silenced at a time, when a snooze ends). No AWS, Kubernetes or Slack imports; no clock.
 *
 * Idempotency is decided here, once, for every surface (AWS, local HTTP, Socket Mode):
 * - Slack's retry of one request carries the same `action_ts`: its key is remembered (`applied`) and
 *   the retry changes nothing;
 * - a double click is two requests with two `action_ts`: the second is a no-op by the rule of each
 *   action (already acknowledged by that user; the same snooze by the same user within
 *   DOUBLE_CLICK_MS; unsnooze of nothing; a re-check already asked for within DOUBLE_CLICK_MS).
 * The store applies the result with a write conditional on `version`, so concurrent actions on one
 * incident serialise (functions/_common/incident-actions-store.ts).
 */
import { z } from 'zod';

export const ACTION_ID = {
  acknowledge: 'pullwatch_acknowledge',
  snooze: 'pullwatch_snooze',
  unsnooze: 'pullwatch_unsnooze',
  mute: 'pullwatch_mute',
  recheck: 'pullwatch_recheck',
} as const;
export type ActionId = (typeof ACTION_ID)[keyof typeof ACTION_ID];
export const ACTION_IDS = Object.values(ACTION_ID) as [ActionId, ...ActionId[]];
export type ActionKind = keyof typeof ACTION_ID;
export const actionKindOf = (actionId: ActionId): ActionKind =>
  (Object.keys(ACTION_ID) as ActionKind[]).find((kind) => ACTION_ID[kind] === actionId)!;

export const SNOOZE_CHOICES = ['1h', '4h', '24h', 'resolved'] as const;
export type SnoozeChoice = (typeof SNOOZE_CHOICES)[number];
export const SNOOZE_LABELS: Record<SnoozeChoice, string> = {
  '1h': '1 hour',
  '4h': '4 hours',
  '24h': '24 hours',
  resolved: 'until resolved',
};
const HOUR = 3_600_000;
const SNOOZE_MS: Record<Exclude<SnoozeChoice, 'resolved'>, number> = {
  '1h': HOUR,
  '4h': 4 * HOUR,
  '24h': 24 * HOUR,
};
/**
 * "Until resolved" still ends, a long time later: a workload whose incident never resolves (its
 * pods deleted, the cluster gone) must not stay silent forever; a mute is the way to say that.
 */
export const UNTIL_RESOLVED_MAX_MS = 14 * 24 * HOUR;

/** A second identical click by the same person within this is the same intent. */
export const DOUBLE_CLICK_MS = 10_000;
/** Idempotency keys remembered per incident (Slack retries within a minute or so). */
export const APPLIED_KEYS_KEPT = 50;
/** Timeline entries kept per incident. */
export const TIMELINE_KEPT = 100;

// ---------------------------------------------------------------------------------------------
// What a control's value carries (posted in the blocks, sent back by Slack)

const keyId = z.string().regex(/^[0-9a-z-]{4,40}$/);
export const actionSubjectSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('incident'), keyId, generation: z.int().min(1).max(1_000_000) }),
  z.object({
    kind: z.literal('storm'),
    groupId: z.string().regex(/^[0-9a-z._-]{4,80}$/),
    seq: z.int().min(1).max(1_000_000),
  }),
]);
export type ActionSubject = z.infer<typeof actionSubjectSchema>;

export const actionValueSchema = z.object({
  v: z.literal(1),
  s: actionSubjectSchema,
  snooze: z.enum(SNOOZE_CHOICES).optional(),
});
export type ActionValue = z.infer<typeof actionValueSchema>;

/** The value a control carries: compact JSON (a select option's value is at most 150 characters). */
export const encodeActionValue = (subject: ActionSubject, snooze?: SnoozeChoice): string =>
  JSON.stringify({ v: 1, s: subject, ...(snooze === undefined ? {} : { snooze }) });

export const subjectIdOf = (subject: ActionSubject): string =>
  subject.kind === 'incident'
    ? `incident:${subject.keyId}.${subject.generation}`
    : `storm:${subject.groupId}.${subject.seq}`;

// ---------------------------------------------------------------------------------------------
// What Slack sends: a block_actions payload (the fields read; Slack sends more)

const slackId = z.string().regex(/^[A-Z0-9]{2,30}$/);
export const blockActionsPayloadSchema = z.object({
  type: z.literal('block_actions'),
  api_app_id: slackId,
  team: z.object({ id: slackId }).nullable(),
  user: z.object({
    id: slackId,
    username: z.string().max(500).optional(),
    name: z.string().max(500).optional(),
    team_id: slackId.optional(),
  }),
  container: z
    .object({
      type: z.string(),
      channel_id: z.string().optional(),
      message_ts: z.string().optional(),
      thread_ts: z.string().optional(),
    })
    .optional(),
  channel: z.object({ id: z.string() }).optional(),
  message: z.object({ ts: z.string(), thread_ts: z.string().optional() }).optional(),
  actions: z
    .array(
      z.object({
        action_id: z.string().max(255),
        block_id: z.string().max(255).optional(),
        type: z.string(),
        value: z.string().max(2000).optional(),
        selected_option: z.object({ value: z.string().max(2000) }).optional(),
        action_ts: z.string().regex(/^\d{1,12}(\.\d{1,8})?$/),
      }),
    )
    .min(1)
    .max(5),
});
export type BlockActionsPayload = z.infer<typeof blockActionsPayloadSchema>;

/** Who acted, as Slack said: the id is checked, the name is untrusted text (rendered inert). */
export interface Actor {
  userId: string;
  userName: string;
}

/** One action someone asked for, parsed and checked: what the worker applies. */
export const actionRequestSchema = z.object({
  kind: z.enum(Object.keys(ACTION_ID) as [ActionKind, ...ActionKind[]]),
  subject: actionSubjectSchema,
  snooze: z.enum(SNOOZE_CHOICES).optional(),
  actor: z.object({ userId: slackId, userName: z.string().max(500) }),
  teamId: z.string(),
  /** Slack's `action_ts`: the same for a retry of one request. */
  actionTs: z.string(),
  /** Where the message is (for the chat.update that shows the action and the thread reply). */
  channelId: z.string().optional(),
  messageTs: z.string().optional(),
  /** When it was received (epoch ms). */
  receivedAt: z.number(),
});
export type ActionRequest = z.infer<typeof actionRequestSchema>;

export class InvalidAction extends Error {
  override readonly name = 'InvalidAction';
  constructor(
    readonly reason: 'malformed' | 'unknown-action',
    message: string,
  ) {
    super(message);
  }
}

/** The requests in a block_actions payload; throws InvalidAction (malformed, unknown action). */
export const actionRequestsOf = (payload: unknown, receivedAt: number): ActionRequest[] => {
  const parsed = blockActionsPayloadSchema.safeParse(payload);
  if (!parsed.success) throw new InvalidAction('malformed', 'not a block_actions payload pullwatch can read');
  const { data } = parsed;
  const userName = data.user.username ?? data.user.name ?? data.user.id;
  return data.actions.map((action) => {
    if (!(ACTION_IDS as readonly string[]).includes(action.action_id))
      throw new InvalidAction('unknown-action', 'not a pullwatch control');
    const raw = action.selected_option?.value ?? action.value;
    let value: ActionValue;
    try {
      value = actionValueSchema.parse(JSON.parse(raw ?? ''));
    } catch {
      throw new InvalidAction('malformed', "the control's value is not one pullwatch posted");
    }
    const kind = actionKindOf(action.action_id as ActionId);
    if (kind === 'snooze' && value.snooze === undefined)
      throw new InvalidAction('malformed', 'a snooze without its duration');
    const channelId = data.container?.channel_id ?? data.channel?.id;
    const messageTs = data.container?.message_ts ?? data.message?.ts;
    return {
      kind,
      subject: value.s,
      ...(kind === 'snooze' ? { snooze: value.snooze } : {}),
      actor: { userId: data.user.id, userName },
      teamId: data.team?.id ?? data.user.team_id ?? '',
      actionTs: action.action_ts,
      ...(channelId === undefined ? {} : { channelId }),
      ...(messageTs === undefined ? {} : { messageTs }),
      receivedAt,
    };
  });
};

/** The key that makes a retry of one request a no-op. */
export const idempotencyKeyOf = (request: ActionRequest): string =>
  `${request.actor.userId}:${request.kind}:${request.actionTs}`;

// ---------------------------------------------------------------------------------------------
// The state of one incident's (or storm's) actions

export interface Acknowledgement extends Actor {
  at: number;
}

export interface Snooze extends Actor {
  at: number;
  choice: SnoozeChoice;
  /** When it ends by itself (for "until resolved": the safety limit). */
  until: number;
  /** Ends when the incident resolves. */
  untilResolved: boolean;
  /** 1 for the incident's first snooze: names the "snooze ended" reply. */
  seq: number;
}

export type TimelineKind = 'acknowledged' | 'snoozed' | 'unsnoozed' | 'muted' | 'rechecked';

export interface ActionRecord extends Actor {
  kind: TimelineKind;
  at: number;
  /** The request's idempotency key: a retry finds what its first attempt did. */
  key?: string;
  choice?: SnoozeChoice;
  until?: number;
}

export interface ActionState {
  /** 0: nothing stored yet. */
  version: number;
  acks: Acknowledgement[];
  snooze?: Snooze;
  /** How many snoozes there were (the next one's seq is this + 1). */
  snoozes: number;
  applied: string[];
  timeline: ActionRecord[];
}

export const EMPTY_ACTION_STATE: ActionState = Object.freeze({
  version: 0,
  acks: [],
  snoozes: 0,
  applied: [],
  timeline: [],
}) as ActionState;

/** When a snooze chosen at `at` ends by itself. */
export const snoozeEnd = (choice: SnoozeChoice, at: number): number =>
  at + (choice === 'resolved' ? UNTIL_RESOLVED_MAX_MS : SNOOZE_MS[choice]);

/** The snooze in force at `now`, if any ("until resolved" ends when the incident resolves). */
export const activeSnooze = (
  state: Pick<ActionState, 'snooze'>,
  now: number,
  resolved = false,
): Snooze | undefined => {
  const { snooze } = state;
  if (snooze === undefined || now >= snooze.until) return undefined;
  if (snooze.untilResolved && resolved) return undefined;
  return snooze;
};

/** The snooze that ran out by itself while its subject is still open (one reply says so). */
export const endedSnooze = (
  state: Pick<ActionState, 'snooze'>,
  now: number,
  resolved: boolean,
): Snooze | undefined => {
  const { snooze } = state;
  return snooze !== undefined && !resolved && now >= snooze.until ? snooze : undefined;
};

export type ActionOutcome =
  /** The state changed: store `state`; the record goes in the timeline and on the bus. */
  | { kind: 'applied'; state: ActionState; record: ActionRecord }
  /** Nothing to change (a retry, a double click, nothing snoozed); `why` is for logs. */
  | { kind: 'unchanged'; why: 'retry' | 'double-click' | 'already' | 'not-snoozed' | 'resolved' };

const remember = (state: ActionState, key: string, record: ActionRecord): ActionState => ({
  ...state,
  applied: [...state.applied, key].slice(-APPLIED_KEYS_KEPT),
  timeline: [...state.timeline, record].slice(-TIMELINE_KEPT),
});

const recentlyBy = (
  state: ActionState,
  kind: TimelineKind,
  userId: string,
  now: number,
): ActionRecord | undefined =>
  state.timeline.findLast(
    (record) => record.kind === kind && record.userId === userId && now - record.at < DOUBLE_CLICK_MS,
  );

/**
 * Applies one action to the state as read, at `now` (the time it is applied). `resolved`: the
 * incident is resolved (a snooze then means nothing). Mutes are the workload's, stored apart
 * (WorkloadSilence); here they are only recorded in the timeline.
 */
export const applyAction = (
  state: ActionState,
  request: ActionRequest,
  now: number,
  resolved = false,
): ActionOutcome => {
  const key = idempotencyKeyOf(request);
  if (state.applied.includes(key)) return { kind: 'unchanged', why: 'retry' };
  const actor: Actor = { userId: request.actor.userId, userName: request.actor.userName };
  switch (request.kind) {
    case 'acknowledge': {
      if (state.acks.some((ack) => ack.userId === actor.userId)) return { kind: 'unchanged', why: 'already' };
      const record: ActionRecord = { kind: 'acknowledged', ...actor, at: now, key };
      return {
        kind: 'applied',
        record,
        state: remember({ ...state, acks: [...state.acks, { ...actor, at: now }] }, key, record),
      };
    }
    case 'snooze': {
      if (resolved) return { kind: 'unchanged', why: 'resolved' };
      const choice = request.snooze ?? '1h';
      const last = recentlyBy(state, 'snoozed', actor.userId, now);
      if (last !== undefined && last.choice === choice) return { kind: 'unchanged', why: 'double-click' };
      const until = snoozeEnd(choice, now);
      const snooze: Snooze = {
        ...actor,
        at: now,
        choice,
        until,
        untilResolved: choice === 'resolved',
        seq: state.snoozes + 1,
      };
      const record: ActionRecord = { kind: 'snoozed', ...actor, at: now, key, choice, until };
      return {
        kind: 'applied',
        record,
        state: remember({ ...state, snooze, snoozes: snooze.seq }, key, record),
      };
    }
    case 'unsnooze': {
      if (activeSnooze(state, now, resolved) === undefined) return { kind: 'unchanged', why: 'not-snoozed' };
      const record: ActionRecord = { kind: 'unsnoozed', ...actor, at: now, key };
      const { snooze: _ended, ...rest } = state;
      return { kind: 'applied', record, state: remember(rest, key, record) };
    }
    case 'mute':
    case 'recheck': {
      const kind = request.kind === 'mute' ? 'muted' : 'rechecked';
      if (recentlyBy(state, kind, actor.userId, now) !== undefined)
        return { kind: 'unchanged', why: 'double-click' };
      const record: ActionRecord = { kind, ...actor, at: now, key };
      return { kind: 'applied', record, state: remember(state, key, record) };
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Who may mute (PULLWATCH_SLACK_MUTE_USERS, `interactivity.muteUsers`): listed users, and the
// members of listed user groups. The rule is here once; the endpoint applies what it can decide
// without Slack (a listed user, or no group to ask), the worker asks Slack about the groups.

/** A user id (U…, W… for Enterprise Grid) or a user group id (S…). */
export const MUTE_ALLOW_ID = /^[UWS][A-Z0-9]{2,30}$/;

export interface MuteAllowList {
  users: readonly string[];
  groups: readonly string[];
}

export const muteAllowListOf = (ids: readonly string[]): MuteAllowList => ({
  users: ids.filter((id) => !id.startsWith('S')),
  groups: ids.filter((id) => id.startsWith('S')),
});

export type MuteAllowance =
  | { kind: 'allowed' }
  | { kind: 'refused' }
  /** Allowed only if the user is in one of these groups (Slack knows). */
  | { kind: 'if-member'; groups: readonly string[] };

/** Whether `userId` may mute, as far as the list alone says (no list: anyone may). */
export const muteAllowance = (list: MuteAllowList | undefined, userId: string): MuteAllowance => {
  if (list === undefined || list.users.includes(userId)) return { kind: 'allowed' };
  return list.groups.length === 0 ? { kind: 'refused' } : { kind: 'if-member', groups: list.groups };
};

// ---------------------------------------------------------------------------------------------
// A workload's silence: snoozed (from an incident of it) or muted (until unmuted)

/** A workload in a cluster: what a snooze and a mute silence. */
export interface WorkloadRef {
  cluster: string;
  namespace: string;
  kind: string;
  name: string;
}

export const workloadRefText = (workload: WorkloadRef): string =>
  `${workload.cluster}/${workload.namespace}/${workload.kind.toLowerCase()}/${workload.name}`;

/** `cluster/namespace/workload` as the CLI takes it (`workload` is `kind/name`, or a name: any kind). */
export const parseWorkloadArgument = (
  text: string,
): { cluster: string; namespace: string; kind?: string; name: string } | undefined => {
  const parts = text.split('/');
  if (parts.length === 3 && parts.every((part) => part !== ''))
    return { cluster: parts[0]!, namespace: parts[1]!, name: parts[2]! };
  if (parts.length === 4 && parts.every((part) => part !== ''))
    return { cluster: parts[0]!, namespace: parts[1]!, kind: parts[2]!, name: parts[3]! };
  return undefined;
};

export interface WorkloadSnooze extends Actor {
  at: number;
  until: number;
  /** The incident it was snoozed from ("until resolved" ends with that incident). */
  subjectId: string;
  untilResolved: boolean;
}

export interface WorkloadMute extends Actor {
  workload: WorkloadRef;
  at: number;
  /** The incident it was muted from. */
  subjectId: string;
}

/** The stored mute a `muted` record makes of a workload. */
export const muteOf = (
  record: Pick<ActionRecord, 'userId' | 'userName' | 'at'>,
  workload: WorkloadRef,
  subjectId: string,
): WorkloadMute => ({ workload, userId: record.userId, userName: record.userName, at: record.at, subjectId });

export interface WorkloadSilence {
  snooze?: WorkloadSnooze;
  mute?: WorkloadMute;
}

export type Silenced =
  | { silenced: false }
  | { silenced: true; by: 'mute'; mute: WorkloadMute }
  | { silenced: true; by: 'snooze'; snooze: WorkloadSnooze };

/** Whether a workload's incidents are silenced at `now`: muted, or snoozed and not yet over. */
export const silenceAt = (silence: WorkloadSilence, now: number): Silenced => {
  if (silence.mute !== undefined) return { silenced: true, by: 'mute', mute: silence.mute };
  if (silence.snooze !== undefined && now < silence.snooze.until)
    return { silenced: true, by: 'snooze', snooze: silence.snooze };
  return { silenced: false };
};

/** The workload snooze an incident's snooze puts in place. */
export const workloadSnoozeOf = (snooze: Snooze, subjectId: string): WorkloadSnooze => ({
  userId: snooze.userId,
  userName: snooze.userName,
  at: snooze.at,
  until: snooze.until,
  subjectId,
  untilResolved: snooze.untilResolved,
});

/** The controls' text as a terminal shows them (local mode without Slack). */
export const CONTROL_LABELS: Record<ActionKind, string> = {
  acknowledge: 'Acknowledge',
  snooze: 'Snooze',
  unsnooze: 'Unsnooze',
  mute: 'Mute workload',
  recheck: 'Re-check',
};
