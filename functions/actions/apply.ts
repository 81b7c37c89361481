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
 */
import { createHash } from 'node:crypto';
import type { CauseId } from '#shared/diagnosis/causes';
import { type IncidentWindows, incidentIdOfIncident } from '#shared/incident';
import {
  type ActionRecord,
  type ActionRequest,
  type ActionSubject,
  type WorkloadSnooze,
  applyAction,
  idempotencyKeyOf,
  subjectIdOf,
} from '#shared/incident-actions';
import { ACTION_DETAIL_TYPE, type ActionDetail, PIPELINE_SCHEMA_VERSION } from '#shared/incident-events';
import { stormIdOf, stormView } from '#shared/incident-storm';
import type { RegistryCheck } from '#shared/registry-check/outcome';
import { renderRecheckReply } from '#shared/slack-controls';
import { incidentView, renderIncidentMessage, renderStormMessage } from '#shared/slack-message';
import { type EventPublisher, publishAll } from '../_common/event-publisher';
import type { IncidentActions, WorkloadSilences } from '../_common/incident-actions-store';
import type { IncidentRef, IncidentSlackState, PostOwnerRef, Storms } from '../_common/incident-store';
import { METRIC } from '../_common/observability';
import { MAIN_POST, ROLLUP_POST } from '../_common/post-ids';
import { type PostDeps, ensurePost } from '../_common/slack-posts';
import {
  incidentActions,
  stormControls,
  withIncidentControls,
  withStormControls,
  workloadOf,
} from '../_common/action-views';

export interface ApplyDeps extends PostDeps<PostOwnerRef> {
  store: IncidentSlackState;
  storms: Storms;
  actions: IncidentActions & WorkloadSilences;
  publisher: EventPublisher;
  windows: IncidentWindows;
  /** The registry check, where the function may reach registries; else a re-check re-reads the incident. */
  registryCheck?: (subject: {
    cause: CauseId;
    image: string;
  }) => Promise<Pick<RegistryCheck, 'outcome' | 'summary'>>;
}

export type ApplyResult = 'applied' | 'repaired' | 'unchanged' | 'unknown-incident';

export const recheckPostId = (actionTs: string): string => `recheck-${actionTs}`;

const eventIdOf = (subject: ActionSubject, key: string): string =>
  createHash('sha256')
    .update(`${subjectIdOf(subject)}|${key}`)
    .digest('hex')
    .slice(0, 32);

const iso = (ms: number) => new Date(ms).toISOString();

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
  const resolved = incident.status === 'resolved';
  const outcome = await deps.actions.updateActions(subject, (state) =>
    applyAction(state, request, deps.now().getTime(), resolved),
  );
  let record: ActionRecord | undefined;
  if (outcome.kind === 'applied') {
    record = outcome.record;
    deps.metrics.count(METRIC.actionsApplied);
  } else if (outcome.why === 'retry') {
    const key = idempotencyKeyOf(request);
    record = (await deps.actions.getActions(subject)).timeline.find((entry) => entry.key === key);
  }
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
  if (record.kind === 'muted')
    await deps.actions.putMute({
      workload,
      userId: record.userId,
      userName: record.userName,
      at: record.at,
      subjectId,
    });

  // 3. The re-check, answered in the thread.
  const view = incidentView(incident, deps.windows);
  const main = stored.posts[MAIN_POST];
  if (
    record.kind === 'rechecked' &&
    view !== undefined &&
    main?.state === 'posted' &&
    main.ts !== undefined
  ) {
    const checked =
      deps.registryCheck === undefined
        ? undefined
        : await deps
            .registryCheck({ cause: incident.key.cause, image: incident.key.image })
            .catch(() => undefined);
    const at = record.at;
    const by = record.userName;
    await ensurePost(
      deps,
      { ref, posts: stored.posts, subjectId: view.incidentId },
      recheckPostId(request.actionTs),
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
  const outcome = await deps.actions.updateActions(request.subject, (state) =>
    applyAction(state, request, deps.now().getTime()),
  );
  if (outcome.kind === 'unchanged' && outcome.why !== 'retry') return 'unchanged';
  if (outcome.kind === 'applied') deps.metrics.count(METRIC.actionsApplied);
  const key = idempotencyKeyOf(request);
  const record =
    outcome.kind === 'applied'
      ? outcome.record
      : (await deps.actions.getActions(request.subject)).timeline.find((entry) => entry.key === key);
  if (record !== undefined) {
    await publishAll(deps.publisher, [
      {
        detailType: ACTION_DETAIL_TYPE[record.kind],
        detail: {
          schemaVersion: PIPELINE_SCHEMA_VERSION,
          eventId: eventIdOf(request.subject, key),
          stormId: stormIdOf(ref),
          cluster: storm.bucket.group.cluster,
          by: { userId: record.userId, userName: record.userName },
          at: iso(record.at),
        } satisfies ActionDetail,
      },
    ]);
  }
  const rollup = storm.posts[ROLLUP_POST];
  if (rollup?.state === 'posted' && rollup.ts !== undefined) {
    const controls = await stormControls(deps, ref);
    const message = withStormControls(renderStormMessage(stormView(storm.bucket)), controls);
    await deps.notifier.update({ channelId: rollup.channelId ?? rollup.channel, ts: rollup.ts, ...message });
  }
  return outcome.kind === 'applied' ? 'applied' : 'repaired';
};
