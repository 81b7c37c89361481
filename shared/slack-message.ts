/**
 * The Slack message for an incident, rendered as Block Kit by a pure function.
 *
 * Every string that comes from a cluster (names, images, annotations, the registry's words, and the
 * fix commands and summary built from them) is untrusted. Before it reaches mrkdwn it is:
 * - escaped: `&`, `<` and `>` become entities, so `<!channel>`, `<!here>`, `<@U…>`, `<#C…>` and
 *   `<http…|…>` arrive as inert text;
 * - defused: a bare `@channel`, `@here` or `@everyone` gets a zero-width space after the `@`;
 * - cleaned: control and bidirectional-override characters are dropped (no spoofed display), and
 *   backticks inside code become `ˋ` so nothing breaks out of a code span;
 * - cut: by characters after escaping, never inside an entity, with `…` where it was cut.
 *
 * Slack's limits are respected: at most 50 blocks, 3,000 characters per section text, 2,000 per
 * field, 150 per header, 10 fields per section and 10 elements per context block.
 *
 * Pure: no AWS, Kubernetes or Slack imports (the block types below are the subset of Block Kit used).
 */
import { ruleFor } from '#shared/diagnosis/catalogue';
import type { CauseId } from '#shared/diagnosis/causes';
import type { Verdict } from '#shared/diagnosis/diagnose';
import {
  DEFAULT_WINDOWS,
  type Incident,
  type IncidentWindows,
  figuresOf,
  incidentIdOfIncident,
} from '#shared/incident';
import { type IncidentKey, workloadRef } from '#shared/incident-key';

// ---------------------------------------------------------------------------------------------
// Block Kit (the subset used here)

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface Mrkdwn {
  type: 'mrkdwn';
  text: string;
  verbatim?: boolean;
}
export interface HeaderBlock {
  type: 'header';
  text: PlainText;
}
export interface SectionBlock {
  type: 'section';
  text?: Mrkdwn;
  fields?: Mrkdwn[];
}
export interface ContextBlock {
  type: 'context';
  elements: Mrkdwn[];
}
export interface DividerBlock {
  type: 'divider';
}
export type Block = HeaderBlock | SectionBlock | ContextBlock | DividerBlock;

export interface SlackMessage {
  /** The plain-text fallback Slack shows in notifications (it is still parsed as mrkdwn: escaped too). */
  text: string;
  blocks: Block[];
}

export const SLACK_LIMITS = Object.freeze({
  blocks: 50,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  headerText: 150,
  contextElements: 10,
  /** Slack truncates a message's `text` beyond 40,000 characters; notifications show far less. */
  fallbackText: 3000,
});

// ---------------------------------------------------------------------------------------------
// Untrusted text

// C0/C1 controls except tab and newline; bidi embeddings, overrides and isolates; zero-width joiners
// that could hide a mention; the BOM.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
const BROADCAST = /@(channel|here|everyone)\b/gi;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Escapes and defuses one untrusted string for mrkdwn (no length limit). */
export const escapeMrkdwn = (untrusted: string): string =>
  untrusted
    .replace(INVISIBLE, '')
    .replace(/[&<>]/g, (c) => ENTITIES[c]!)
    .replace(BROADCAST, '@\u200b$1');

/** Escapes like escapeMrkdwn and cuts the result to `max` characters, never inside an entity. */
export const escapeClip = (untrusted: string, max: number): string => {
  const escaped = escapeMrkdwn(untrusted);
  if (escaped.length <= max) return escaped;
  return clipEscaped(escaped, max);
};

/** Cuts already-escaped text to `max` characters (with the ellipsis), backing off a cut entity or surrogate pair. */
const clipEscaped = (escaped: string, max: number): string => {
  if (escaped.length <= max) return escaped;
  if (max <= 1) return '…'.slice(0, Math.max(0, max));
  let end = max - 1;
  const amp = escaped.lastIndexOf('&', end - 1);
  if (amp !== -1 && amp >= end - 5 && escaped.indexOf(';', amp) >= end) end = amp;
  const code = escaped.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${escaped.slice(0, end)}…`;
};

/** One line of untrusted text (a name, an image): newlines become spaces. */
const oneLine = (untrusted: string): string => untrusted.replace(/[\r\n\t]+/g, ' ');

/** Untrusted text inside a code span or block: backticks would close it. */
const codeSafe = (untrusted: string): string => untrusted.replace(/`/g, 'ˋ');

/** An inline code span of one untrusted name, at most `max` characters inside. */
const code = (untrusted: string, max = 200): string =>
  `\`${escapeClip(codeSafe(oneLine(untrusted)), max) || ' '}\``;

/** A code block of untrusted text. */
const codeBlock = (untrusted: string, max: number): string =>
  `\`\`\`${escapeClip(codeSafe(untrusted).replace(/\r\n?/g, '\n'), max) || ' '}\`\`\``;

/** Cuts composed mrkdwn (already escaped) to a limit. */
const fit = (mrkdwn: string, max: number): string => clipEscaped(mrkdwn, max);

const HTTPS_URL = /^https:\/\/[^\s<>|&"]+$/;
/** A link only for a plain https URL; anything else is shown as (escaped) text. */
const link = (url: string, label: string): string =>
  HTTPS_URL.test(url) ? `<${url}|${escapeMrkdwn(label)}>` : escapeClip(url, 300);

// ---------------------------------------------------------------------------------------------
// Times

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Slack shows a date token in the reader's time zone; the fallback text is UTC. */
const slackDate = (ms: number): string =>
  `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${iso(ms).replace('T', ' ').replace('Z', ' UTC')}>`;

export const formatDuration = (ms: number): string => {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60)
    return seconds % 60 === 0 || minutes >= 10 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
};

// ---------------------------------------------------------------------------------------------
// The view: what a message shows, derived from an incident

export interface IncidentView {
  incidentId: string;
  status: 'open' | 'resolved';
  key: IncidentKey;
  verdict: Verdict;
  /** The kubelet's reason on the failure shown, e.g. ErrImagePull. */
  reason: string;
  occurrences: number;
  affectedPods: number;
  failingContainers: number;
  /** A few affected pods, failing ones first. */
  pods: string[];
  firstSeen?: number;
  lastSeen?: number;
  /** The last recovery, when nothing is failing. */
  endedAt?: number;
  /** When it resolves if nothing fails again (open, nothing failing). */
  resolveAt?: number;
  resolvedAt?: number;
  reopenCount: number;
  resolutions: number;
  causeChanges: Array<{ cause: CauseId; title: string; incidentId: string; at: number }>;
}

export const MAX_PODS_SHOWN = 5;

/** The view of an incident, or undefined while it has nothing to show (no failure absorbed). */
export const incidentView = (
  incident: Incident,
  windows: IncidentWindows = DEFAULT_WINDOWS,
): IncidentView | undefined => {
  if (incident.latest === undefined || incident.status === 'pending') return undefined;
  const figures = figuresOf(incident, windows);
  const containers = Object.values(incident.containers).sort(
    (a, b) =>
      Number(b.state === 'failing') - Number(a.state === 'failing') ||
      b.at - a.at ||
      (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0),
  );
  const pods: string[] = [];
  for (const container of containers) {
    if (pods.length >= MAX_PODS_SHOWN) break;
    if (!pods.includes(container.pod)) pods.push(container.pod);
  }
  return {
    incidentId: incidentIdOfIncident(incident),
    status: incident.status,
    key: incident.key,
    verdict: incident.latest.verdict,
    reason: incident.latest.reason,
    occurrences: figures.occurrences,
    affectedPods: figures.affectedPods,
    failingContainers: figures.failingContainers,
    pods,
    ...(figures.firstSeen === undefined ? {} : { firstSeen: figures.firstSeen }),
    ...(figures.lastSeen === undefined ? {} : { lastSeen: figures.lastSeen }),
    ...(figures.endedAt === undefined ? {} : { endedAt: figures.endedAt }),
    ...(figures.resolveAt === undefined ? {} : { resolveAt: figures.resolveAt }),
    ...(incident.resolvedAt === undefined ? {} : { resolvedAt: incident.resolvedAt }),
    reopenCount: incident.reopenCount,
    resolutions: incident.resolutions,
    causeChanges: figures.causeChanges.map((change) => ({ ...change, title: ruleFor(change.cause).title })),
  };
};

// ---------------------------------------------------------------------------------------------
// Rendering

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

const header = (view: IncidentView): HeaderBlock => {
  const prefix = view.status === 'resolved' ? 'Resolved: ' : '';
  const title = `${prefix}${view.verdict.title}`;
  return {
    type: 'header',
    text: {
      type: 'plain_text',
      text:
        title.length > SLACK_LIMITS.headerText ? `${title.slice(0, SLACK_LIMITS.headerText - 1)}…` : title,
      emoji: true,
    },
  };
};

const section = (text: string): SectionBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: fit(text, SLACK_LIMITS.sectionText), verbatim: true },
});

const field = (label: string, value: string): Mrkdwn => ({
  type: 'mrkdwn',
  text: fit(`*${label}*\n${value}`, SLACK_LIMITS.fieldText),
  verbatim: true,
});

const statusLine = (view: IncidentView): string => {
  if (view.status === 'resolved') {
    const lasted =
      view.firstSeen !== undefined && view.endedAt !== undefined
        ? ` after ${formatDuration(view.endedAt - view.firstSeen)}`
        : '';
    return `:white_check_mark: *Resolved*${lasted}: every affected container recovered or is gone.`;
  }
  const reopened = view.reopenCount > 0 ? ` (reopened ${plural(view.reopenCount, 'time')})` : '';
  if (view.failingContainers === 0 && view.resolveAt !== undefined) {
    return `:large_yellow_circle: *Recovering*${reopened}: nothing is failing now; resolves at ${slackDate(view.resolveAt)} unless it fails again.`;
  }
  return `:red_circle: *Failing*${reopened}: ${plural(view.failingContainers, 'container')} cannot pull the image.`;
};

const whereFields = (view: IncidentView): Mrkdwn[] => {
  const { key, verdict } = view;
  return [
    field('Cluster', code(key.cluster)),
    field('Namespace', code(key.namespace)),
    field('Workload', code(workloadRef(key.workload))),
    field('Container', code(key.container)),
    field('Image', code(key.image, 600)),
    field('Registry', escapeClip(oneLine(verdict.registry.displayName), 200)),
  ];
};

const EVIDENCE_CHARS = 900;

const registrySaid = (view: IncidentView): string => {
  const evidence = view.verdict.evidence.trim() || view.reason;
  return `*What the registry said* (${code(view.reason, 60)}):\n${codeBlock(evidence, EVIDENCE_CHARS)}`;
};

/** The fix as numbered steps, split into sections that each fit Slack's limit. */
const fixSections = (view: IncidentView): SectionBlock[] => {
  const steps = view.verdict.fix.steps.map((step, index) => {
    const text = `${index + 1}. ${escapeClip(step.text, 600)}`;
    return step.command === undefined ? text : `${text}\n${codeBlock(step.command, 1200)}`;
  });
  const sections: string[] = [];
  let current = '*Fix*';
  for (const step of steps) {
    if (current.length + 1 + step.length > SLACK_LIMITS.sectionText) {
      sections.push(current);
      current = step;
    } else {
      current = `${current}\n${step}`;
    }
  }
  sections.push(current);
  return sections.map(section);
};

const causeChangeLines = (view: IncidentView): string[] =>
  view.causeChanges.map(
    (change) =>
      `:arrows_counterclockwise: *The registry's answer changed* at ${slackDate(change.at)}: now ${escapeMrkdwn(change.title)} (\`${escapeMrkdwn(change.incidentId)}\`).`,
  );

const alsoContext = (view: IncidentView): ContextBlock => {
  const pods = view.pods.map((pod) => code(pod, 120)).join(', ');
  const more =
    view.affectedPods > view.pods.length ? ` and ${view.affectedPods - view.pods.length} more` : '';
  const elements = [
    `*Affected:* ${plural(view.affectedPods, 'pod')} (${pods}${more}), ${plural(view.occurrences, 'failed pull')}`,
    [
      view.firstSeen === undefined ? undefined : `*First seen:* ${slackDate(view.firstSeen)}`,
      view.lastSeen === undefined ? undefined : `*Last seen:* ${slackDate(view.lastSeen)}`,
    ]
      .filter((part) => part !== undefined)
      .join('  ·  '),
    `*Incident:* \`${escapeMrkdwn(view.incidentId)}\`  ·  ${link(view.verdict.fix.docs, 'Docs')}  ·  confidence ${Math.round(view.verdict.confidence * 100)}%`,
  ].filter((text) => text.length > 0);
  return {
    type: 'context',
    elements: elements
      .slice(0, SLACK_LIMITS.contextElements)
      .map((text) => ({ type: 'mrkdwn' as const, text: fit(text, SLACK_LIMITS.fieldText), verbatim: true })),
  };
};

/** The plain-text fallback: what a notification shows. */
const fallbackText = (view: IncidentView): string => {
  const { key, verdict } = view;
  const state = view.status === 'resolved' ? 'Resolved: ' : '';
  const where = `${key.cluster}/${key.namespace} ${workloadRef(key.workload)} (container ${key.container})`;
  return fit(
    `${escapeMrkdwn(state + verdict.title)}: ${escapeClip(oneLine(where), 400)}, image ${escapeClip(oneLine(key.image), 300)}. ${escapeClip(verdict.summary, 800)} [${escapeMrkdwn(view.incidentId)}]`,
    SLACK_LIMITS.fallbackText,
  );
};

/** The incident's top-level message (the same function renders it open and resolved). */
export const renderIncidentMessage = (view: IncidentView): SlackMessage => {
  const blocks: Block[] = [
    header(view),
    section(`${statusLine(view)}\n${escapeClip(view.verdict.summary, 1500)}`),
    ...causeChangeLines(view).map(section),
    { type: 'section', fields: whereFields(view).slice(0, SLACK_LIMITS.fields) },
    section(registrySaid(view)),
    section(`*Why*: ${escapeClip(view.verdict.explanation, 1200)}`),
    ...fixSections(view),
    { type: 'divider' },
    alsoContext(view),
  ];
  return { text: fallbackText(view), blocks: capBlocks(blocks) };
};

/** Keeps the first 49 blocks and the last (the context with the incident id) when there are too many. */
const capBlocks = (blocks: Block[]): Block[] =>
  blocks.length <= SLACK_LIMITS.blocks
    ? blocks
    : [...blocks.slice(0, SLACK_LIMITS.blocks - 1), blocks[blocks.length - 1]!];

/** The thread reply posted when an incident resolves: how long it lasted. */
export const renderResolutionReply = (view: IncidentView): SlackMessage => {
  const lasted =
    view.firstSeen !== undefined && view.endedAt !== undefined
      ? `after ${formatDuration(view.endedAt - view.firstSeen)}`
      : '';
  const span =
    view.firstSeen !== undefined && view.endedAt !== undefined
      ? ` (from ${slackDate(view.firstSeen)} to ${slackDate(view.endedAt)})`
      : '';
  const again = view.resolutions > 1 ? ` This is resolution number ${view.resolutions}.` : '';
  const text = fit(
    `:white_check_mark: Resolved ${lasted}${span}: ${plural(view.affectedPods, 'pod')} affected, ${plural(view.occurrences, 'failed pull')}. Every affected container recovered or is gone.${again}`,
    SLACK_LIMITS.sectionText,
  );
  return { text, blocks: [section(text)] };
};

/** The thread reply posted when an incident reopens. */
export const renderReopenReply = (view: IncidentView): SlackMessage => {
  const text = `:red_circle: Failing again: reopened (${plural(view.reopenCount, 'time')}). ${plural(view.failingContainers, 'container')} cannot pull the image.`;
  return { text, blocks: [section(text)] };
};
