/**
 * Slack, through @slack/web-api, behind a small interface. Errors are translated here into what
 * the caller must do about them:
 * - SlackRateLimited: not delivered; retry after `retryAfterSeconds` (short waits happen inline);
 * - SlackRejected: Slack answered `ok: false` (channel_not_found, invalid_blocks…): not delivered,
 *   and retrying will not help;
 * - SlackAuthRefused: the token was refused (invalid_auth, not_authed, account_inactive,
 *   token_revoked, token_expired): nothing was delivered; retrying helps once the token is fixed
 *   (a rotated secret is fetched again at once);
 * - SlackUnavailable: a timeout, a network error or a 5xx. For chat.postMessage the message may or
 *   may not exist now, so the caller must not simply post again (see functions/notify).
 *
 * A 429's Retry-After holds for every later call of the same method in this process, not only the
 * one that got it: until it has passed, a call waits (if the rest is short) or fails at once with
 * SlackRateLimited for what is left, without asking Slack.
 *
 * The client itself never retries (`retryConfig: { retries: 0 }`): a blind retry of chat.postMessage
 * after a timeout is exactly how a message gets posted twice. Idempotent calls (chat.update, history
 * lookups) are retried here, a few times and briefly, and counted.
 */
import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from '@slack/web-api';
import type { Block } from '#shared/slack-message';
import { METRIC, type PipelineMetrics } from './observability';
import { sleep } from './sleep';
import type { TokenSource } from './slack-token';

/** Written into each post's metadata, so that a post whose result was lost can be found again. */
export interface PostMarker {
  incidentId: string;
  postId: string;
}

export const POST_EVENT_TYPE = 'pullwatch_post';

export interface SlackPost {
  /** A channel id (C…, G…) or name. */
  channel: string;
  text: string;
  blocks: Block[];
  threadTs?: string;
  marker: PostMarker;
}

export interface PostedMessage {
  ts: string;
  channelId: string;
}

export interface Notifier {
  post(message: SlackPost): Promise<PostedMessage>;
  update(message: { channelId: string; ts: string; text: string; blocks: Block[] }): Promise<void>;
  /** A post with this marker sent since `since` (epoch ms), top-level or in `threadTs`'s thread. */
  findPost(
    where: { channel: string; threadTs?: string; since: number },
    marker: PostMarker,
  ): Promise<PostedMessage | undefined>;
}

/**
 * What the actions worker asks Slack besides posts: a user group's members (the mute allow-list),
 * and a message only one person sees (why their click did nothing).
 */
export interface SlackPeople {
  /** `usergroups.users.list` (scope usergroups:read); throws the errors above. */
  userGroupMembers(groupId: string): Promise<string[]>;
  /** `chat.postEphemeral`: shown to `user` only, in the channel (or thread) they acted in. */
  postEphemeral(message: { channel: string; user: string; text: string; threadTs?: string }): Promise<void>;
}

export class SlackRateLimited extends Error {
  override readonly name = 'SlackRateLimited';
  constructor(readonly retryAfterSeconds: number) {
    super(`Slack rate limit: retry after ${retryAfterSeconds} s`);
  }
}

export class SlackRejected extends Error {
  override readonly name = 'SlackRejected';
  constructor(readonly error: string) {
    super(`Slack refused the call: ${error}`);
  }
}

export class SlackUnavailable extends Error {
  override readonly name = 'SlackUnavailable';
}

/** Slack refused the token: nothing was delivered (the call never got past authentication). */
export class SlackAuthRefused extends Error {
  override readonly name = 'SlackAuthRefused';
  constructor(readonly error: string) {
    super(`Slack refused the bot token (SLACK_BOT_TOKEN): ${error}`);
  }
}

/** What `auth.test` said about the token. */
export type AuthCheck =
  | { kind: 'ok'; team?: string; user?: string }
  /** The token is refused: nothing will be posted until it is fixed. */
  | { kind: 'refused'; error: string }
  /** Slack could not be asked (network, 5xx, rate limit): says nothing about the token. */
  | { kind: 'unknown'; error: string };

/** Platform errors after which the same call can succeed later (Slack hiccuped). */
const TRANSIENT_PLATFORM_ERRORS = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'ratelimited',
  'request_timeout',
]);
const AUTH_ERRORS = new Set([
  'invalid_auth',
  'token_expired',
  'token_revoked',
  'not_authed',
  'account_inactive',
]);

export interface SlackNotifierOptions {
  tokens: TokenSource;
  /** The Web API base URL (GovSlack, a proxy, a test server); Slack's own by default. */
  slackApiUrl?: string;
  /** Per request. */
  timeoutMs: number;
  /** Retries of idempotent calls after a timeout or 5xx. */
  retries: number;
  /** A Retry-After up to this long is waited out inline; a longer one is thrown as SlackRateLimited. */
  maxInlineWaitMs: number;
  metrics: PipelineMetrics;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface HistoryMessage {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;
const LOOKUP_PAGES = 10;

export class SlackNotifier implements Notifier, SlackPeople {
  private clients = new Map<string, WebClient>();
  private channelIds = new Map<string, string>();
  /** Per Web API method: epoch ms before which Slack asked not to be called again (Retry-After). */
  private readonly pausedUntil = new Map<string, number>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: SlackNotifierOptions) {
    this.sleep = options.sleep ?? sleep;
    this.now = options.now ?? Date.now;
  }

  /** Asks Slack whether the token is good (`auth.test`), without throwing. */
  async checkAuth(): Promise<AuthCheck> {
    try {
      const response = await this.call('auth.test', true, (client) => client.auth.test());
      return {
        kind: 'ok',
        ...(response.team === undefined ? {} : { team: response.team }),
        ...(response.user === undefined ? {} : { user: response.user }),
      };
    } catch (error) {
      if (error instanceof SlackAuthRefused) return { kind: 'refused', error: error.error };
      if (error instanceof SlackRejected) return { kind: 'refused', error: error.error };
      return { kind: 'unknown', error: error instanceof Error ? error.message : String(error) };
    }
  }

  private async client(): Promise<WebClient> {
    const token = await this.options.tokens.token();
    let client = this.clients.get(token);
    if (client === undefined) {
      this.clients.clear();
      client = new WebClient(token, {
        ...(this.options.slackApiUrl === undefined ? {} : { slackApiUrl: this.options.slackApiUrl }),
        retryConfig: { retries: 0 },
        timeout: this.options.timeoutMs,
        rejectRateLimitedCalls: true,
        logLevel: LogLevel.ERROR,
      });
      this.clients.set(token, client);
    }
    return client;
  }

  /**
   * One Web API call, with Retry-After honoured inline when short, errors translated, and (for
   * idempotent calls only) retries after a timeout or 5xx.
   */
  private async call<T>(
    method: string,
    idempotent: boolean,
    run: (client: WebClient) => Promise<T>,
  ): Promise<T> {
    const { metrics } = this.options;
    for (let attempt = 0; ; attempt++) {
      // An earlier 429 of this method, here or in another call: wait it out, or say what is left.
      const pausedMs = (this.pausedUntil.get(method) ?? 0) - this.now();
      if (pausedMs > 0) {
        if (pausedMs > this.options.maxInlineWaitMs || attempt >= 3) {
          throw new SlackRateLimited(Math.ceil(pausedMs / 1000));
        }
        await this.sleep(pausedMs);
      }
      if (attempt > 0) metrics.count(METRIC.slackRetries);
      metrics.count(METRIC.slackCalls);
      try {
        return await run(await this.client());
      } catch (error) {
        if (error instanceof WebAPIRateLimitedError) {
          metrics.count(METRIC.slackRateLimited);
          const until = this.now() + error.retryAfter * 1000;
          this.pausedUntil.set(method, Math.max(until, this.pausedUntil.get(method) ?? 0));
          continue;
        }
        if (error instanceof WebAPIPlatformError) {
          const code = error.data.error;
          if (AUTH_ERRORS.has(code)) {
            this.options.tokens.invalidate();
            // Nothing got past authentication, so even a post can be tried again: once, in case the
            // secret was rotated since the token was read.
            if (attempt === 0 && this.options.tokens.refreshable === true) continue;
            metrics.count(METRIC.slackAuthRefused);
            throw new SlackAuthRefused(code);
          }
          if (TRANSIENT_PLATFORM_ERRORS.has(code)) {
            if (idempotent && attempt < this.options.retries) continue;
            throw new SlackUnavailable(`Slack answered ${code}`, { cause: error });
          }
          throw new SlackRejected(code);
        }
        if (error instanceof WebAPIHTTPError || error instanceof WebAPIRequestError) {
          if (idempotent && attempt < this.options.retries) {
            await this.sleep(200 * 2 ** attempt);
            continue;
          }
          throw new SlackUnavailable(error.message, { cause: error });
        }
        throw error;
      }
    }
  }

  async post(message: SlackPost): Promise<PostedMessage> {
    const response = await this.call('chat.postMessage', false, (client) =>
      client.chat.postMessage({
        channel: message.channel,
        text: message.text,
        blocks: message.blocks,
        ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
        metadata: {
          event_type: POST_EVENT_TYPE,
          event_payload: { incident_id: message.marker.incidentId, post_id: message.marker.postId },
        },
        // Cluster text must not turn into mentions, links or unfurls.
        parse: 'none',
        link_names: false,
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    if (response.ts === undefined || response.channel === undefined) {
      throw new SlackUnavailable('chat.postMessage answered ok without ts or channel');
    }
    return { ts: response.ts, channelId: response.channel };
  }

  async update(message: { channelId: string; ts: string; text: string; blocks: Block[] }): Promise<void> {
    await this.call('chat.update', true, (client) =>
      client.chat.update({
        channel: message.channelId,
        ts: message.ts,
        text: message.text,
        blocks: message.blocks,
        parse: 'none',
        link_names: false,
      }),
    );
  }

  async userGroupMembers(groupId: string): Promise<string[]> {
    const response = await this.call('usergroups.users.list', true, (client) =>
      client.usergroups.users.list({ usergroup: groupId }),
    );
    return response.users ?? [];
  }

  async postEphemeral(message: {
    channel: string;
    user: string;
    text: string;
    threadTs?: string;
  }): Promise<void> {
    // Not retried: a second copy of a note only one person sees is noise, not harm, but not needed.
    await this.call('chat.postEphemeral', false, (client) =>
      client.chat.postEphemeral({
        channel: message.channel,
        user: message.user,
        text: message.text,
        ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
        parse: 'none',
        link_names: false,
      }),
    );
  }

  /** A channel name (`#alerts` or `alerts`) becomes its id; history and replies need the id. */
  private async channelId(channel: string): Promise<string | undefined> {
    if (CHANNEL_ID.test(channel)) return channel;
    const name = channel.replace(/^#/, '');
    const known = this.channelIds.get(name);
    if (known !== undefined) return known;
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const response = await this.call('conversations.list', true, (client) =>
        client.conversations.list({
          types: 'public_channel,private_channel',
          exclude_archived: true,
          limit: 1000,
          ...(cursor === undefined ? {} : { cursor }),
        }),
      );
      for (const found of response.channels ?? []) {
        if (found.name !== undefined && found.id !== undefined) this.channelIds.set(found.name, found.id);
      }
      if (this.channelIds.has(name)) return this.channelIds.get(name);
      cursor = response.response_metadata?.next_cursor || undefined;
      if (cursor === undefined) return undefined;
    }
    return undefined;
  }

  async findPost(
    where: { channel: string; threadTs?: string; since: number },
    marker: PostMarker,
  ): Promise<PostedMessage | undefined> {
    const channelId = await this.channelId(where.channel);
    if (channelId === undefined) return undefined;
    // A minute of slack for clock skew between Lambda and Slack.
    const oldest = (Math.max(0, where.since - 60_000) / 1000).toFixed(6);
    let cursor: string | undefined;
    for (let page = 0; page < LOOKUP_PAGES; page++) {
      const args = {
        channel: channelId,
        oldest,
        inclusive: true,
        include_all_metadata: true,
        limit: 200,
        ...(cursor === undefined ? {} : { cursor }),
      };
      const method = where.threadTs === undefined ? 'conversations.history' : 'conversations.replies';
      const response = await this.call(method, true, (client) =>
        where.threadTs === undefined
          ? client.conversations.history(args)
          : client.conversations.replies({ ...args, ts: where.threadTs }),
      );
      const messages = (response.messages ?? []) as HistoryMessage[];
      const found = messages.find(
        (message) =>
          message.metadata?.event_type === POST_EVENT_TYPE &&
          message.metadata.event_payload?.incident_id === marker.incidentId &&
          message.metadata.event_payload?.post_id === marker.postId,
      );
      if (found?.ts !== undefined) return { ts: found.ts, channelId };
      cursor = response.response_metadata?.next_cursor || undefined;
      if (cursor === undefined) return undefined;
    }
    return undefined;
  }
}
