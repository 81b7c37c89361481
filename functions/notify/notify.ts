/**
 * notify: incident events (through a queue) → Slack.
 *
 * An event only says "this incident changed". notify reads the incident and brings Slack in line
 * with it (level-triggered), so duplicates, reordering and lost events do no harm:
 * 1. the top-level message exists (exactly one);
 * 2. it shows the current state (chat.update, at most once per update interval, except that a change
 *    of status (resolved, reopened) shows at once);
 * 3. each resolution has its thread reply saying how long it lasted (and each reopening its own).
 *
 * Exactly one post, with a crash possible at any point:
 * - Before calling chat.postMessage, the post is claimed in the incident's item with a conditional
 *   write (`posts.<postId>`: token, lease). Only the claim's holder posts.
 * - After Slack answers, the `ts` is stored, conditional on still holding the claim.
 * - A crash between the two leaves a claim without `ts`. Nobody may take it over before its lease
 *   ends, and the lease is longer than the function's timeout, so by then the holder is dead and
 *   its request finished, one way or the other. The next attempt takes the claim over and first
 *   searches the channel (or thread) for a message carrying this post's marker in its metadata
 *   (`pullwatch_post`: incident id + post id), from the first claim's time on. Found: it adopts that
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
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type Incident, type IncidentWindows, incidentIdOfIncident } from '#shared/incident';
import { parseIncidentEvent } from '#shared/incident-events';
import {
  type IncidentView,
  type SlackMessage,
  incidentView,
  renderIncidentMessage,
  renderReopenReply,
  renderResolutionReply,
} from '#shared/slack-message';
import { inParallel, processBatch } from '../_common/batch';
import type { EventPublisher } from '../_common/event-publisher';
import type {
  IncidentRef,
  IncidentStore,
  PostRecord,
  RenderRecord,
  StoredIncident,
} from '../_common/incident-store';
import {
  type Notifier,
  type PostedMessage,
  SlackRateLimited,
  SlackRejected,
  SlackUnavailable,
} from '../_common/notifier';
import { type Log, METRIC, type PipelineMetrics, describeError } from '../_common/observability';
import type { Route } from './routing';

export interface NotifyDeps {
  store: IncidentStore;
  notifier: Notifier;
  route: (incident: Incident) => Route;
  windows: IncidentWindows;
  /** How long a claim on a post protects its holder: longer than the function's timeout. */
  leaseMs: number;
  /** For rejected events (the dead-letter path). */
  publisher: EventPublisher;
  log: Log;
  metrics: PipelineMetrics;
  now: () => Date;
  newToken: () => string;
  concurrency?: number;
}

export const MAIN_POST = 'main';
export const resolutionPostId = (resolution: number): string => `resolved-${resolution}`;
export const reopenPostId = (reopening: number): string => `reopened-${reopening}`;

/** Someone holds the claim on a post and may still be sending it: try again later. */
export class PostInProgress extends Error {
  override readonly name = 'PostInProgress';
}

type PostOutcome = { kind: 'posted'; posted: PostedMessage } | { kind: 'failed' };

interface Target {
  channel: string;
  threadTs?: string;
}

/** Makes sure a post exists exactly once (see the file comment). */
const ensurePost = async (
  deps: NotifyDeps,
  ref: IncidentRef,
  stored: StoredIncident,
  postId: string,
  target: Target,
  message: () => SlackMessage,
  render?: RenderRecord,
): Promise<PostOutcome> => {
  const { store, notifier, metrics, log } = deps;
  const previous: PostRecord | undefined = stored.posts[postId];
  if (previous?.state === 'posted' && previous.ts !== undefined) {
    return { kind: 'posted', posted: { ts: previous.ts, channelId: previous.channelId ?? previous.channel } };
  }
  if (previous?.state === 'failed') return { kind: 'failed' };
  const now = deps.now().getTime();
  if (previous !== undefined && previous.leaseUntil > now) {
    throw new PostInProgress(
      `${postId} of ${ref.keyId} is claimed until ${new Date(previous.leaseUntil).toISOString()}`,
    );
  }
  const token = deps.newToken();
  const claim: PostRecord = {
    state: 'claimed',
    token,
    channel: previous?.channelId ?? previous?.channel ?? target.channel,
    firstClaimedAt: previous?.firstClaimedAt ?? now,
    claimedAt: now,
    leaseUntil: now + deps.leaseMs,
    attempts: (previous?.attempts ?? 0) + 1,
  };
  if (!(await store.claimPost(ref, postId, claim, previous?.token))) {
    throw new PostInProgress(`${postId} of ${ref.keyId} was claimed by another invocation`);
  }
  const marker = { incidentId: incidentIdOfIncident(stored.incident), postId };

  if (previous !== undefined) {
    // An earlier attempt held the claim and never recorded a result: it may have posted.
    let found: PostedMessage | undefined;
    try {
      found = await notifier.findPost(
        {
          channel: claim.channel,
          ...(target.threadTs === undefined ? {} : { threadTs: target.threadTs }),
          since: claim.firstClaimedAt,
        },
        marker,
      );
    } catch (error) {
      if (error instanceof SlackRejected) {
        await store.markPost(ref, postId, token, 'failed', `earlier attempt unverifiable: ${error.error}`);
        metrics.count(METRIC.slackPostsFailed);
        log.error('a post may have been sent but cannot be checked; not posting again', {
          ...marker,
          error: error.error,
        });
        return { kind: 'failed' };
      }
      // Keep the claim (and the first claim's time): releasing it would let a later attempt post
      // without searching. After this lease, the next attempt searches again.
      await store.markPost(
        ref,
        postId,
        token,
        'uncertain',
        `search failed: ${describeError(error).errorMessage}`,
      );
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
    posted = await notifier.post({
      channel: claim.channel,
      text,
      blocks,
      ...(target.threadTs === undefined ? {} : { threadTs: target.threadTs }),
      marker,
    });
  } catch (error) {
    if (error instanceof SlackRateLimited) {
      await store.releasePost(ref, postId, token);
      throw error;
    }
    if (error instanceof SlackRejected) {
      await store.markPost(ref, postId, token, 'failed', error.error);
      metrics.count(METRIC.slackPostsFailed);
      log.error('Slack refused the post; it will not be retried', { ...marker, error: error.error });
      return { kind: 'failed' };
    }
    // A timeout, a 5xx or anything else: the post may exist. Keep the claim; after the lease the
    // next attempt searches for it before posting.
    await store.markPost(
      ref,
      postId,
      token,
      'uncertain',
      error instanceof Error ? error.message : String(error),
    );
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

/** Whether the top-level message shows the incident's current state. */
export type RenderState = 'current' | 'updated' | 'throttled' | 'busy' | 'none';

/**
 * Updates the top-level message if it shows an older state: at most once per update interval,
 * except that a change of status shows at once. A throttled update is noted in the item
 * (`renderDue`), and notify's scheduled tick comes back for it when the interval has passed.
 */
const ensureRendered = async (
  deps: NotifyDeps,
  ref: IncidentRef,
  stored: StoredIncident,
  view: IncidentView,
  main: PostedMessage,
  render: RenderRecord | undefined,
): Promise<RenderState> => {
  const status = renderStatus(stored.incident);
  if (render !== undefined && render.version >= stored.version) return 'current';
  const now = deps.now().getTime();
  const statusChanged = render?.status !== status;
  if (!statusChanged && render !== undefined && now - render.at < deps.windows.updateIntervalMs) {
    await deps.store.markRenderDue(ref, render.at + deps.windows.updateIntervalMs);
    return 'throttled';
  }
  const next: RenderRecord = { version: stored.version, status, at: now };
  if (!(await deps.store.claimRender(ref, next, render?.at))) return 'busy';
  const { text, blocks } = renderIncidentMessage(view);
  try {
    await deps.notifier.update({ channelId: main.channelId, ts: main.ts, text, blocks });
    deps.metrics.count(METRIC.slackUpdates);
    return 'updated';
  } catch (error) {
    // Give the slot back so that the retry updates the message.
    await deps.store.claimRender(ref, render ?? { version: 0, status: '', at: 0 }, next.at);
    throw error;
  }
};

/** What a render shows about status: open/resolved, and how often it reopened. */
const renderStatus = (incident: Incident): string => `${incident.status}#${incident.reopenCount}`;

/** Brings Slack in line with one incident; says whether the top-level message is current. */
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
  const firstRender: RenderRecord = {
    version: stored.version,
    status: renderStatus(stored.incident),
    at: deps.now().getTime(),
  };
  const main = await ensurePost(
    deps,
    ref,
    stored,
    MAIN_POST,
    { channel: route.channel },
    () => renderIncidentMessage(view),
    firstRender,
  );
  if (main.kind !== 'posted') return 'none';
  const justPosted = stored.posts[MAIN_POST]?.state !== 'posted';
  const rendered = await ensureRendered(
    deps,
    ref,
    stored,
    view,
    main.posted,
    justPosted ? firstRender : stored.render,
  );

  const thread: Target = { channel: main.posted.channelId, threadTs: main.posted.ts };
  const { incident } = stored;
  if (incident.status === 'open' && incident.reopenCount > 0) {
    await ensurePost(deps, ref, stored, reopenPostId(incident.reopenCount), thread, () =>
      renderReopenReply(view),
    );
  }
  if (incident.status === 'resolved' && incident.resolutions > 0) {
    await ensurePost(deps, ref, stored, resolutionPostId(incident.resolutions), thread, () =>
      renderResolutionReply(view),
    );
  }
  return rendered;
};

/**
 * The scheduled tick (every minute): brings throttled messages up to date once their interval has
 * passed, then forgets the note (only the note it saw: one written since stays for the next tick).
 */
export const createNotifyTickHandler =
  (deps: NotifyDeps & { tickLimit?: number }) => async (): Promise<{ due: number; failed: number }> => {
    try {
      const due = await deps.store.renderDue(deps.now().getTime(), deps.tickLimit ?? 200);
      let failed = 0;
      await inParallel(due, deps.concurrency ?? 4, async (ref) => {
        try {
          const state = await reconcileIncident(deps, ref);
          if (state !== 'throttled') await deps.store.clearRenderDue(ref, ref.dueAt);
        } catch (error) {
          failed++;
          deps.log.warn('throttled update not delivered; next tick retries', {
            ...ref,
            ...describeError(error),
          });
        }
      });
      return { due: due.length, failed };
    } finally {
      deps.metrics.flush();
    }
  };

export const createNotifyHandler =
  (deps: NotifyDeps) =>
  async (event: SQSEvent): Promise<SQSBatchResponse> => {
    try {
      return await processBatch(event, {
        stage: 'notify',
        parse: (input) => {
          const { detail } = parseIncidentEvent(input);
          return { keyId: detail.keyId, generation: detail.generation };
        },
        handle: async (items) => {
          const byIncident = new Map<string, { ref: IncidentRef; messageIds: string[] }>();
          for (const { record, item } of items) {
            const id = `${item.keyId}#${item.generation}`;
            const entry = byIncident.get(id) ?? { ref: item, messageIds: [] };
            entry.messageIds.push(record.messageId);
            byIncident.set(id, entry);
          }
          const failed = new Set<string>();
          await inParallel([...byIncident.values()], deps.concurrency ?? 4, async ({ ref, messageIds }) => {
            try {
              await reconcileIncident(deps, ref);
            } catch (error) {
              const level =
                error instanceof PostInProgress || error instanceof SlackRateLimited ? 'info' : 'warn';
              deps.log[level]('Slack not brought up to date; will retry', {
                ...ref,
                ...describeError(error),
                ...(error instanceof SlackRateLimited ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
                uncertain: error instanceof SlackUnavailable,
              });
              for (const messageId of messageIds) failed.add(messageId);
            }
          });
          return failed;
        },
        ...deps,
      });
    } finally {
      deps.metrics.flush();
    }
  };
