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
 * - A 429 or a definite refusal (`ok: false`) means nothing was posted: the claim is released
 *   (429: retried after Retry-After) or marked failed (permanent: channel_not_found…).
 * The residual risk of a duplicate is a message deleted by a person before the search, or Slack's
 * history lagging a just-accepted message by more than the lease.
 */
import type { SlackMessage } from '#shared/slack-message';
import { type Notifier, type PostedMessage, SlackRateLimited, SlackRejected } from './notifier';
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
    throw new PostInProgress(
      `${postId} of ${owner.subjectId} is claimed until ${new Date(previous.leaseUntil).toISOString()}`,
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
  /** Keeps the claim, marked uncertain: after its lease, the next attempt searches before posting. */
  const keepUncertain = (reason: string) => store.markPost(ref, postId, token, 'uncertain', reason);

  if (previous !== undefined) {
    // An earlier attempt held the claim and never recorded a result: it may have posted.
    let found: PostedMessage | undefined;
    try {
      found = await notifier.findPost({ ...where, since: claim.firstClaimedAt }, marker);
    } catch (error) {
      if (error instanceof SlackRejected) {
        return giveUp(
          `earlier attempt unverifiable: ${error.error}`,
          'a post may have been sent but cannot be checked; not posting again',
          error.error,
        );
      }
      // Keep the claim (and the first claim's time): releasing it would let a later attempt post
      // without searching. After this lease, the next attempt searches again.
      await keepUncertain(`search failed: ${describeError(error).errorMessage}`);
      throw error;
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
      await store.releasePost(ref, postId, token);
      throw error;
    }
    if (error instanceof SlackRejected) {
      return giveUp(error.error, 'Slack refused the post; it will not be retried', error.error);
    }
    // A timeout, a 5xx or anything else: the post may exist. Keep the claim; after the lease the
    // next attempt searches for it before posting.
    await keepUncertain(error instanceof Error ? error.message : String(error));
    metrics.count(METRIC.slackPostsUncertain);
    throw error;
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
    throw error;
  }
};

/** Whether an error means "try again later" rather than a fault worth a warning. */
export const isExpectedRetry = (error: unknown): boolean =>
  error instanceof PostInProgress || error instanceof SlackRateLimited;
