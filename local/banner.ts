/** What local mode says when it starts: where observations come from, where data and messages go. */
import { formatDuration } from '#shared/slack-message';
import type { KubeTarget } from './cluster';
import type { LocalConfig } from './config';
import type { Recording } from './recording';

/** The demo's one line on going further: a real cluster, real Slack. */
export const DEMO_NEXT_STEPS =
  'Your cluster: point KUBECONFIG at its kubeconfig, or run kubectl config use-context <name>, then npm start. Real Slack: set SLACK_BOT_TOKEN and PULLWATCH_SLACK_CHANNEL.';

export const describeWindows = (config: LocalConfig): string => {
  const w = config.windows;
  return `updates at most every ${formatDuration(w.updateIntervalMs)}, resolves after ${formatDuration(
    w.quietPeriodMs,
  )} quiet, reopens within ${formatDuration(w.reopenWindowMs)}, storm at ${w.stormThreshold} incidents in ${formatDuration(
    w.stormWindowMs,
  )}`;
};

export type LocalSource =
  | { kind: 'cluster'; target: KubeTarget }
  | {
      kind: 'replay';
      recording: Recording;
      file: string;
      speed: number;
      /** The built-in demo (./demo.ts): because there is no kubeconfig, or because it was asked for. */
      demo?: 'no-kubeconfig' | 'asked';
    };

export interface BannerOptions {
  config: LocalConfig;
  cluster: string;
  source: LocalSource;
  /** A path as the user should read it (relative to where they are, when it is below). */
  shown: (path: string) => string;
  slackFolder: string;
  bold: (text: string) => string;
}

/** Where messages go, in one line. */
export const slackLineOf = (options: Pick<BannerOptions, 'config' | 'shown' | 'slackFolder'>): string => {
  const { slack } = options.config;
  return slack.kind === 'slack'
    ? `Slack: posting to ${slack.channel}${slack.apiUrl === undefined ? '' : ` via ${slack.apiUrl}`}`
    : `Slack: not configured; messages are shown here and saved as Block Kit JSON in ${options.shown(options.slackFolder)} (set SLACK_BOT_TOKEN and PULLWATCH_SLACK_CHANNEL to post)`;
};

/** The start-up lines, in order. */
export const bannerLines = (options: BannerOptions): string[] => {
  const { config, cluster, source, shown, bold } = options;
  const slackLine = slackLineOf(options);
  if (source.kind === 'cluster') {
    return [
      bold(
        `pullwatch local mode · cluster ${cluster} (kubeconfig context ${source.target.context}, ${source.target.server})`,
      ),
      `data: ${shown(config.dataDir)} (incidents survive restarts) · ${slackLine}`,
      `windows: ${describeWindows(config)}`,
    ];
  }
  const lines: string[] = [];
  const pace = source.speed === 1 ? '' : ` at ${source.speed}× speed`;
  if (source.demo === undefined) {
    lines.push(bold(`pullwatch local mode · replaying ${shown(source.file)} as cluster ${cluster}${pace}`));
    if (source.recording.description) lines.push(source.recording.description);
  } else {
    lines.push(
      bold(
        `pullwatch demo · ${source.demo === 'no-kubeconfig' ? 'no kubeconfig on this machine, so this is a demo: ' : ''}the built-in recordings, played as cluster ${cluster}${pace}`,
      ),
    );
    if (source.recording.description) lines.push(source.recording.description);
    lines.push(DEMO_NEXT_STEPS);
  }
  lines.push(
    `data: ${shown(config.dataDir)} (${source.demo === undefined ? 'incidents survive restarts' : 'the demo’s own'}) · ${slackLine}`,
  );
  lines.push(`windows: ${describeWindows(config)}`);
  return lines;
};
