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
import type { StormMember, StormView } from '#shared/incident-storm';
import { type IncidentRegistryCheck, REGISTRY_CHECK_MARKS } from '#shared/registry-check/outcome';
import { withSuggestedTag } from '#shared/registry-check/suggested-fix';
import type { ForwarderView } from '#shared/watchdog';

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
/** Interactive controls (shared/slack-controls.ts): buttons and a select, each value ours. */
export interface ButtonElement {
  type: 'button';
  action_id: string;
  text: PlainText;
  value: string;
  style?: 'primary' | 'danger';
  confirm?: { title: PlainText; text: PlainText; confirm: PlainText; deny: PlainText };
}
export interface StaticSelectElement {
  type: 'static_select';
  action_id: string;
  placeholder: PlainText;
  options: Array<{ text: PlainText; value: string }>;
}
export interface ActionsBlock {
  type: 'actions';
  block_id: string;
  elements: Array<ButtonElement | StaticSelectElement>;
}
export type Block = HeaderBlock | SectionBlock | ContextBlock | DividerBlock | ActionsBlock;

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
  /** A few affected pods, failing ones first (the rest are counted). */
  pods: string[];
  /** The nodes of those pods, each once. */
  nodes: string[];
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
  /** What the image's registry answered, when the pipeline asked it. */
  registryCheck?: IncidentRegistryCheck;
}

export const MAX_PODS_SHOWN = 5;

/** The view of an incident, or undefined while it has nothing to show (no failure absorbed). */
export const incidentView = (
  incident: Incident,
  windows: IncidentWindows = DEFAULT_WINDOWS,
): IncidentView | undefined => {
  if (incident.latest === undefined || incident.status === 'pending') return undefined;
  const figures = figuresOf(incident, windows);
  const pods: string[] = [];
  const nodes: string[] = [];
  for (const sampled of incident.sample) {
    if (pods.length < MAX_PODS_SHOWN && !pods.includes(sampled.pod)) pods.push(sampled.pod);
    if (nodes.length < MAX_PODS_SHOWN && sampled.node !== '' && !nodes.includes(sampled.node))
      nodes.push(sampled.node);
  }
  return {
    incidentId: incidentIdOfIncident(incident),
    status: incident.status,
    key: incident.key,
    // The fix names the registry's nearest tag, as a suggestion, once a check found one.
    verdict: withSuggestedTag(incident.latest.verdict, incident.latest.registryCheck),
    reason: incident.latest.reason,
    occurrences: figures.occurrences,
    affectedPods: figures.affectedPods,
    failingContainers: figures.failingContainers,
    pods,
    nodes,
    ...(figures.firstSeen === undefined ? {} : { firstSeen: figures.firstSeen }),
    ...(figures.lastSeen === undefined ? {} : { lastSeen: figures.lastSeen }),
    ...(figures.endedAt === undefined ? {} : { endedAt: figures.endedAt }),
    ...(figures.resolveAt === undefined ? {} : { resolveAt: figures.resolveAt }),
    ...(incident.resolvedAt === undefined ? {} : { resolvedAt: incident.resolvedAt }),
    reopenCount: incident.reopenCount,
    resolutions: incident.resolutions,
    causeChanges: figures.causeChanges.map((change) => ({ ...change, title: ruleFor(change.cause).title })),
    ...(incident.latest.registryCheck === undefined ? {} : { registryCheck: incident.latest.registryCheck }),
  };
};

// ---------------------------------------------------------------------------------------------
// Rendering

/** A count as people read it: 2,995. */
const count = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;

/** A header block: plain text, cut to Slack's limit. */
const headerBlock = (title: string): HeaderBlock => ({
  type: 'header',
  text: {
    type: 'plain_text',
    text: title.length > SLACK_LIMITS.headerText ? `${title.slice(0, SLACK_LIMITS.headerText - 1)}…` : title,
    emoji: true,
  },
});

const header = (view: IncidentView): HeaderBlock =>
  headerBlock(`${view.status === 'resolved' ? 'Resolved: ' : ''}${view.verdict.title}`);

const section = (text: string): SectionBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: fit(text, SLACK_LIMITS.sectionText), verbatim: true },
});

/** Lines under a heading, split into sections that each fit Slack's limit. */
const sectionsOf = (heading: string, lines: readonly string[]): SectionBlock[] => {
  const sections: string[] = [];
  let current = heading;
  for (const line of lines) {
    if (current.length + 1 + line.length > SLACK_LIMITS.sectionText) {
      sections.push(current);
      current = line;
    } else {
      current = `${current}\n${line}`;
    }
  }
  sections.push(current);
  return sections.map(section);
};

/** A context block of mrkdwn elements, each cut to Slack's limit. */
const contextBlock = (texts: readonly string[]): ContextBlock => ({
  type: 'context',
  elements: texts
    .slice(0, SLACK_LIMITS.contextElements)
    .map((text) => ({ type: 'mrkdwn' as const, text: fit(text, SLACK_LIMITS.fieldText), verbatim: true })),
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
const fixSections = (view: IncidentView): SectionBlock[] =>
  sectionsOf(
    '*Fix*',
    view.verdict.fix.steps.map((step, index) => {
      const text = `${index + 1}. ${escapeClip(step.text, 600)}`;
      return step.command === undefined ? text : `${text}\n${codeBlock(step.command, 1200)}`;
    }),
  );

/**
 * "✔ confirmed from AWS Lambda in account … (eu-west-1) at 10:02: … has no tag 3.4.1; nearest: 3.4.0".
 * The summary and tags came from a registry: escaped like every cluster string.
 */
const registryCheckLines = (view: IncidentView): string[] => {
  const check = view.registryCheck;
  if (check === undefined) return [];
  const at = Date.parse(check.checkedAt);
  return [
    `*Registry check:* ${REGISTRY_CHECK_MARKS[check.outcome]} ${check.outcome} from ${escapeClip(oneLine(check.checkedFrom), 200)}${Number.isFinite(at) ? ` at ${slackDate(at)}` : ''}: ${escapeClip(oneLine(check.summary), 700)}`,
  ];
};

const causeChangeLines = (view: IncidentView): string[] =>
  view.causeChanges.map(
    (change) =>
      `:arrows_counterclockwise: *The registry's answer changed* at ${slackDate(change.at)}: now ${escapeMrkdwn(change.title)} (\`${escapeMrkdwn(change.incidentId)}\`).`,
  );

const alsoContext = (view: IncidentView): ContextBlock => {
  const pods = view.pods.map((pod) => code(pod, 120)).join(', ');
  const more =
    view.affectedPods > view.pods.length ? ` and ${count(view.affectedPods - view.pods.length)} more` : '';
  const nodes =
    view.nodes.length === 0
      ? ''
      : ` on ${view.nodes.map((node) => code(node, 120)).join(', ')}${view.affectedPods > view.pods.length ? ', …' : ''}`;
  const elements = [
    `*Affected:* ${plural(view.affectedPods, 'pod')} (${pods}${more})${nodes}, ${plural(view.occurrences, 'failed pull')}`,
    [
      view.firstSeen === undefined ? undefined : `*First seen:* ${slackDate(view.firstSeen)}`,
      view.lastSeen === undefined ? undefined : `*Last seen:* ${slackDate(view.lastSeen)}`,
    ]
      .filter((part) => part !== undefined)
      .join('  ·  '),
    `*Incident:* \`${escapeMrkdwn(view.incidentId)}\`  ·  ${link(view.verdict.fix.docs, 'Docs')}  ·  confidence ${Math.round(view.verdict.confidence * 100)}%`,
  ].filter((text) => text.length > 0);
  return contextBlock(elements);
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
    ...registryCheckLines(view).map(section),
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

/** Names the incident's workload, for replies in a storm's thread (shared by many incidents). */
const namedPrefix = (view: IncidentView, named: boolean): string =>
  named
    ? `${code(view.key.namespace, 120)} ${code(workloadRef(view.key.workload), 200)} (container ${code(view.key.container, 120)}): `
    : '';

export interface ReplyOptions {
  /** Say which incident it is about (the reply is in a storm's thread, not the incident's own). */
  named?: boolean;
}

/** The thread reply posted when an incident resolves: how long it lasted. */
export const renderResolutionReply = (view: IncidentView, options: ReplyOptions = {}): SlackMessage => {
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
    `${namedPrefix(view, options.named ?? false)}:white_check_mark: Resolved ${lasted}${span}: ${plural(view.affectedPods, 'pod')} affected, ${plural(view.occurrences, 'failed pull')}. Every affected container recovered or is gone.${again}`,
    SLACK_LIMITS.sectionText,
  );
  return { text, blocks: [section(text)] };
};

/** The thread reply posted when an incident reopens. */
export const renderReopenReply = (view: IncidentView, options: ReplyOptions = {}): SlackMessage => {
  const text = fit(
    `${namedPrefix(view, options.named ?? false)}:red_circle: Failing again: reopened (${plural(view.reopenCount, 'time')}). ${plural(view.failingContainers, 'container')} cannot pull the image.`,
    SLACK_LIMITS.sectionText,
  );
  return { text, blocks: [section(text)] };
};

// ---------------------------------------------------------------------------------------------
// The storm roll-up

/** Members listed by name in the roll-up; the rest are counted. */
export const MAX_STORM_MEMBERS_SHOWN = 40;

/**
 * Untrusted text for a plain_text header: one line, no invisible characters, and nothing that could
 * read as a mention, link or entity if a client parsed it anyway (`<` `>` `&` become ‹ › ＆;
 * broadcasts defused).
 */
const plainLine = (untrusted: string): string =>
  oneLine(untrusted)
    .replace(INVISIBLE, '')
    .replace(/&/g, '＆')
    .replace(/</g, '‹')
    .replace(/>/g, '›')
    .replace(BROADCAST, '@\u200b$1');

const stormHeader = (view: StormView): HeaderBlock => {
  const prefix = view.status === 'resolved' ? 'Resolved: ' : '';
  return headerBlock(
    plainLine(
      `${prefix}${view.title} (${view.registryName}): ${plural(view.workloads, 'workload')} in ${view.group.cluster}`,
    ),
  );
};

const stormStatusLine = (view: StormView): string => {
  const where = `${code(view.group.cluster)} (${escapeClip(oneLine(view.registryName), 200)})`;
  if (view.status === 'resolved') {
    return `:white_check_mark: *Over*: all ${plural(view.incidents, 'incident')} of this storm in ${where} resolved.`;
  }
  const states = [
    view.failing > 0 ? `${view.failing} failing` : undefined,
    view.recovering > 0 ? `${view.recovering} recovering` : undefined,
    view.resolved > 0 ? `${view.resolved} resolved` : undefined,
  ].filter((part) => part !== undefined);
  return `:rotating_light: *Storm*: ${plural(view.incidents, 'new incident')} with the same cause in ${where} since ${slackDate(view.openedAt)} (${states.join(', ')}). Each incident, with the fix for its workload, is in this thread.`;
};

const MEMBER_EMOJI = [':red_circle:', ':large_yellow_circle:', ':white_check_mark:'] as const;

const memberLine = (member: StormMember): string => {
  const rank = member.status === 'resolved' ? 2 : member.failingContainers > 0 ? 0 : 1;
  return `${MEMBER_EMOJI[rank]} ${code(member.namespace, 120)} ${code(workloadRef(member.workload), 200)} (container ${code(member.container, 120)}): ${plural(member.affectedPods, 'pod')}`;
};

/** The member list, split into sections that each fit Slack's limit. */
const memberSections = (view: StormView): SectionBlock[] => {
  const shown = view.members.slice(0, MAX_STORM_MEMBERS_SHOWN).map(memberLine);
  const hidden = view.members.length - shown.length;
  if (hidden > 0) shown.push(`…and ${plural(hidden, 'more incident')}.`);
  return sectionsOf('*Workloads*', shown);
};

/** A storm's roll-up: one top-level message for many incidents with one cause (see incident-storm.ts). */
export const renderStormMessage = (view: StormView): SlackMessage => {
  const blocks: Block[] = [
    stormHeader(view),
    section(stormStatusLine(view)),
    ...(view.explanation.trim() === '' ? [] : [section(`*Why*: ${escapeClip(view.explanation, 1200)}`)]),
    {
      type: 'section',
      fields: [
        field('Cluster', code(view.group.cluster)),
        field('Registry', escapeClip(oneLine(view.registryName), 200)),
        field('Cause', code(view.group.cause)),
        field('Affected', `${plural(view.workloads, 'workload')}, ${plural(view.affectedPods, 'pod')}`),
      ],
    },
    ...memberSections(view),
    { type: 'divider' },
    contextBlock([
      `*Storm:* \`${escapeMrkdwn(view.stormId)}\`  ·  *First:* ${slackDate(view.openedAt)}  ·  *Latest:* ${slackDate(view.lastJoinAt)}${view.docs === '' ? '' : `  ·  ${link(view.docs, 'Docs')}`}`,
    ]),
  ];
  const state = view.status === 'resolved' ? 'Resolved storm' : 'Storm';
  const text = fit(
    `${state}: ${escapeMrkdwn(oneLine(view.title))} (${escapeClip(oneLine(view.registryName), 200)}): ${plural(view.workloads, 'workload')} in ${escapeClip(oneLine(view.group.cluster), 200)} [${escapeMrkdwn(view.stormId)}]`,
    SLACK_LIMITS.fallbackText,
  );
  return { text, blocks: capBlocks(blocks) };
};

// ---------------------------------------------------------------------------------------------
// The watchdog

/** Where the forwarder runs (infra/k8s/forwarder): what the warning tells people to look at. */
export const FORWARDER_WORKLOAD = { namespace: 'pullwatch', deployment: 'pullwatch-forwarder' } as const;

/**
 * The warning posted when a cluster's forwarder goes silent; updated in place when it is back (the
 * thread reply says so too).
 */
export const renderSilenceWarning = (view: ForwarderView): SlackMessage => {
  const cluster = code(view.cluster);
  const { namespace, deployment } = FORWARDER_WORKLOAD;
  const back = view.backAt;
  const headline =
    back === undefined
      ? `:warning: *No heartbeat from pullwatch's forwarder in ${cluster}* since ${slackDate(view.silentSince)} (silent for more than ${formatDuration(view.silenceMs)}). Image pull failures in this cluster are not being reported until it is back.`
      : `:white_check_mark: *pullwatch's forwarder in ${cluster} is back* since ${slackDate(back)}, after ${formatDuration(back - view.silentSince)} without a heartbeat. Failures from that time are reported as the forwarder sees them again.`;
  const blocks: Block[] = [
    headerBlock(
      `${back === undefined ? 'Forwarder silent' : 'Resolved: forwarder silent'}: ${plainLine(view.cluster)}`,
    ),
    section(headline),
  ];
  if (back === undefined) {
    blocks.push(
      section(
        `*Check it* (with a kubeconfig for ${cluster}):\n${codeBlock(`kubectl -n ${namespace} get pods -l app.kubernetes.io/name=${deployment}`, 400)}\n${codeBlock(`kubectl -n ${namespace} logs deploy/${deployment} --tail=100`, 400)}\nA forwarder that runs but cannot reach EventBridge logs \`PutEvents failed\` (its IAM role, the bus, the network); \`kubectl -n ${namespace} describe pods -l app.kubernetes.io/name=${deployment}\` says why one does not run.`,
      ),
    );
  }
  blocks.push(
    contextBlock([
      `*Cluster:* ${cluster}  ·  *Silence:* #${view.silence}  ·  *Noticed:* ${slackDate(view.declaredAt)}  ·  *Forwarder:* ${code(view.forwarderVersion || 'unknown', 60)}`,
    ]),
  );
  const text =
    back === undefined
      ? `Forwarder silent: no heartbeat from ${escapeClip(oneLine(view.cluster), 200)} for more than ${formatDuration(view.silenceMs)}; its image pull failures are not being reported.`
      : `Forwarder back: ${escapeClip(oneLine(view.cluster), 200)} sends heartbeats again, after ${formatDuration(back - view.silentSince)}.`;
  return { text, blocks };
};

/** The thread reply posted (once) when a silent cluster's heartbeats return. */
export const renderForwarderBackReply = (view: ForwarderView): SlackMessage => {
  const back = view.backAt ?? view.declaredAt;
  const text = fit(
    `:white_check_mark: Back: heartbeats from ${code(view.cluster)} returned at ${slackDate(back)}, after ${formatDuration(back - view.silentSince)} of silence.`,
    SLACK_LIMITS.sectionText,
  );
  return { text, blocks: [section(text)] };
};
