/**
 * A local Slack Web API: a real HTTP server speaking the protocol @slack/web-api uses (POST
 * `/api/<method>`, form-encoded bodies with `blocks` and `metadata` as JSON strings, the token in
 * `Authorization: Bearer`). Point the client at it with `slackApiUrl: fakeSlack.apiUrl`.
 *
 * It keeps channels and messages (threads, metadata), user groups and ephemeral messages, records
 * every call, and can be told to answer the next calls of a method with a 429 and Retry-After, a
 * 5xx, an `ok: false` error, or to hang (before or after it has recorded the message, like a lost
 * response).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalServer, readBody } from './local-server';

export interface SlackCall {
  /** When the call arrived (epoch ms). */
  at: number;
  method: string;
  args: Record<string, unknown>;
  token?: string;
  status: number;
  error?: string;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  edits: number;
}

export type SlackFault =
  | { kind: 'rate-limit'; retryAfterSeconds: number }
  | { kind: 'status'; status: 500 | 502 | 503 }
  | { kind: 'error'; error: string }
  /** Never answers. `processed: true` keeps the message first (the answer is lost, not the request). */
  | { kind: 'hang'; processed?: boolean };

const JSON_FIELDS = new Set(['blocks', 'metadata', 'attachments']);

export class FakeSlack extends LocalServer {
  readonly calls: SlackCall[] = [];
  readonly messages: StoredMessage[] = [];
  private readonly channels = new Map<string, string>();
  private readonly faults = new Map<string, SlackFault[]>();
  private clock = 1_772_359_200;
  private sequence = 0;
  /** Tokens Slack accepts; any other gets `invalid_auth`. */
  readonly tokens = new Set<string>();
  /** How long every answer takes (a slow Slack). */
  latencyMs = 0;
  /** User groups (S…) and their members, for `usergroups.users.list`. */
  readonly userGroups = new Map<string, string[]>();
  /** Messages only one user sees (`chat.postEphemeral`). */
  readonly ephemerals: Array<{ channel: string; user: string; text: string; threadTs?: string }> = [];

  /** Message times follow this clock (epoch ms) when given; a fixed day otherwise. */
  private readonly now: (() => number) | undefined;
  private lastSeconds = 0;

  constructor(options: { token: string; channels: Record<string, string>; now?: () => number }) {
    super('fake Slack');
    this.now = options.now;
    this.tokens.add(options.token);
    for (const [name, id] of Object.entries(options.channels)) this.channels.set(name, id);
  }

  get apiUrl(): string {
    return `${this.origin}/api/`;
  }

  /** Faults for the next calls of `method`, one per call, in order. */
  inject(method: string, ...faults: SlackFault[]): void {
    this.faults.set(method, [...(this.faults.get(method) ?? []), ...faults]);
  }

  /** Forgets the faults not yet used. */
  clearFaults(): void {
    this.faults.clear();
  }

  /** Successful calls of a method. */
  succeeded(method: string): SlackCall[] {
    return this.calls.filter(
      (call) => call.method === method && call.status === 200 && call.error === undefined,
    );
  }

  /** Top-level messages (not thread replies). */
  topLevel(channelId?: string): StoredMessage[] {
    return this.messages.filter(
      (message) =>
        message.threadTs === undefined && (channelId === undefined || message.channel === channelId),
    );
  }

  repliesTo(ts: string): StoredMessage[] {
    return this.messages.filter((message) => message.threadTs === ts);
  }

  private nextTs(): string {
    this.sequence++;
    if (this.now !== undefined) {
      // Real time, as history's `oldest` filter expects; the fraction keeps each ts unique.
      this.lastSeconds = Math.max(this.lastSeconds, Math.floor(this.now() / 1000));
      return `${this.lastSeconds}.${String(this.sequence % 1_000_000).padStart(6, '0')}`;
    }
    return `${this.clock + Math.floor(this.sequence / 1000)}.${String(this.sequence % 1000).padStart(3, '0')}100`;
  }

  private channelId(channel: unknown): string | undefined {
    if (typeof channel !== 'string') return undefined;
    if ([...this.channels.values()].includes(channel)) return channel;
    return this.channels.get(channel.replace(/^#/, ''));
  }

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const method = (request.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const args: Record<string, unknown> = {};
    const contentType = request.headers['content-type'] ?? '';
    if (contentType.startsWith('application/json')) {
      Object.assign(args, JSON.parse(body || '{}'));
    } else {
      for (const [key, value] of new URLSearchParams(body)) {
        args[key] = JSON_FIELDS.has(key) ? JSON.parse(value) : value;
      }
    }
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const call: SlackCall = {
      at: Date.now(),
      method,
      args,
      ...(token === undefined ? {} : { token }),
      status: 200,
    };
    this.calls.push(call);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));

    const answer = (
      status: number,
      payload: Record<string, unknown>,
      headers: Record<string, string> = {},
    ) => {
      call.status = status;
      if (payload.ok === false) call.error = String(payload.error);
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify(payload));
    };

    const fault = this.faults.get(method)?.shift();
    if (fault?.kind === 'rate-limit') {
      answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfterSeconds) });
      return;
    }
    if (fault?.kind === 'status') {
      call.status = fault.status;
      response.writeHead(fault.status, { 'content-type': 'text/plain' });
      response.end('upstream error');
      return;
    }
    if (fault?.kind === 'error') {
      answer(200, { ok: false, error: fault.error });
      return;
    }
    if (token === undefined || !this.tokens.has(token)) {
      answer(200, { ok: false, error: token === undefined ? 'not_authed' : 'invalid_auth' });
      return;
    }
    if (fault?.kind === 'hang') {
      call.status = 0;
      if (fault.processed) this.apply(method, args);
      return; // never answered; stop() drops the connection
    }
    const result = this.apply(method, args);
    answer(200, result);
  }

  private apply(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'UPULLWATCH', team_id: 'TTEST' };
      case 'chat.postMessage': {
        const channel = this.channelId(args.channel);
        if (channel === undefined) return { ok: false, error: 'channel_not_found' };
        const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
        if (
          threadTs !== undefined &&
          !this.messages.some((m) => m.channel === channel && m.ts === threadTs)
        ) {
          return { ok: false, error: 'thread_not_found' };
        }
        const message: StoredMessage = {
          channel,
          ts: this.nextTs(),
          text: String(args.text ?? ''),
          ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
          ...(threadTs === undefined ? {} : { threadTs }),
          ...(args.metadata === undefined ? {} : { metadata: args.metadata as StoredMessage['metadata'] }),
          edits: 0,
        };
        this.messages.push(message);
        return { ok: true, channel, ts: message.ts, message: { text: message.text, ts: message.ts } };
      }
      case 'chat.update': {
        const channel = this.channelId(args.channel);
        const message = this.messages.find((m) => m.channel === channel && m.ts === args.ts);
        if (message === undefined) return { ok: false, error: 'message_not_found' };
        message.text = String(args.text ?? '');
        if (Array.isArray(args.blocks)) message.blocks = args.blocks;
        message.edits++;
        return { ok: true, channel, ts: message.ts };
      }
      case 'conversations.list': {
        const channels = [...this.channels].map(([name, id]) => ({ id, name }));
        return { ok: true, channels, response_metadata: { next_cursor: '' } };
      }
      case 'conversations.history':
      case 'conversations.replies': {
        const channel = this.channelId(args.channel);
        if (channel === undefined) return { ok: false, error: 'channel_not_found' };
        const oldest = Number(args.oldest ?? 0);
        const withMetadata = args.include_all_metadata === 'true' || args.include_all_metadata === true;
        const all =
          method === 'conversations.history'
            ? this.messages.filter((m) => m.channel === channel && m.threadTs === undefined).reverse()
            : this.messages.filter(
                (m) => m.channel === channel && (m.ts === args.ts || m.threadTs === args.ts),
              );
        const visible = all.filter((m) => Number(m.ts) >= oldest);
        const limit = Math.max(1, Number(args.limit ?? 100));
        const offset = Number(args.cursor ?? 0);
        const page = visible.slice(offset, offset + limit);
        const next = offset + limit < visible.length ? String(offset + limit) : '';
        return {
          ok: true,
          messages: page.map((m) => ({
            type: 'message',
            ts: m.ts,
            text: m.text,
            ...(m.threadTs === undefined ? {} : { thread_ts: m.threadTs }),
            ...(withMetadata && m.metadata !== undefined ? { metadata: m.metadata } : {}),
          })),
          has_more: next !== '',
          response_metadata: { next_cursor: next },
        };
      }
      case 'usergroups.users.list': {
        const users = this.userGroups.get(String(args.usergroup ?? ''));
        return users === undefined ? { ok: false, error: 'no_such_subteam' } : { ok: true, users };
      }
      case 'chat.postEphemeral': {
        const channel = this.channelId(args.channel);
        if (channel === undefined) return { ok: false, error: 'channel_not_found' };
        this.ephemerals.push({
          channel,
          user: String(args.user ?? ''),
          text: String(args.text ?? ''),
          ...(typeof args.thread_ts === 'string' ? { threadTs: args.thread_ts } : {}),
        });
        return { ok: true, message_ts: this.nextTs() };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}
