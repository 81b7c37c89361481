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
 *
 * Nothing depends on an event arriving: dedupe records every post a change makes due (the head's
 * `OWED` timer, functions/_common/owed-posts.ts), and each Slack fault sets a timer for its retry
 * (functions/_common/slack-posts.ts). The tick sweeps both, so a lost or dead-lettered event, a
 * crash, or a long Slack outage delays a post but never loses it; and a queue record whose retry is
 * scheduled that way is let go rather than retried blindly into the dead-letter queue.
 */
import type { Incident } from '#shared/incident';
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
  type RenderRecord,
  type StoredStormHead,
  isStormRef,
} from '../_common/incident-store';
import { SlackRateLimited, SlackUnavailable } from '../_common/notifier';
import type { OwedPosts } from '../_common/owed-posts';
import { METRIC, describeError } from '../_common/observability';
import { MAIN_POST, reopenPostId, resolutionPostId } from '../_common/post-ids';
import {
  type PostTarget,
  type RenderState,
  ensurePost,
  ensureRendered,
  isExpectedRetry,
  isRetryScheduled,
} from '../_common/slack-posts';
import type { Route } from '#shared/routing';
import {
  type StormDeps,
  awaitRollup,
  joinStorm,
  reconcileStorm,
  stormSnoozeHold,
  syncStormMember,
} from './storm';
import { incidentActions, snoozeEndedPostId, withIncidentControls } from '../_common/action-views';
import { renderSnoozeEndedReply } from '#shared/slack-controls';

export { PostInProgress, type RenderState } from '../_common/slack-posts';

export interface NotifyDeps extends StormDeps {
  /** Posts owed by changes (the sweep's index). */
  owed: OwedPosts;
  route: (incident: Incident) => Route;
  /** For rejected events (the dead-letter path). */
  publisher: EventPublisher;
}

/** What a render shows about status: open/resolved, and how often it reopened. */
const renderStatus = (incident: Incident): string => `${incident.status}#${incident.reopenCount}`;

/** What a reconcile did: whether the message is current, and what it read and posted. */
interface Reconciled {
  state: RenderState;
  /** The head's version read; undefined when there is no incident. */
  version?: number;
  /** Something is still to be done for this version (a held first post, a roll-up not posted yet). */
  pending: boolean;
  /** A post (first post or reply) was sent by this reconcile. */
  posted: boolean;
}

/** Brings Slack in line with one incident; says whether its message is current (or still held). */
export const reconcileIncident = async (deps: NotifyDeps, ref: IncidentRef): Promise<RenderState> => {
  const done = await reconcileOnce(deps, ref);
  // What this change owed is done: forget the debt (unless the head changed since it was read).
  if (done.posted && !done.pending && done.version !== undefined) {
    await deps.owed.settleOwed(ref, done.version);
  }
  return done.state;
};

const reconcileOnce = async (deps: NotifyDeps, ref: IncidentRef): Promise<Reconciled> => {
  const stored = await deps.store.getIncident(ref);
  if (stored === undefined) return { state: 'none', pending: false, posted: false };
  const { version } = stored;
  const nothing = (state: RenderState, pending = false): Reconciled => ({
    state,
    version,
    pending,
    posted: false,
  });
  const view = incidentView(stored.incident, deps.windows);
  if (view === undefined) return nothing('none');
  const route = deps.route(stored.incident);
  if (route.muted) {
    deps.log.debug('incident muted by annotation', { incidentId: view.incidentId });
    return nothing('none');
  }

  // Where the first post goes: decided once, before it is claimed (the claim keeps it).
  const previous = stored.posts[MAIN_POST];
  const actions = await incidentActions(deps, ref, stored.incident, previous?.state === 'posted');
  if (actions?.silence.kind === 'muted') return nothing('none');
  if (actions?.silence.kind === 'snoozed') {
    await deps.posts.markRenderDue(ref, actions.silence.until);
    return nothing('held');
  }
  let target: PostTarget = { channel: route.channel };
  let storm: StoredStormHead | undefined;
  if (previous === undefined) {
    storm = await joinStorm(deps, ref, stored, route.channel);
    if (storm !== undefined) {
      const placement = placementOf(storm.head, storm.member?.joinedAt, deps.now().getTime());
      if (placement.kind === 'hold') {
        await deps.posts.markRenderDue(ref, placement.until);
        deps.metrics.count(METRIC.postsHeld);
        return nothing('held', true);
      }
      if (placement.kind === 'thread') {
        const rollup = await awaitRollup(deps, storm.head.ref);
        // A roll-up refused for good: its members cannot be posted under it (nothing more to do).
        if (rollup.kind !== 'posted') return nothing('none');
        target = { channel: rollup.posted.channelId, threadTs: rollup.posted.ts };
      }
    }
  } else if (stored.storm !== undefined && stored.inStorm) {
    storm = await deps.storms.getStormHead(stored.storm, view.incidentId);
  }
  // A snoozed roll-up holds its members' posts and replies too.
  const stormHold = storm === undefined ? undefined : await stormSnoozeHold(deps, storm, stored);
  if (stormHold !== undefined) {
    await deps.posts.markRenderDue(ref, stormHold);
    return nothing('held');
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
  if (main.kind !== 'posted') return nothing('none');
  const justPosted = previous?.state !== 'posted';
  let posted = justPosted;
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
  const reply = async (postId: string, message: () => ReturnType<typeof renderReopenReply>) => {
    if (stored.posts[postId]?.state !== 'posted') posted = true;
    await ensurePost(deps, owner, postId, thread, message);
  };
  if (incident.status === 'open' && incident.reopenCount > 0) {
    await reply(reopenPostId(incident.reopenCount), () => renderReopenReply(view, { named }));
  }
  if (actions?.endedSnooze !== undefined) {
    const ended = actions.endedSnooze;
    const first = stored.posts[snoozeEndedPostId(ended.seq)]?.state !== 'posted';
    await ensurePost(deps, owner, snoozeEndedPostId(ended.seq), thread, () =>
      renderSnoozeEndedReply(view, ended, { named }),
    );
    // The message still says "Snoozed by…" though nothing else may have changed: shown once, with the reply.
    if (first && rendered !== 'updated') {
      await deps.notifier.update({
        ...main.posted,
        ...withIncidentControls(renderIncidentMessage(view), actions),
      });
    }
  }
  if (incident.status === 'resolved' && incident.resolutions > 0) {
    await reply(resolutionPostId(incident.resolutions), () => renderResolutionReply(view, { named }));
  }

  if (storm !== undefined && isStorm(storm.head)) {
    await syncStormMember(deps, storm.head.ref, storm.member, stored);
    await reconcileStorm(deps, storm.head.ref);
  }
  return { state: rendered, version, pending: false, posted };
};

/**
 * Posts owed by changes whose grace has ended by `until` (the tick: now; local mode's start: any,
 * since nothing of the previous run is still in flight). Each is reconciled, and its debt forgotten
 * once nothing is pending for the version read.
 */
export const sweepOwedPosts = async (
  deps: NotifyDeps,
  until: number,
  limit: number,
  /** Checked before each incident: a stopping process leaves the rest for the next sweep. */
  stopped: () => boolean = () => false,
): Promise<{ owed: number; failed: number; reconciled: Map<string, RenderState | 'failed'> }> => {
  const owed = await deps.owed.owedDue(until, limit);
  let failed = 0;
  const reconciled = new Map<string, RenderState | 'failed'>();
  await inParallel(owed, deps.concurrency ?? 4, async (ref) => {
    if (stopped()) return;
    try {
      const done = await reconcileOnce(deps, ref);
      reconciled.set(incidentKeyOf(ref), done.state);
      if (!done.pending) {
        if (done.version === undefined) return;
        if (await deps.owed.settleOwed(ref, done.version)) deps.metrics.count(METRIC.owedPostsSwept);
      }
    } catch (error) {
      failed++;
      reconciled.set(incidentKeyOf(ref), 'failed');
      deps.log[isExpectedRetry(error) || isRetryScheduled(error) ? 'info' : 'warn'](
        'owed post not delivered; next tick retries',
        { keyId: ref.keyId, generation: ref.generation, ...describeError(error) },
      );
    }
  });
  return { owed: owed.length, failed, reconciled };
};

const incidentKeyOf = (ref: IncidentRef): string => `${ref.keyId}#${ref.generation}`;

/**
 * The scheduled tick (every minute): sweeps the posts changes still owe (sweepOwedPosts), retries
 * what a Slack fault left (its timer), posts held first posts whose storm hold has ended, and
 * brings throttled messages (incidents and roll-ups) up to date once their interval has passed; then
 * forgets the note (only the note it saw: one written since stays for the next tick).
 */
export const createNotifyTickHandler = (deps: NotifyDeps & { tickLimit?: number }) =>
  flushingMetrics(deps, async (): Promise<{ due: number; owed: number; failed: number }> => {
    const now = deps.now().getTime();
    const sweep = await sweepOwedPosts(deps, now, deps.tickLimit ?? 200);
    const due = await deps.store.renderDue(now, deps.tickLimit ?? 200);
    let failed = sweep.failed;
    await inParallel(due, deps.concurrency ?? 4, async (ref) => {
      // An incident the sweep just reconciled is not reconciled twice in one tick.
      const swept = isStormRef(ref) ? undefined : sweep.reconciled.get(incidentKeyOf(ref));
      if (swept === 'failed') return;
      try {
        const state =
          swept ?? (isStormRef(ref) ? await reconcileStorm(deps, ref) : await reconcileIncident(deps, ref));
        if (state !== 'throttled' && state !== 'held') await deps.posts.clearRenderDue(ref, ref.dueAt);
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
    return { due: due.length, owed: sweep.owed, failed };
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
          try {
            await reconcileIncident(deps, first!.item);
          } catch (error) {
            // The tick will come back for it (its timer is set): retrying the record blindly would
            // only spend its receives and dead-letter it before the lease or Retry-After has passed.
            if (!isRetryScheduled(error)) throw error;
            deps.log.info('Slack not brought up to date yet; the tick retries', {
              ...first!.item,
              ...describeError(error),
              ...(error instanceof SlackRateLimited ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
            });
          }
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
