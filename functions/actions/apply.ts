/**
 * The interactions worker: applies one verified action (shared/incident-actions.ts decides what it
 * changes), then does what follows from it, each step idempotent so that a redelivery (a crash, a
 * lost answer) finishes the job without doing anything twice:
 * 1. the action state, by a write conditional on its version (functions/_common/incident-actions-store.ts);
 * 2. the workload's snooze or mute, and the snooze's timer (notify comes back when it ends);
 * 3. the re-check's reply in the thread (a claimed post, exactly once);
 * 4. the event on the bus (`IncidentAcknowledged`…, its id derived from the request: consumers drop repeats);
 * 5. the message itself, updated to show who did what (chat.update: repeatable).
 * A retry of a request already applied (same action_ts) redoes 2–5 from the record the first
 * attempt wrote, so a crash between 1 and 5 is repaired by Slack's or the queue's next delivery.
 *
 * A storm's roll-up takes the same actions: its snooze holds the roll-up and its members' posts
 * (functions/notify/storm.ts), its Mute mutes every workload it lists when clicked (bounded by
 * MAX_STORM_MEMBERS), its Re-check asks about a few of its images and answers in its thread.
 *
 * Before a mute, the allow-list (shared/incident-actions.ts `muteAllowance`): a user group's
 * members are asked of Slack (usergroups.users.list, cached briefly). Not a member, or Slack not
 * answering: the mute is refused (fail closed), the user told why in an ephemeral message, and logged.
 */
import { createHash } from 'node:crypto';
import { type IncidentWindows, incidentIdOfIncident } from '#shared/incident';
import {
  type ActionRecord,
  muteOf,
  type ActionRequest,
  type ActionSubject,
  type MuteAllowList,
  type WorkloadSnooze,
  applyAction,
  idempotencyKeyOf,
  muteAllowance,
  subjectIdOf,
  workloadRefText,
} from '#shared/incident-actions';
import { ACTION_DETAIL_TYPE, type ActionDetail, PIPELINE_SCHEMA_VERSION } from '#shared/incident-events';
import { stormIdOf, stormView } from '#shared/incident-storm';
import {
  type RegistryRecheck,
  STORM_RECHECK_IMAGES,
  renderRecheckReply,
  renderStormRecheckReply,
} from '#shared/slack-controls';
import { incidentView, renderIncidentMessage, renderStormMessage } from '#shared/slack-message';
import { type EventPublisher, publishAll } from '../_common/event-publisher';
import type { IncidentActions, WorkloadSilences } from '../_common/incident-actions-store';
import type { IncidentRef, IncidentSlackState, PostOwnerRef, Storms } from '../_common/incident-store';
import { inParallel } from '../_common/batch';
import type { SlackPeople } from '../_common/notifier';
import { METRIC, describeError } from '../_common/observability';
import type { CheckSubject } from '../_common/registry-check/check';
import type { PipelineRegistryCheck } from '../_common/registry-check/pipeline-checker';
import type { CachedUserGroups } from '../_common/user-groups';
import { MAIN_POST, ROLLUP_POST } from '../_common/post-ids';
import { type PostDeps, ensurePost } from '../_common/slack-posts';
import {
  heldUntil,
  incidentActions,
  stormActions,
  withIncidentControls,
  withStormControls,
  workloadOf,
  workloadsMutedFrom,
} from '../_common/action-views';

export interface ApplyDeps extends PostDeps<PostOwnerRef> {
  store: IncidentSlackState;
  storms: Storms;
  actions: IncidentActions & WorkloadSilences;
  publisher: EventPublisher;
  windows: IncidentWindows;
  /** The registry check (classify's, with its config): absent when it is off; a re-check then re-reads the state. */
  registryCheck?: Pick<PipelineRegistryCheck, 'ask'>;
  /** Who may mute (absent: anyone). */
  muteAllowList?: MuteAllowList;
  /** Slack's user groups, for the allow-list's groups (absent: a group can never be checked). */
  userGroups?: Pick<CachedUserGroups, 'inAny'>;
  /** Tells one user why their click did nothing. */
  people?: Pick<SlackPeople, 'postEphemeral'>;
}

export type ApplyResult = 'applied' | 'repaired' | 'unchanged' | 'unknown-incident' | 'refused';

export const recheckPostId = (actionTs: string): string => `recheck-${actionTs}`;

const eventIdOf = (subject: ActionSubject, key: string): string =>
  createHash('sha256')
    .update(`${subjectIdOf(subject)}|${key}`)
    .digest('hex')
    .slice(0, 32);

const iso = (ms: number) => new Date(ms).toISOString();

/** Asks the registry for a re-check, or says why it was not asked; never throws. */
const recheckRegistry = async (deps: ApplyDeps, subject: CheckSubject): Promise<RegistryRecheck> => {
  if (deps.registryCheck === undefined) return { kind: 'off' };
  try {
    const answer = await deps.registryCheck.ask(subject);
    return answer === undefined
      ? { kind: 'out-of-scope' }
      : { kind: 'answered', outcome: answer.outcome, summary: answer.summary };
  } catch (error) {
    deps.log.warn('registry check failed during a re-check', {
      image: subject.image,
      ...describeError(error),
    });
    return { kind: 'failed' };
  }
};

const MUTE_REFUSED = {
  'not-listed': 'You are not on the list of people allowed to mute workloads, so nothing was muted.',
  'not-member':
    'Only members of the user groups allowed to mute workloads may mute one; you are not in any of them, so nothing was muted.',
  unavailable:
    'Slack did not answer whether you are in a user group allowed to mute workloads, so nothing was muted (refused to be safe). Try again in a minute.',
} as const;

/**
 * Whether this request may go ahead: anything but a mute may; a mute by the allow-list. A refusal
 * changes nothing, is logged and counted, and is told to the user (best effort: they see nothing else).
 */
const muteGate = async (deps: ApplyDeps, request: ActionRequest): Promise<boolean> => {
  if (request.kind !== 'mute') return true;
  const { userId } = request.actor;
  const allowance = muteAllowance(deps.muteAllowList, userId);
  if (allowance.kind === 'allowed') return true;
  let reason: keyof typeof MUTE_REFUSED = 'not-listed';
  let error: unknown;
  if (allowance.kind === 'if-member') {
    try {
      if (deps.userGroups === undefined) throw new Error('no Slack client to ask about user groups');
      if (await deps.userGroups.inAny(allowance.groups, userId)) return true;
      reason = 'not-member';
    } catch (caught) {
      reason = 'unavailable';
      error = caught;
    }
  }
  deps.metrics.count(METRIC.interactionsRefused);
  deps.log.warn('mute refused by the allow-list', {
    reason,
    userId,
    subject: subjectIdOf(request.subject),
    ...(allowance.kind === 'if-member' ? { groups: allowance.groups } : {}),
    ...(error === undefined ? {} : describeError(error)),
  });
  if (deps.people !== undefined && request.channelId !== undefined) {
    await deps.people
      .postEphemeral({ channel: request.channelId, user: userId, text: `:no_entry: ${MUTE_REFUSED[reason]}` })
      .catch((failed: unknown) =>
        deps.log.warn('could not tell the user why the mute was refused', describeError(failed)),
      );
  }
  return false;
};

/** The record a request left: the one just applied, or (a retry) the one its first attempt wrote. */
const recordOf = async (
  deps: ApplyDeps,
  request: ActionRequest,
  outcome: Awaited<ReturnType<ApplyDeps['actions']['updateActions']>>,
): Promise<ActionRecord | undefined> => {
  if (outcome.kind === 'applied') {
    deps.metrics.count(METRIC.actionsApplied);
    return outcome.record;
  }
  if (outcome.why !== 'retry') return undefined;
  const key = idempotencyKeyOf(request);
  return (await deps.actions.getActions(request.subject)).timeline.find((entry) => entry.key === key);
};

export const applyActionRequest = async (deps: ApplyDeps, request: ActionRequest): Promise<ApplyResult> => {
  const { subject } = request;
  if (subject.kind === 'storm')
    return applyToStorm(deps, request, { groupId: subject.groupId, seq: subject.seq });
  const ref: IncidentRef = { keyId: subject.keyId, generation: subject.generation };
  const stored = await deps.store.getIncident(ref);
  if (stored === undefined) {
    deps.log.warn('action on an incident not in the store', {
      subject: subjectIdOf(subject),
      kind: request.kind,
    });
    return 'unknown-incident';
  }
  const { incident } = stored;
  if (!(await muteGate(deps, request))) return 'refused';
  const resolved = incident.status === 'resolved';
  const outcome = await deps.actions.updateActions(subject, (state) =>
    applyAction(state, request, deps.now().getTime(), resolved),
  );
  const record = await recordOf(deps, request, outcome);
  if (record === undefined) {
    deps.log.info('action changed nothing', {
      subject: subjectIdOf(subject),
      kind: request.kind,
      why: outcome.kind === 'unchanged' ? outcome.why : '',
    });
    return 'unchanged';
  }

  // 2. The workload's silence, and the timer that brings notify back when the snooze ends.
  const workload = workloadOf(incident);
  const subjectId = subjectIdOf(subject);
  if (record.kind === 'snoozed' && record.until !== undefined) {
    const snooze: WorkloadSnooze = {
      userId: record.userId,
      userName: record.userName,
      at: record.at,
      until: record.until,
      subjectId,
      untilResolved: record.choice === 'resolved',
    };
    await deps.actions.putSnooze(workload, snooze);
    await deps.posts.markRenderDue(ref, record.until);
  }
  if (record.kind === 'unsnoozed') await deps.actions.clearSnooze(workload, subjectId);
  if (record.kind === 'muted') await deps.actions.putMute(muteOf(record, workload, subjectId));

  // 3. The re-check, answered in the thread.
  const view = incidentView(incident, deps.windows);
  const main = stored.posts[MAIN_POST];
  const recheckPost = recheckPostId(request.actionTs);
  if (
    record.kind === 'rechecked' &&
    view !== undefined &&
    main?.state === 'posted' &&
    main.ts !== undefined &&
    stored.posts[recheckPost]?.state !== 'posted'
  ) {
    const checked = await recheckRegistry(deps, { cause: incident.key.cause, image: incident.key.image });
    const at = record.at;
    const by = record.userName;
    await ensurePost(
      deps,
      { ref, posts: stored.posts, subjectId: view.incidentId },
      recheckPost,
      { channel: main.channelId ?? main.channel, threadTs: main.threadTs ?? main.ts },
      () => renderRecheckReply(view, by, at, checked),
    );
  }

  // 4. The event, for other teams.
  const detail: ActionDetail = {
    schemaVersion: PIPELINE_SCHEMA_VERSION,
    eventId: eventIdOf(subject, record.key ?? idempotencyKeyOf(request)),
    incidentId: incidentIdOfIncident(incident),
    cluster: incident.key.cluster,
    namespace: incident.key.namespace,
    workload: incident.key.workload,
    by: { userId: record.userId, userName: record.userName },
    at: iso(record.at),
    ...(record.choice === undefined ? {} : { snooze: record.choice }),
    ...(record.until === undefined ? {} : { until: iso(record.until) }),
  };
  await publishAll(deps.publisher, [{ detailType: ACTION_DETAIL_TYPE[record.kind], detail }]);

  // 5. The message shows it.
  if (view !== undefined && main?.state === 'posted' && main.ts !== undefined) {
    const actions = await incidentActions(deps, ref, incident, true);
    const message = withIncidentControls(renderIncidentMessage(view), actions);
    await deps.notifier.update({ channelId: main.channelId ?? main.channel, ts: main.ts, ...message });
  }
  return outcome.kind === 'applied' ? 'applied' : 'repaired';
};

const applyToStorm = async (
  deps: ApplyDeps,
  request: ActionRequest,
  ref: { groupId: string; seq: number },
): Promise<ApplyResult> => {
  const storm = await deps.storms.getStorm(ref);
  if (storm === undefined) return 'unknown-incident';
  if (!(await muteGate(deps, request))) return 'refused';
  const view = stormView(storm.bucket);
  const { subject } = request;
  const outcome = await deps.actions.updateActions(subject, (state) =>
    applyAction(state, request, deps.now().getTime(), view.status === 'resolved'),
  );
  const record = await recordOf(deps, request, outcome);
  if (record === undefined) return 'unchanged';
  const key = record.key ?? idempotencyKeyOf(request);
  const subjectId = subjectIdOf(subject);
  const concurrency = 8;

  // 2. The roll-up's timer (notify holds it and its members meanwhile: functions/notify/storm.ts);
  // after an unsnooze, the held members are due at once; a mute mutes the workloads listed when clicked.
  if (record.kind === 'snoozed' && record.until !== undefined)
    await deps.posts.markRenderDue(
      ref,
      heldUntil({ until: record.until, untilResolved: record.choice === 'resolved' }, record.at),
    );
  if (record.kind === 'unsnoozed') {
    const now = deps.now().getTime();
    await inParallel(view.members, concurrency, (member) =>
      deps.posts.markRenderDue({ keyId: member.keyId, generation: member.generation }, now),
    );
  }
  const muted = record.kind === 'muted' ? workloadsMutedFrom(view, record.at) : [];
  await inParallel(muted, concurrency, async (workload) => {
    await deps.actions.putMute(muteOf(record, workload, subjectId));
  });

  // 3. The re-check, answered in the roll-up's thread.
  const rollup = storm.posts[ROLLUP_POST];
  const recheckPost = recheckPostId(request.actionTs);
  if (
    record.kind === 'rechecked' &&
    rollup?.state === 'posted' &&
    rollup.ts !== undefined &&
    storm.posts[recheckPost]?.state !== 'posted'
  ) {
    const images = [...new Set(view.members.map((member) => member.image))].slice(0, STORM_RECHECK_IMAGES);
    const checks = await Promise.all(
      images.map(async (image) => ({
        image,
        check: await recheckRegistry(deps, { cause: view.group.cause, image }),
      })),
    );
    const { userName, at } = record;
    await ensurePost(
      deps,
      { ref, posts: storm.posts, subjectId: storm.bucket.stormId },
      recheckPost,
      { channel: rollup.channelId ?? rollup.channel, threadTs: rollup.ts },
      () => renderStormRecheckReply(view, userName, at, checks),
    );
  }

  // 4. The events, for other teams: a mute is one WorkloadMuted per workload.
  const base = {
    schemaVersion: PIPELINE_SCHEMA_VERSION,
    stormId: stormIdOf(ref),
    cluster: storm.bucket.group.cluster,
    by: { userId: record.userId, userName: record.userName },
    at: iso(record.at),
    ...(record.choice === undefined ? {} : { snooze: record.choice }),
    ...(record.until === undefined ? {} : { until: iso(record.until) }),
  } satisfies Omit<ActionDetail, 'eventId'>;
  await publishAll(
    deps.publisher,
    record.kind === 'muted'
      ? muted.map((workload) => ({
          detailType: ACTION_DETAIL_TYPE.muted,
          detail: {
            ...base,
            eventId: eventIdOf(subject, `${key}|${workloadRefText(workload)}`),
            namespace: workload.namespace,
            workload: { kind: workload.kind, name: workload.name },
          } satisfies ActionDetail,
        }))
      : [
          {
            detailType: ACTION_DETAIL_TYPE[record.kind],
            detail: { ...base, eventId: eventIdOf(subject, key) } satisfies ActionDetail,
          },
        ],
  );

  // 5. The roll-up shows it.
  if (rollup?.state === 'posted' && rollup.ts !== undefined) {
    const actions = await stormActions(deps, ref, view);
    const message = withStormControls(renderStormMessage(view), actions);
    await deps.notifier.update({ channelId: rollup.channelId ?? rollup.channel, ts: rollup.ts, ...message });
  }
  return outcome.kind === 'applied' ? 'applied' : 'repaired';
};
