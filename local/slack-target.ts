/**
 * Where local mode's messages go: real Slack when a token is configured (each call said on the
 * terminal, and the token checked with `auth.test` before anything starts), otherwise the terminal.
 */
import { ConfigError } from '../functions/_common/env';
import { type Notifier, SlackNotifier, type SlackPeople } from '../functions/_common/notifier';
import type { PipelineMetrics } from '../functions/_common/observability';
import type { LocalConfig } from './config';
import { EnvTokenSource, TerminalSlack } from './terminal-slack';

/** Wraps the Slack notifier so the terminal says what was sent where. */
const announcing = (notifier: Notifier, say: (line: string) => void): Notifier => ({
  post: async (message) => {
    const posted = await notifier.post(message);
    say(
      `Slack: ${message.threadTs === undefined ? 'posted' : 'replied in thread'} to ${message.channel}: ${message.text.slice(0, 140)}`,
    );
    return posted;
  },
  update: async (message) => {
    await notifier.update(message);
    say(`Slack: updated ${message.channelId} ${message.ts}: ${message.text.slice(0, 140)}`);
  },
  findPost: (where, marker) => notifier.findPost(where, marker),
});

export interface SlackTargetOptions {
  config: LocalConfig;
  metrics: PipelineMetrics;
  say: (line: string) => void;
  /** The terminal renderer's output and look (when Slack is not configured). */
  write: (text: string) => void;
  cwd: string;
  bold: (text: string) => string;
  width?: number;
}

export interface SlackTarget {
  notifier: Notifier;
  /** Slack's user groups and ephemeral messages (absent on the terminal: a user group cannot be checked). */
  people?: SlackPeople;
  /**
   * Asks Slack whether SLACK_BOT_TOKEN is good: throws a ConfigError naming it (never its value) if
   * Slack refuses it; returns a warning if Slack could not be asked; nothing when all is well.
   */
  check(): Promise<string | undefined>;
}

export const slackTarget = (options: SlackTargetOptions): SlackTarget => {
  const { config } = options;
  if (config.slack.kind !== 'slack') {
    return {
      notifier: new TerminalSlack({
        dataDir: config.dataDir,
        write: options.write,
        cwd: options.cwd,
        bold: options.bold,
        ...(options.width === undefined ? {} : { width: options.width }),
      }),
      check: () => Promise.resolve(undefined),
    };
  }
  const slack = new SlackNotifier({
    tokens: new EnvTokenSource(config.slack.token),
    ...(config.slack.apiUrl === undefined ? {} : { slackApiUrl: config.slack.apiUrl }),
    timeoutMs: 5000,
    retries: 2,
    maxInlineWaitMs: 3000,
    metrics: options.metrics,
  });
  return {
    notifier: announcing(slack, options.say),
    people: slack,
    check: async () => {
      const auth = await slack.checkAuth();
      if (auth.kind === 'refused') {
        throw new ConfigError(
          `Slack refused SLACK_BOT_TOKEN (${auth.error}): set it to the bot token (xoxb-…) of an app installed in your workspace`,
        );
      }
      if (auth.kind === 'unknown') {
        return `could not check SLACK_BOT_TOKEN with Slack (${auth.error}); posts are retried until Slack answers`;
      }
      return undefined;
    },
  };
};
