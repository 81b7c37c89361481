/**
 * notify's part in storms (the design and its trade-off: shared/incident-storm.ts): a new incident
 * joins its group's storm bucket before its first post, learns where that post goes (held, under the
 * roll-up, or at the top level), and keeps its entry in the bucket current so the roll-up can be
 * kept up to date. The roll-up is one more claimed post (`rollup`) in the bucket's item.
 */
import { incidentIdOfIncident } from '#shared/incident';
import {
  type StormMember,
  type StormRef,
  acceptsJoins,
  isStorm,
  memberChanged,
  newStormBucket,
  stormGroupIdOf,
  stormGroupOf,
  stormIdOf,
  stormMemberOf,
  stormView,
} from '#shared/incident-storm';
import { renderStormMessage } from '#shared/slack-message';
import { inParallel } from '../_common/batch';
import { ROLLUP_POST } from '../_common/post-ids';
import { sleep } from '../_common/sleep';
import type { IncidentRef, StoredIncident, StoredStorm, StoredStormHead } from '../_common/incident-store';
import { METRIC } from '../_common/observability';
import {
  type PostOutcome,
  PostInProgress,
  type RenderState,
  ensurePost,
  ensureRendered,
} from '../_common/slack-posts';
import type { IncidentSlackState, PostOwnerRef, Storms } from '../_common/incident-store';
import type { PostDeps } from '../_common/slack-posts';
import type { IncidentWindows } from '#shared/incident';
import {
  type ActionDeps,
  snoozeEndedPostId,
  activeStormSnooze,
  heldUntil,
  stormActions,
  withStormControls,
} from '../_common/action-views';
import { renderStormSnoozeEndedReply } from '#shared/slack-controls';

/** What notify's part in storms needs (notify's own deps include it). */
export interface StormDeps extends PostDeps<PostOwnerRef>, ActionDeps {
  store: IncidentSlackState;
  storms: Storms;
  windows: IncidentWindows;
  concurrency?: number;
  /** Back-off between lost storm joins (tests make it instant). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * Joins do not take turns (functions/_common/storm-store.ts); a join is read again only when a
 * bucket closed or another incident opened the group's next one since it was read.
 */
const MAX_JOIN_ATTEMPTS = 10;

export class StormJoinContended extends Error {
  override readonly name = 'StormJoinContended';
}

/**
 * The storm bucket an incident belongs to: the one it joined before (recorded in the incident, or
 * found among its group's latest buckets after a crash in between), else its group's current
 * bucket, joined now, else a new bucket it opens. Undefined when the incident has no verdict yet.
 * When the bucket is a storm, the incident (and, the first time, every member) is told so. Only the
 * bucket's head is read and written here (see shared/incident-storm.ts `StormHead`).
 */
export const joinStorm = async (
  deps: StormDeps,
  ref: IncidentRef,
  stored: StoredIncident,
  channel: string,
): Promise<StoredStormHead | undefined> => {
  const storm = await findOrJoinStorm(deps, ref, stored, channel);
  if (storm === undefined || !isStorm(storm.head)) return storm;
  if (!stored.inStorm) await deps.store.markInStorm(ref);
  if (!storm.activated) await activateStorm(deps, storm.head.ref);
  return storm;
};

/**
 * Tells every member of a bucket that has become a storm (markInStorm: from then on each of its
 * updates keeps its entry current) and brings the entries up to date, since until then they are left
 * as they joined (a bucket that never becomes a storm costs its members nothing per update). Told
 * first, read second: an update that read its incident before it was told was written before this
 * read, so its state is not missed. Repeatable; the bucket records when it is done.
 */
const activateStorm = async (deps: StormDeps, ref: StormRef): Promise<void> => {
  const storm = await deps.storms.getStorm(ref);
  if (storm === undefined || storm.activated) return;
  const { members } = storm.bucket;
  await inParallel(Object.values(members), deps.concurrency ?? 4, async (member) => {
    const incident = { keyId: member.keyId, generation: member.generation };
    await deps.store.markInStorm(incident);
    const stored = await deps.store.getIncident(incident);
    if (stored !== undefined) await syncStormMember(deps, ref, member, stored);
  });
  await deps.storms.markStormActivated(ref);
};

const findOrJoinStorm = async (
  deps: StormDeps,
  ref: IncidentRef,
  stored: StoredIncident,
  channel: string,
): Promise<StoredStormHead | undefined> => {
  const { store, storms } = deps;
  const incidentId = incidentIdOfIncident(stored.incident);
  if (stored.storm !== undefined) {
    const known = await storms.getStormHead(stored.storm, incidentId);
    if (known !== undefined) return known;
  }
  const group = stormGroupOf(stored.incident, channel);
  if (group === undefined) return undefined;
  const groupId = stormGroupIdOf(group);
  for (let attempt = 1; ; attempt++) {
    const now = deps.now().getTime();
    const latest = await storms.latestStormHeads(groupId, 2, incidentId);
    let joined = latest.find((storm) => storm.member !== undefined);
    if (joined === undefined) {
      const member = stormMemberOf(stored.incident, stored.version, now);
      const current = latest[0];
      if (current !== undefined && acceptsJoins(current.head, now)) {
        joined = await storms.joinStorm(current, member, now);
      } else {
        const seq = (current?.head.ref.seq ?? 0) + 1;
        const { members, ...head } = newStormBucket(
          { groupId, seq },
          group,
          stored.incident,
          member,
          now,
          deps.windows,
        );
        if (await storms.createStorm({ ...head, members })) {
          joined = { head, member: members[incidentId], activated: false };
        }
      }
      if (joined === undefined) {
        // Someone else opened the bucket, or it closed, since it was read: read again.
        if (attempt >= MAX_JOIN_ATTEMPTS)
          throw new StormJoinContended(`${incidentId}: ${attempt} storm joins lost in a row`);
        await (deps.sleep ?? sleep)(Math.floor((deps.random ?? Math.random)() * 20 * attempt));
        continue;
      }
      deps.metrics.count(METRIC.stormMembers);
      const bucket = joined.head;
      if (bucket.memberCount === bucket.threshold) {
        deps.metrics.count(METRIC.stormsDetected);
        deps.log.info('storm detected', {
          stormId: bucket.stormId,
          cluster: bucket.group.cluster,
          cause: bucket.group.cause,
          registry: bucket.group.registry,
          members: bucket.memberCount,
        });
      }
    }
    await store.setIncidentStorm(ref, joined.head.ref);
    return joined;
  }
};

/**
 * The roll-up exists, waiting a little while another invocation is posting it: at a storm's decision
 * time all its held members are released at once, and all but one find the roll-up being posted.
 * Still in progress after that: PostInProgress, and the member comes back (queue retry, next tick).
 */
export const awaitRollup = async (deps: StormDeps, ref: StormRef): Promise<PostOutcome> => {
  for (let attempt = 1; ; attempt++) {
    const storm = await deps.storms.getStorm(ref);
    if (storm === undefined) throw new Error(`storm ${stormIdOf(ref)} not found`);
    try {
      return await ensureRollup(deps, storm);
    } catch (error) {
      if (!(error instanceof PostInProgress) || attempt >= 4) throw error;
    }
    await (deps.sleep ?? sleep)(250 * attempt);
  }
};

/** The roll-up message exists (exactly once: a claimed post in the bucket's item). */
export const ensureRollup = async (deps: StormDeps, storm: StoredStorm): Promise<PostOutcome> => {
  const view = stormView(storm.bucket);
  const controls = await stormActions(deps, storm.bucket.ref, view);
  return ensurePost(
    deps,
    { ref: storm.bucket.ref, posts: storm.posts, subjectId: storm.bucket.stormId },
    ROLLUP_POST,
    { channel: storm.bucket.group.channel },
    () => withStormControls(renderStormMessage(view), controls),
    { version: storm.bucket.version, status: view.status, at: deps.now().getTime() },
  );
};

/** Keeps an incident's entry in its bucket current (the roll-up lists members and counts them). */
export const syncStormMember = async (
  deps: StormDeps,
  ref: StormRef,
  seen: StormMember | undefined,
  stored: StoredIncident,
): Promise<void> => {
  const member = stormMemberOf(stored.incident, stored.version, deps.now().getTime());
  if (memberChanged(seen, member)) await deps.storms.updateStormMember(ref, member);
};

/**
 * Brings a storm's roll-up in line with its bucket (throttled like an incident's message). While
 * the roll-up is snoozed nothing is updated (its timer comes back at the end); a snooze that ended
 * by itself while the storm is open gets one reply in the roll-up's thread.
 */
export const reconcileStorm = async (deps: StormDeps, ref: StormRef): Promise<RenderState> => {
  const storm = await deps.storms.getStorm(ref);
  if (storm === undefined || !isStorm(storm.bucket)) return 'none';
  const rollup = storm.posts[ROLLUP_POST];
  if (rollup?.state !== 'posted' || rollup.ts === undefined) return 'none';
  const view = stormView(storm.bucket);
  const actions = await stormActions(deps, ref, view);
  if (actions?.heldUntil !== undefined) {
    await deps.posts.markRenderDue(ref, actions.heldUntil);
    return 'held';
  }
  const posted = { ts: rollup.ts, channelId: rollup.channelId ?? rollup.channel };
  const message = () => withStormControls(renderStormMessage(view), actions);
  if (actions?.endedSnooze !== undefined) {
    const ended = actions.endedSnooze;
    const postId = snoozeEndedPostId(ended.seq);
    const first = storm.posts[postId]?.state !== 'posted';
    await ensurePost(
      deps,
      { ref, posts: storm.posts, subjectId: storm.bucket.stormId },
      postId,
      { channel: posted.channelId, threadTs: posted.ts },
      () => renderStormSnoozeEndedReply(view, ended),
    );
    // The roll-up still says "Snoozed by…" though nothing else may have changed: shown once, with the reply.
    if (first) await deps.notifier.update({ ...posted, ...message() });
  }
  return ensureRendered(
    deps,
    ref,
    { version: storm.bucket.version, status: view.status, render: storm.render },
    posted,
    deps.windows.updateIntervalMs,
    message,
  );
};

/**
 * Whether a member's posts wait for its roll-up's snooze (until when). The member's entry is kept
 * current meanwhile, so the roll-up is right when the snooze ends (and knows when the storm resolved).
 */
export const stormSnoozeHold = async (
  deps: StormDeps,
  storm: StoredStormHead,
  stored: StoredIncident,
): Promise<number | undefined> => {
  if (deps.actions === undefined || !isStorm(storm.head)) return undefined;
  const { ref } = storm.head;
  const snooze = await activeStormSnooze(deps, ref);
  if (snooze === undefined) return undefined;
  await syncStormMember(deps, ref, storm.member, stored);
  // "Until resolved" ends with the storm: only a resolved member can be its last one.
  if (snooze.untilResolved && stored.incident.status === 'resolved') {
    const full = await deps.storms.getStorm(ref);
    if (full === undefined || stormView(full.bucket).status === 'resolved') return undefined;
  }
  return heldUntil(snooze, deps.now().getTime());
};
