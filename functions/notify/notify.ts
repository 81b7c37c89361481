/**
 * notify: incident events (through a queue) → Slack.
 *
 * An event only says "this incident changed". notify reads the incident and brings Slack in line
 * with it (level-triggered), so duplicates, reordering and lost events do no harm:
 * 1. the first post exists (exactly one; functions/_common/slack-posts.ts): at the top level, or,
 *    when the incident belongs to a storm, as a reply under the storm's roll-up. A new incident's
 *    first post is held for the storm hold, to learn whether a storm is forming
 *    (functions/notify/storm.ts, shared/incident-storm.ts); the scheduled tick comes back for it;
 * 2. it shows the current state (chat.update, at most once per update interval, except that a change
 *    of status (resolved, reopened) shows at once);
 * 3. each resolution has its reply saying how long it lasted (and each reopening its own), in the
 *    incident's thread, or in the roll-up's thread for a storm's member;
 * 4. for a storm's member: its entry in the bucket is current, and so is the roll-up.
 */
import type { Incident, IncidentWindows } from '#shared/incident';
import { parseIncidentEvent } from '#shared/incident-events';
import { isStorm, placementOf } from '#shared/incident-storm';
import {
  incidentView,
  renderIncidentMessage,
  renderReopenReply,
  renderResolutionReply,
} from '#shared/slack-message';
import { createQueueHandler, flushingMetrics, handleGroups, inParallel } from '../_common/batch';
import type { EventPublisher } from '../_common/event-publisher';
import {
  type IncidentRef,
  type IncidentSlackState,
  type Storms,
  type PostOwnerRef,
  type RenderRecord,
  type StoredStormHead,
  isStormRef,
} from '../_common/incident-store';
import { SlackRateLimited, SlackUnavailable } from '../_common/notifier';
import { METRIC, describeError } from '../_common/observability';
import {
  type PostDeps,
  type PostTarget,
  type RenderState,
  ensurePost,
  ensureRendered,
  isExpectedRetry,
} from '../_common/slack-posts';
import type { Route } from '#shared/routing';
import { awaitRollup, joinStorm, reconcileStorm, syncStormMember } from './storm';
import {
  type ActionDeps,
  incidentActions,
  snoozeEndedPostId,
  withIncidentControls,
} from '../_common/action-views';
import { renderSnoozeEndedReply } from '#shared/slack-controls';

export { PostInProgress, type RenderState } from '../_common/slack-posts';

export interface NotifyDeps extends PostDeps<PostOwnerRef>, ActionDeps {
  store: IncidentSlackState & Storms;
  route: (incident: Incident) => Route;
  windows: IncidentWindows;
  /** For rejected events (the dead-letter path). */
  publisher: EventPublisher;
  concurrency?: number;
  /** Back-off between lost storm joins (tests make it instant). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const MAIN_POST = 'main';
export const resolutionPostId = (resolution: number): string => `resolved-${resolution}`;
export const reopenPostId = (reopening: number): string => `reopened-${reopening}`;

/** What a render shows about status: open/resolved, and how often it reopened. */
const renderStatus = (incident: Incident): string => `${incident.status}#${incident.reopenCount}`;

/** Brings Slack in line with one incident; says whether its message is current (or still held). */
export const reconcileIncident = async (deps: NotifyDeps, ref: IncidentRef): Promise<RenderState> => {
  const stored = await deps.store.getIncident(ref);
  if (stored === undefined) return 'none';
  const view = incidentView(stored.incident, deps.windows);
  if (view === undefined) return 'none';
  const route = deps.route(stored.incident);
  if (route.muted) {
    deps.log.debug('incident muted by annotation', { incidentId: view.incidentId });
    return 'none';
  }

  // Where the first post goes: decided once, before it is claimed (the claim keeps it).
  const previous = stored.posts[MAIN_POST];
  const actions = await incidentActions(deps, ref, stored.incident, previous?.state === 'posted');
  if (actions?.silence.kind === 'muted') return 'none';
  if (actions?.silence.kind === 'snoozed') {
    await deps.store.markRenderDue(ref, actions.silence.until);
    return 'held';
  }
  let target: PostTarget = { channel: route.channel };
  let storm: StoredStormHead | undefined;
  if (previous === undefined) {
    storm = await joinStorm(deps, ref, stored, route.channel);
    if (storm !== undefined) {
      const placement = placementOf(storm.head, storm.member?.joinedAt, deps.now().getTime());
      if (placement.kind === 'hold') {
        await deps.store.markRenderDue(ref, placement.until);
        deps.metrics.count(METRIC.postsHeld);
        return 'held';
      }
      if (placement.kind === 'thread') {
        const rollup = await awaitRollup(deps, storm.head.ref);
        if (rollup.kind !== 'posted') return 'none';
        target = { channel: rollup.posted.channelId, threadTs: rollup.posted.ts };
      }
    }
  } else if (stored.storm !== undefined && stored.inStorm) {
    storm = await deps.store.getStormHead(stored.storm, view.incidentId);
  }

  const firstRender: RenderRecord = {
    version: stored.version,
    status: renderStatus(stored.incident),
    at: deps.now().getTime(),
  };
  const owner = { ref, posts: stored.posts, subjectId: view.incidentId };
  const main = await ensurePost(
    deps,
    owner,
    MAIN_POST,
    target,
    () => withIncidentControls(renderIncidentMessage(view), actions),
    firstRender,
  );
  if (main.kind !== 'posted') return 'none';
  const justPosted = previous?.state !== 'posted';
  const rendered = await ensureRendered(
    deps,
    ref,
    {
      version: stored.version,
      status: renderStatus(stored.incident),
      render: justPosted ? firstRender : stored.render,
    },
    main.posted,
    deps.windows.updateIntervalMs,
    () => withIncidentControls(renderIncidentMessage(view), actions),
  );

  // Replies go in the incident's own thread, or in the roll-up's thread when it is a storm's member
  // (a reply cannot have a thread of its own); there they name the workload.
  const stormThread = previous?.threadTs ?? target.threadTs;
  const thread: PostTarget = { channel: main.posted.channelId, threadTs: stormThread ?? main.posted.ts };
  const named = stormThread !== undefined;
  const { incident } = stored;
  if (incident.status === 'open' && incident.reopenCount > 0) {
    await ensurePost(deps, owner, reopenPostId(incident.reopenCount), thread, () =>
      renderReopenReply(view, { named }),
    );
  }
  if (actions?.endedSnooze !== undefined) {
    const ended = actions.endedSnooze;
    await ensurePost(deps, owner, snoozeEndedPostId(ended.seq), thread, () =>
      renderSnoozeEndedReply(view, ended, { named }),
    );
  }
  if (incident.status === 'resolved' && incident.resolutions > 0) {
    await ensurePost(deps, owner, resolutionPostId(incident.resolutions), thread, () =>
      renderResolutionReply(view, { named }),
    );
  }

  if (storm !== undefined && isStorm(storm.head)) {
    await syncStormMember(deps, storm.head.ref, storm.member, stored);
    await reconcileStorm(deps, storm.head.ref);
  }
  return rendered;
};

/**
 * The scheduled tick (every minute): posts held first posts whose storm hold has ended, and
 * brings throttled messages (incidents and roll-ups) up to date once their interval has passed; then
 * forgets the note (only the note it saw: one written since stays for the next tick).
 */
export const createNotifyTickHandler = (deps: NotifyDeps & { tickLimit?: number }) =>
  flushingMetrics(deps, async (): Promise<{ due: number; failed: number }> => {
    const due = await deps.store.renderDue(deps.now().getTime(), deps.tickLimit ?? 200);
    let failed = 0;
    await inParallel(due, deps.concurrency ?? 4, async (ref) => {
      try {
        const state = isStormRef(ref) ? await reconcileStorm(deps, ref) : await reconcileIncident(deps, ref);
        if (state !== 'throttled' && state !== 'held') await deps.store.clearRenderDue(ref, ref.dueAt);
      } catch (error) {
        failed++;
        deps.log[isExpectedRetry(error) ? 'info' : 'warn'](
          'due post or update not delivered; next tick retries',
          {
            ...ref,
            ...describeError(error),
          },
        );
      }
    });
    return { due: due.length, failed };
  });

export const createNotifyHandler = (deps: NotifyDeps) =>
  createQueueHandler(deps, {
    stage: 'notify',
    parse: (input): IncidentRef => {
      const { detail } = parseIncidentEvent(input);
      return { keyId: detail.keyId, generation: detail.generation };
    },
    handle: (items) =>
      handleGroups(items, {
        groupOf: (ref) => `${ref.keyId}#${ref.generation}`,
        concurrency: deps.concurrency ?? 4,
        handle: async ([first]) => {
          await reconcileIncident(deps, first!.item);
        },
        failed: (error, [first]) =>
          deps.log[isExpectedRetry(error) ? 'info' : 'warn']('Slack not brought up to date; will retry', {
            ...first!.item,
            ...describeError(error),
            ...(error instanceof SlackRateLimited ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
            uncertain: error instanceof SlackUnavailable,
          }),
      }),
  });
