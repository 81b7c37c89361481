/**
 * The controls on an incident's message and a storm's roll-up, and the lines that say what people
 * did ("Acknowledged by @alice at 10:04 UTC", "Snoozed by @bob until …"), added to a message the
 * renderers in slack-message.ts produced. Pure.
 *
 * User names come from Slack and are untrusted like cluster strings: one line, escaped and
 * defused (escapeMrkdwn), cut. They are shown as text, never as `<@U…>` mentions, so an
 * acknowledgement does not ping anyone.
 */
import {
  ACTION_ID,
  type ActionKind,
  type ActionState,
  type ActionSubject,
  CONTROL_LABELS,
  SNOOZE_CHOICES,
  SNOOZE_LABELS,
  type Snooze,
  encodeActionValue,
} from '#shared/incident-actions';
import {
  type ActionsBlock,
  type Block,
  type ButtonElement,
  type ContextBlock,
  type IncidentView,
  type SlackMessage,
  SLACK_LIMITS,
  escapeClip,
  formatDuration,
} from '#shared/slack-message';
import type { StormView } from '#shared/incident-storm';

export const CONTROLS_BLOCK_ID = 'pullwatch_controls';

/** What the controls of one message show: decided by the caller from the stored state and the clock. */
export interface ControlsView {
  subject: ActionSubject;
  acks: ActionState['acks'];
  /** The snooze in force (activeSnooze), if any. */
  snooze?: Snooze;
  /** The workload is muted (by whom); for a roll-up, its workloads (how many). */
  mutedBy?: { userName: string; at: number; workloads?: number };
  /** Offer Mute although mutedBy is set (a roll-up with workloads that joined since). */
  offerMute?: boolean;
  /** The message is resolved: no snooze control, the rest stay. */
  resolved: boolean;
}

const plain = (text: string) => ({ type: 'plain_text' as const, text, emoji: true });

/** A user name from Slack, inert: `@name`, one line, escaped, at most 80 characters. */
export const inertUser = (untrusted: string): string =>
  `@${escapeClip(untrusted.replace(/[\r\n\t]+/g, ' ').replace(/^@+/, ''), 80) || 'someone'}`;

/** 10:04 UTC (and the date when it is not the same day as `ref`). */
export const utcTime = (ms: number, ref = ms): string => {
  const at = new Date(ms).toISOString();
  const sameDay = at.slice(0, 10) === new Date(ref).toISOString().slice(0, 10);
  return `${sameDay ? '' : `${at.slice(0, 10)} `}${at.slice(11, 16)} UTC`;
};

/** Acknowledgers named in the message; the rest are counted. */
export const MAX_ACKS_SHOWN = 5;

export const acknowledgedLine = (acks: ActionState['acks']): string | undefined => {
  if (acks.length === 0) return undefined;
  const named = acks
    .slice(0, MAX_ACKS_SHOWN)
    .map((ack) => `${inertUser(ack.userName)} at ${utcTime(ack.at)}`);
  const more = acks.length - named.length;
  return `:eyes: Acknowledged by ${named.join(', ')}${more > 0 ? ` and ${n(more, 'other')}` : ''}`;
};

const SILENCED: Record<ActionSubject['kind'], string> = {
  incident: 'no updates or replies, nor new incidents of this workload in this cluster',
  storm: 'no updates of this roll-up, nor posts of its incidents (new ones joining it included)',
};

export const snoozedLine = (snooze: Snooze, kind: ActionSubject['kind'] = 'incident'): string =>
  snooze.untilResolved
    ? `:zzz: Snoozed by ${inertUser(snooze.userName)} at ${utcTime(snooze.at)} until resolved: ${SILENCED[kind]}`
    : `:zzz: Snoozed by ${inertUser(snooze.userName)} until ${utcTime(snooze.until, snooze.at)} (${formatDuration(snooze.until - snooze.at)}): ${SILENCED[kind]}`;

const mutedLine = (subject: ActionSubject, muted: NonNullable<ControlsView['mutedBy']>): string =>
  subject.kind === 'storm'
    ? `:no_bell: ${n(muted.workloads ?? 0, 'workload')} of this roll-up muted by ${inertUser(muted.userName)} at ${utcTime(muted.at)}`
    : `:no_bell: Workload muted by ${inertUser(muted.userName)} at ${utcTime(muted.at)}`;

const button = (
  kind: ActionKind,
  subject: ActionSubject,
  style?: 'primary' | 'danger',
  label = CONTROL_LABELS[kind],
): ButtonElement => ({
  type: 'button',
  action_id: ACTION_ID[kind],
  text: plain(label),
  value: encodeActionValue(subject),
  ...(style === undefined ? {} : { style }),
});

const MUTE_CONFIRM: Record<ActionSubject['kind'], { title: string; text: string; label: string }> = {
  incident: {
    label: CONTROL_LABELS.mute,
    title: 'Mute this workload?',
    text: 'Nothing is posted about this workload in this cluster until someone runs `pullwatch unmute`.',
  },
  storm: {
    label: 'Mute workloads',
    title: 'Mute every workload listed?',
    text: 'Each workload in this roll-up is muted in this cluster: nothing is posted about it until someone runs `pullwatch unmute` for it. Workloads that join later are not.',
  },
};

/** The same controls on an incident's message and on a roll-up (whose Mute mutes its workloads). */
export const controlsBlock = (view: ControlsView): ActionsBlock => {
  const { subject } = view;
  const elements: ActionsBlock['elements'] = [button('acknowledge', subject, 'primary')];
  if (!view.resolved) {
    elements.push(
      view.snooze !== undefined
        ? button('unsnooze', subject)
        : {
            type: 'static_select',
            action_id: ACTION_ID.snooze,
            placeholder: plain('Snooze…'),
            options: SNOOZE_CHOICES.map((choice) => ({
              text: plain(SNOOZE_LABELS[choice]),
              value: encodeActionValue(subject, choice),
            })),
          },
    );
  }
  if (view.mutedBy === undefined || view.offerMute === true) {
    const confirm = MUTE_CONFIRM[subject.kind];
    elements.push({
      ...button('mute', subject, 'danger', confirm.label),
      confirm: {
        title: plain(confirm.title),
        text: plain(confirm.text),
        confirm: plain('Mute'),
        deny: plain('Cancel'),
      },
    });
  }
  elements.push(button('recheck', subject));
  return { type: 'actions', block_id: CONTROLS_BLOCK_ID, elements };
};

const lineBlock = (texts: string[]): ContextBlock => ({
  type: 'context',
  elements: texts.map((text) => ({
    type: 'mrkdwn',
    text: text.slice(0, SLACK_LIMITS.fieldText),
    verbatim: true,
  })),
});

/**
 * The message with its controls: the lines saying who acknowledged and snoozed it after the status
 * (the second block), the controls last. Stays within Slack's 50 blocks (the last ones give way).
 */
export const withControls = (message: SlackMessage, view: ControlsView): SlackMessage => {
  const lines = [
    acknowledgedLine(view.acks),
    view.snooze === undefined ? undefined : snoozedLine(view.snooze, view.subject.kind),
    view.mutedBy === undefined ? undefined : mutedLine(view.subject, view.mutedBy),
  ].filter((line): line is string => line !== undefined);
  const added: Block[] = lines.length === 0 ? [] : [lineBlock(lines)];
  const room = SLACK_LIMITS.blocks - added.length - 1;
  const body = message.blocks.slice(0, room);
  const blocks = [...body.slice(0, 2), ...added, ...body.slice(2), controlsBlock(view)];
  return { text: message.text, blocks };
};

/** The controls as a terminal shows them: `[Acknowledge] [Snooze: 1 hour | 4 hours | …] …`. */
export const controlsLine = (block: ActionsBlock): string =>
  block.elements
    .map((element) =>
      element.type === 'button'
        ? `[${element.text.text}]`
        : `[${element.placeholder.text.replace(/…$/, '')}: ${element.options.map((option) => option.text.text).join(' | ')}]`,
    )
    .join(' ');

const n = (count: number, one: string): string =>
  `${count.toLocaleString('en-US')} ${one}${count === 1 ? '' : 's'}`;
const inlineCode = (untrusted: string): string =>
  `\`${escapeClip(untrusted.replace(/[\r\n\t]+/g, ' ').replace(/`/g, 'ˋ'), 200) || ' '}\``;

/** The thread reply posted (once) when a snooze ends by itself while the incident is still open. */
export const renderSnoozeEndedReply = (
  view: IncidentView,
  snooze: Snooze,
  options: { named?: boolean } = {},
): SlackMessage => {
  const prefix = options.named
    ? `${inlineCode(view.key.namespace)} ${inlineCode(`${view.key.workload.kind.toLowerCase()}/${view.key.workload.name}`)} (container ${inlineCode(view.key.container)}): `
    : '';
  const state =
    view.failingContainers > 0
      ? `still failing: ${n(view.failingContainers, 'container')} cannot pull the image`
      : 'still open, nothing failing now (recovering)';
  const text = `${prefix}:alarm_clock: Snooze ended: ${inertUser(snooze.userName)} snoozed this at ${utcTime(snooze.at)} until ${utcTime(snooze.until, snooze.at)}. It is ${state}; ${n(view.affectedPods, 'pod')} affected, ${n(view.occurrences, 'failed pull')} so far. Updates and replies resume.`;
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: text.slice(0, SLACK_LIMITS.sectionText), verbatim: true },
      },
    ],
  };
};

/** What the registry said to a re-check, or why it was not asked. */
export type RegistryRecheck =
  | { kind: 'answered'; outcome: string; summary: string }
  /** The registry check is off in the config: the re-check re-read the stored state only. */
  | { kind: 'off' }
  /** The config does not ask about this image's registry. */
  | { kind: 'out-of-scope' }
  /** The check itself failed (it should not: it answers `unreachable` for what registries do). */
  | { kind: 'failed' };

const registryText = (check: RegistryRecheck): string => {
  switch (check.kind) {
    case 'answered':
      return `Registry check: *${escapeClip(check.outcome, 40)}*: ${escapeClip(check.summary.replace(/[\r\n]+/g, ' '), 1500)}`;
    case 'off':
      return 'The registry check is off in the config, so the registry was not asked: this re-read the stored state only.';
    case 'out-of-scope':
      return "The registry check's config does not cover this image's registry, so it was not asked.";
    case 'failed':
      return 'The registry check could not run; the state above is as stored.';
  }
};

const replyOf = (text: string): SlackMessage => ({
  text,
  blocks: [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: text.slice(0, SLACK_LIMITS.sectionText), verbatim: true },
    },
  ],
});

/** The thread reply to a re-check: the current state, and the registry's answer or why it was not asked. */
export const renderRecheckReply = (
  view: IncidentView,
  by: string,
  at: number,
  check: RegistryRecheck,
): SlackMessage => {
  const state =
    view.status === 'resolved'
      ? 'resolved: every affected container recovered or is gone'
      : view.failingContainers > 0
        ? `still failing: ${n(view.failingContainers, 'container')} cannot pull the image (${n(view.affectedPods, 'pod')} affected, ${n(view.occurrences, 'failed pull')})`
        : 'open, nothing failing now (recovering)';
  return replyOf(
    `:mag: Re-check asked by ${inertUser(by)} at ${utcTime(at)}: the incident is ${state}. ${registryText(check)}`,
  );
};

/** A roll-up's re-check asks about this many of its images at most (failing members' first). */
export const STORM_RECHECK_IMAGES = 3;

/** The reply in a roll-up's thread: the storm's state as stored now, and its images' answers. */
export const renderStormRecheckReply = (
  view: StormView,
  by: string,
  at: number,
  checks: ReadonlyArray<{ image: string; check: RegistryRecheck }>,
): SlackMessage => {
  const state =
    view.status === 'resolved'
      ? `resolved: all ${n(view.incidents, 'incident')} recovered`
      : `${n(view.failing, 'incident')} failing, ${view.recovering} recovering, ${view.resolved} resolved, across ${n(view.workloads, 'workload')} (${n(view.affectedPods, 'pod')} affected)`;
  const images = [...new Set(view.members.map((member) => member.image))];
  const asked = checks.map(({ image, check }) => `${inlineCode(image)}: ${registryText(check)}`);
  const rest = images.length - checks.length;
  const text = `:mag: Re-check asked by ${inertUser(by)} at ${utcTime(at)}: the storm is ${state}.${asked.length === 0 ? '' : `\n${asked.join('\n')}`}${rest > 0 ? `\n(${n(rest, 'more image')} not asked: a re-check asks about ${STORM_RECHECK_IMAGES} at most.)` : ''}`;
  return replyOf(text);
};

/** The reply in a roll-up's thread when its snooze ends by itself while the storm is still open. */
export const renderStormSnoozeEndedReply = (view: StormView, snooze: Snooze): SlackMessage =>
  replyOf(
    `:alarm_clock: Snooze ended: ${inertUser(snooze.userName)} snoozed this roll-up at ${utcTime(snooze.at)} until ${utcTime(snooze.until, snooze.at)}. The storm is still open: ${n(view.failing, 'incident')} failing, ${view.recovering} recovering, ${view.resolved} resolved. Updates and its incidents' posts resume.`,
  );
