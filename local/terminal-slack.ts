/**
 * Slack for local mode without a workspace: every message the notify handler sends is shown in the
 * terminal, and written as Block Kit JSON (`{"blocks": […]}`, ready to paste into Block Kit Builder)
 * under `<data>/slack/<incident id>/`. It implements the same Notifier the Lambda uses, so the notify
 * handler, its claims and its throttle run unchanged; posts are indexed on disk so a restarted local
 * mode still finds them (the handler's search for a post whose result was lost).
 *
 * Also: the token source for real Slack in local mode (the Lambda reads it from Secrets Manager).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Notifier, PostMarker, PostedMessage, SlackPost } from '../functions/_common/notifier';
import type { TokenSource } from '../functions/_common/slack-token';
import type { Block } from '#shared/slack-message';
import { renderFramed } from './render';

/** The Slack bot token from the environment (SLACK_BOT_TOKEN), for local mode. */
export class EnvTokenSource implements TokenSource {
  constructor(private readonly value: string) {}
  token(): Promise<string> {
    return Promise.resolve(this.value);
  }
  invalidate(): void {
    // Nothing to refresh: a rejected token stays rejected until the variable changes.
  }
}

interface IndexedPost {
  ts: string;
  channel: string;
  threadTs?: string;
  incidentId: string;
  postId: string;
  file: string;
  at: string;
}

export interface TerminalSlackOptions {
  /** The data folder; messages go under `<dataDir>/slack/`. */
  dataDir: string;
  write: (text: string) => void;
  now?: () => number;
  width?: number;
  bold?: (text: string) => string;
  /** Paths are shown relative to this (the working directory). */
  cwd?: string;
}

/** File-system-safe: incident ids and post ids are already safe, but never trust that. */
const safeName = (name: string): string => name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || '_';

export class TerminalSlack implements Notifier {
  private readonly dir: string;
  private readonly indexFile: string;
  private readonly posts: IndexedPost[] = [];
  private sequence = 0;
  private readonly now: () => number;

  constructor(private readonly options: TerminalSlackOptions) {
    this.dir = join(options.dataDir, 'slack');
    this.indexFile = join(this.dir, 'posts.jsonl');
    this.now = options.now ?? Date.now;
    mkdirSync(this.dir, { recursive: true });
    if (existsSync(this.indexFile)) {
      for (const line of readFileSync(this.indexFile, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          this.posts.push(JSON.parse(line) as IndexedPost);
        } catch {
          // A line cut by a crash: the post it named is searched for and re-sent if missing.
        }
      }
    }
  }

  /** Every message shown so far (this run and earlier ones), oldest first. */
  get posted(): readonly IndexedPost[] {
    return this.posts;
  }

  private nextTs(): string {
    // Unique and increasing across restarts: seconds, then a counter within this run.
    this.sequence++;
    return `${Math.floor(this.now() / 1000)}.${String(this.sequence).padStart(6, '0')}`;
  }

  private show(title: string, blocks: readonly Block[], file: string): void {
    const near = relative(this.options.cwd ?? process.cwd(), file);
    const where = near === '' || near.startsWith('..') ? file : near;
    this.options.write(
      `${renderFramed(title, blocks, `Block Kit JSON: ${where}`, {
        ...(this.options.width === undefined ? {} : { width: this.options.width }),
        ...(this.options.bold === undefined ? {} : { bold: this.options.bold }),
      })}\n`,
    );
  }

  private fileFor(marker: PostMarker): string {
    const folder = join(this.dir, safeName(marker.incidentId));
    mkdirSync(folder, { recursive: true });
    return join(folder, `${safeName(marker.postId)}.json`);
  }

  private static blockKit(blocks: readonly Block[]): string {
    return `${JSON.stringify({ blocks }, null, 2)}\n`;
  }

  post(message: SlackPost): Promise<PostedMessage> {
    const channel = message.channel.replace(/^#/, '');
    const file = this.fileFor(message.marker);
    writeFileSync(file, TerminalSlack.blockKit(message.blocks));
    const posted: IndexedPost = {
      ts: this.nextTs(),
      channel,
      ...(message.threadTs === undefined ? {} : { threadTs: message.threadTs }),
      incidentId: message.marker.incidentId,
      postId: message.marker.postId,
      file,
      at: new Date(this.now()).toISOString(),
    };
    appendFileSync(this.indexFile, `${JSON.stringify(posted)}\n`);
    this.posts.push(posted);
    const kind = message.threadTs === undefined ? 'new message' : 'thread reply';
    this.show(`Slack #${channel} · ${kind} · ${message.marker.incidentId}`, message.blocks, file);
    return Promise.resolve({ ts: posted.ts, channelId: channel });
  }

  update(message: { channelId: string; ts: string; text: string; blocks: Block[] }): Promise<void> {
    const post = this.posts.find(
      (candidate) => candidate.ts === message.ts && candidate.channel === message.channelId,
    );
    const file = post?.file ?? join(this.dir, `${safeName(message.ts)}.json`);
    writeFileSync(file, TerminalSlack.blockKit(message.blocks));
    this.show(
      `Slack #${message.channelId} · message updated · ${post?.incidentId ?? message.ts}`,
      message.blocks,
      file,
    );
    return Promise.resolve();
  }

  findPost(
    where: { channel: string; threadTs?: string; since: number },
    marker: PostMarker,
  ): Promise<PostedMessage | undefined> {
    const channel = where.channel.replace(/^#/, '');
    const found = this.posts.find(
      (post) =>
        post.channel === channel &&
        post.incidentId === marker.incidentId &&
        post.postId === marker.postId &&
        post.threadTs === where.threadTs,
    );
    return Promise.resolve(found === undefined ? undefined : { ts: found.ts, channelId: found.channel });
  }
}
