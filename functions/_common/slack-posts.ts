/**
 * Exactly-once Slack posts and throttled in-place updates, for any item that owns posts (an incident,
 * a storm's roll-up, a cluster's forwarder warnings).
 *
 * Exactly one post, with a crash possible at any point:
 * - Before calling chat.postMessage, the post is claimed in its item with a conditional write
 *   (`posts.<postId>`: token, lease, channel, thread). Only the claim's holder posts.
 * - After Slack answers, the `ts` is stored, conditional on still holding the claim.
 * - A crash between the two leaves a claim without `ts`. Nobody may take it over before its lease
 *   ends, and the lease is longer than the function's timeout, so by then the holder is dead and
 *   its request finished, one way or the other. The next attempt takes the claim over and first
 *   searches the channel (or thread) for a message carrying this post's marker in its metadata
 *   (`pullwatch_post`: subject id + post id), from the first claim's time on. Found: it adopts that
 *   `ts` and posts nothing. Not found: the earlier attempt never reached Slack, so it posts.
 * - The same holds when Slack's answer is lost (timeout, 5xx): the claim is kept as `uncertain`
 *   and resolved by that search after the lease.
 * - If the search itself is refused (missing `channels:history` scope, bot not in the channel), the
 *   post is marked failed rather than risk a second one: at most once when it cannot be checked.
 * - A 429, a refused token or a definite refusal (`ok: false`) means nothing was posted: the claim
 *   is released (429: retried after Retry-After; token: retried later, once it may be fixed) or
 *   marked failed (permanent: channel_not_found…, with what to do about it in the log line).
 *
 * Retries do not depend on whoever called: whenever a post is left to be tried again (a claim in
 * progress or uncertain, a 429, a refused token, a failed update), its owner's timer in the
 * `renderDue` index is set to when it may be tried (the lease's end, Retry-After…), and the scheduled
 * tick comes back for it, as often as it takes. The error thrown is then marked (isRetryScheduled), so
 * a queue consumer can let its record go instead of retrying it blindly and dead-lettering it.
 * The residual risk of a duplicate is a message deleted by a person before the search, or Slack's
 * history lagging a just-accepted message by more than the lease.
 */
import type { SlackMessage } from '#shared/slack-message';
import {
  type Notifier,
  type PostedMessage,
  SlackAuthRefused,
  SlackRateLimited,
  SlackRejected,
} from './notifier';
import { type Log, METRIC, type PipelineMetrics, describeError } from './observability';
import type { PostRecord, PostStore, RenderRecord } from './post-store';

export interface PostDeps<Ref> {
  /** Claims and render state of the posts' owners. */
  posts: PostStore<Ref>;
  notifier: Notifier;
  /** How long a claim on a post protects its holder: longer than the function's timeout. */
  leaseMs: number;
  log: Log;
  metrics: PipelineMetrics;
  now: () => Date;
  newToken: () => string;
}

/** Someone holds the claim on a post and may still be sending it: try again later. */
export class PostInProgress extends Error {
  override readonly name = 'PostInProgress';
}

/** After a refused token, how long before a post is tried again (the token may be fixed by then). */
export const AUTH_RETRY_MS = 60_000;

/** Errors after which the owner's timer was set: the tick retries, whatever the caller does. */
const scheduled = new WeakSet<object>();

/** Whether the tick will come back for what failed (see the file comment). */
export const isRetryScheduled = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && scheduled.has(error);

/** Sets the owner's timer to `at`, then marks `error` as scheduled (to be thrown). */
const scheduleRetry = async <Ref>(store: PostStore<Ref>, ref: Ref, at: number, error: unknown) => {
  await store.markRenderDue(ref, at);
  if (typeof error === 'object' && error !== null) scheduled.add(error);
  return error;
};

/** What Slack's refusal of a post means for whoever reads the log line. */
const refusalAdvice = (error: string, channel: string): string => {
  if (error === 'channel_not_found' || error === 'not_in_channel') {
    return `Slack refused the post to ${channel} (${error}): invite the bot to ${channel} (/invite @<your app>), or route to a channel it is in; this post will not be retried`;
  }
  if (error === 'is_archived') return `Slack refused the post to ${channel}: the channel is archived`;
  return `Slack refused the post to ${channel} (${error}); it will not be retried`;
};

export interface PostTarget {
  channel: string;
  /** Post as a reply in this thread. */
  threadTs?: string;
}

export type PostOutcome = { kind: 'posted'; posted: PostedMessage } | { kind: 'failed' };

/** The owner of posts, as ensurePost needs it: its reference, its posts as read, and its id for markers. */
export interface PostOwner<Ref> {
  ref: Ref;
  posts: Readonly<Record<string, PostRecord>>;
  /** An incident id, a storm id…: goes into each post's metadata marker. */
  subjectId: string;
}

/** Where a post was (or is being) sent: its claim's channel and thread win over `target`. */
export const targetOf = (record: PostRecord | undefined, target: PostTarget): PostTarget => {
  const threadTs = record?.threadTs ?? target.threadTs;
  return {
    channel: record?.channelId ?? record?.channel ?? target.channel,
    ...(threadTs === undefined ? {} : { threadTs }),
  };
};

/** Makes sure a post exists exactly once (see the file comment). */
export const ensurePost = async <Ref>(
  deps: PostDeps<Ref>,
  owner: PostOwner<Ref>,
  postId: string,
  target: PostTarget,
  message: () => SlackMessage,
  render?: RenderRecord,
): Promise<PostOutcome> => {
  const { posts: store, notifier, metrics, log } = deps;
  const { ref } = owner;
  const previous: PostRecord | undefined = owner.posts[postId];
  if (previous?.state === 'posted' && previous.ts !== undefined) {
    return { kind: 'posted', posted: { ts: previous.ts, channelId: previous.channelId ?? previous.channel } };
  }
  if (previous?.state === 'failed') return { kind: 'failed' };
  const now = deps.now().getTime();
  const marker = { incidentId: owner.subjectId, postId };
  if (previous !== undefined && previous.leaseUntil > now) {
    // Its holder may die with it: come back when the lease has ended.
    throw await scheduleRetry(
      store,
      ref,
      previous.leaseUntil,
      new PostInProgress(
        `${postId} of ${owner.subjectId} is claimed until ${new Date(previous.leaseUntil).toISOString()}`,
      ),
    );
  }
  const where = targetOf(previous, target);
  const token = deps.newToken();
  const claim: PostRecord = {
    state: 'claimed',
    token,
    channel: where.channel,
    ...(where.threadTs === undefined ? {} : { threadTs: where.threadTs }),
    firstClaimedAt: previous?.firstClaimedAt ?? now,
    claimedAt: now,
    leaseUntil: now + deps.leaseMs,
    attempts: (previous?.attempts ?? 0) + 1,
  };
  if (!(await store.claimPost(ref, postId, claim, previous?.token))) {
    throw new PostInProgress(`${postId} of ${owner.subjectId} was claimed by another invocation`);
  }
  /** Marks the claim failed for good: the post is not sent, now or later. */
  const giveUp = async (reason: string, why: string, slackError: string): Promise<PostOutcome> => {
    await store.markPost(ref, postId, token, 'failed', reason);
    metrics.count(METRIC.slackPostsFailed);
    log.error(why, { ...marker, error: slackError });
    return { kind: 'failed' };
  };
  /**
   * Keeps the claim, marked uncertain: after its lease, the next attempt searches before posting
   * (the tick's, if nobody else's). Returns `error`, to be thrown.
   */
  const keepUncertain = async (reason: string, error: unknown) => {
    await store.markPost(ref, postId, token, 'uncertain', reason);
    return scheduleRetry(store, ref, claim.leaseUntil, error);
  };
  /** Gives the claim back (nothing was posted) and comes back at `at`. Returns `error`, to be thrown. */
  const releaseUntil = async (at: number, error: unknown) => {
    await store.releasePost(ref, postId, token);
    return scheduleRetry(store, ref, at, error);
  };

  if (previous !== undefined) {
    // An earlier attempt held the claim and never recorded a result: it may have posted.
    let found: PostedMessage | undefined;
    try {
      found = await notifier.findPost({ ...where, since: claim.firstClaimedAt }, marker);
    } catch (error) {
      if (error instanceof SlackRejected) {
        return giveUp(
          `earlier attempt unverifiable: ${error.error}`,
          `a post to ${where.channel} may have been sent but cannot be checked (${error.error}); not posting again`,
          error.error,
        );
      }
      // Keep the claim (and the first claim's time): releasing it would let a later attempt post
      // without searching. After this lease, the next attempt searches again (a refused token too:
      // the earlier attempt may have got through before it was revoked).
      throw await keepUncertain(`search failed: ${describeError(error).errorMessage}`, error);
    }
    if (found !== undefined) {
      await store.completePost(ref, postId, token, found, render);
      metrics.count(METRIC.slackPostsRecovered);
      log.info('adopted a post from an earlier attempt', { ...marker, ts: found.ts });
      return { kind: 'posted', posted: found };
    }
  }

  const { text, blocks } = message();
  let posted: PostedMessage;
  try {
    posted = await notifier.post({ ...where, text, blocks, marker });
  } catch (error) {
    if (error instanceof SlackRateLimited) {
      throw await releaseUntil(now + error.retryAfterSeconds * 1000, error);
    }
    if (error instanceof SlackAuthRefused) throw await releaseUntil(now + AUTH_RETRY_MS, error);
    if (error instanceof SlackRejected) {
      return giveUp(error.error, refusalAdvice(error.error, where.channel), error.error);
    }
    // A timeout, a 5xx or anything else: the post may exist. Keep the claim; after the lease the
    // next attempt searches for it before posting.
    metrics.count(METRIC.slackPostsUncertain);
    throw await keepUncertain(error instanceof Error ? error.message : String(error), error);
  }
  if (!(await store.completePost(ref, postId, token, posted, render))) {
    log.error('the claim on a post was taken over while posting: is the lease shorter than the timeout?', {
      ...marker,
    });
  }
  metrics.count(METRIC.slackPosts);
  return { kind: 'posted', posted };
};

/** Whether a message shows its subject's current state. `held`: not posted yet, on purpose. */
export type RenderState = 'current' | 'updated' | 'throttled' | 'busy' | 'held' | 'none';

export interface Renderable {
  /** The subject's version now: a render of an older version is out of date. */
  version: number;
  /** What the render shows about status; a change shows at once, whatever the throttle. */
  status: string;
  /** What the message last showed. */
  render: RenderRecord | undefined;
}

/**
 * Updates a posted message if it shows an older state: at most once per `intervalMs`, except that a
 * change of status shows at once. A throttled update is noted in the item (`renderDue`), and a
 * scheduled tick comes back for it when the interval has passed.
 */
export const ensureRendered = async <Ref>(
  deps: PostDeps<Ref>,
  ref: Ref,
  subject: Renderable,
  main: PostedMessage,
  intervalMs: number,
  message: () => SlackMessage,
): Promise<RenderState> => {
  const { render } = subject;
  if (render !== undefined && render.version >= subject.version) return 'current';
  const now = deps.now().getTime();
  const statusChanged = render?.status !== subject.status;
  if (!statusChanged && render !== undefined && now - render.at < intervalMs) {
    await deps.posts.markRenderDue(ref, render.at + intervalMs);
    return 'throttled';
  }
  const next: RenderRecord = { version: subject.version, status: subject.status, at: now };
  if (!(await deps.posts.claimRender(ref, next, render?.at))) return 'busy';
  const { text, blocks } = message();
  try {
    await deps.notifier.update({ channelId: main.channelId, ts: main.ts, text, blocks });
    deps.metrics.count(METRIC.slackUpdates);
    return 'updated';
  } catch (error) {
    // Give the slot back so that the retry updates the message.
    await deps.posts.claimRender(ref, render ?? { version: 0, status: '', at: 0 }, next.at);
    // A refusal (message_not_found…) would be refused again at every tick: the queue's retries and
    // dead-letter queue deal with it, as before.
    if (error instanceof SlackRejected) throw error;
    const wait = error instanceof SlackRateLimited ? error.retryAfterSeconds * 1000 : 0;
    throw await scheduleRetry(deps.posts, ref, now + wait, error);
  }
};

/** Whether an error means "try again later" rather than a fault worth a warning. */
export const isExpectedRetry = (error: unknown): boolean =>
  error instanceof PostInProgress || error instanceof SlackRateLimited || error instanceof SlackAuthRefused;
