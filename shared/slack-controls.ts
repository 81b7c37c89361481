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

export const CONTROLS_BLOCK_ID = 'pullwatch_controls';

/** What the controls of one message show: decided by the caller from the stored state and the clock. */
export interface ControlsView {
  subject: ActionSubject;
  acks: ActionState['acks'];
  /** The snooze in force (activeSnooze), if any. */
  snooze?: Snooze;
  /** The workload is muted (by whom). */
  mutedBy?: { userName: string; at: number };
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

export const snoozedLine = (snooze: Snooze): string =>
  snooze.untilResolved
    ? `:zzz: Snoozed by ${inertUser(snooze.userName)} at ${utcTime(snooze.at)} until resolved: no updates or replies, nor new incidents of this workload in this cluster`
    : `:zzz: Snoozed by ${inertUser(snooze.userName)} until ${utcTime(snooze.until, snooze.at)} (${formatDuration(snooze.until - snooze.at)}): no updates or replies, nor new incidents of this workload in this cluster`;

const button = (kind: ActionKind, subject: ActionSubject, style?: 'primary' | 'danger'): ButtonElement => ({
  type: 'button',
  action_id: ACTION_ID[kind],
  text: plain(CONTROL_LABELS[kind]),
  value: encodeActionValue(subject),
  ...(style === undefined ? {} : { style }),
});

export const controlsBlock = (view: ControlsView): ActionsBlock => {
  const { subject } = view;
  const elements: ActionsBlock['elements'] = [button('acknowledge', subject, 'primary')];
  if (subject.kind === 'incident') {
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
    if (view.mutedBy === undefined) {
      elements.push({
        ...button('mute', subject, 'danger'),
        confirm: {
          title: plain('Mute this workload?'),
          text: plain(
            'Nothing is posted about this workload in this cluster until someone runs `pullwatch unmute`.',
          ),
          confirm: plain('Mute'),
          deny: plain('Cancel'),
        },
      });
    }
    elements.push(button('recheck', subject));
  }
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
    view.snooze === undefined ? undefined : snoozedLine(view.snooze),
    view.mutedBy === undefined
      ? undefined
      : `:no_bell: Workload muted by ${inertUser(view.mutedBy.userName)} at ${utcTime(view.mutedBy.at)}`,
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

/** The thread reply to a re-check: the registry's answer when it was asked, else the current state. */
export const renderRecheckReply = (
  view: IncidentView,
  by: string,
  at: number,
  check?: { outcome: string; summary: string },
): SlackMessage => {
  const state =
    view.status === 'resolved'
      ? 'resolved: every affected container recovered or is gone'
      : view.failingContainers > 0
        ? `still failing: ${n(view.failingContainers, 'container')} cannot pull the image (${n(view.affectedPods, 'pod')} affected, ${n(view.occurrences, 'failed pull')})`
        : 'open, nothing failing now (recovering)';
  const registry =
    check === undefined
      ? ''
      : ` Registry check: *${escapeClip(check.outcome, 40)}*: ${escapeClip(check.summary.replace(/[\r\n]+/g, ' '), 1500)}`;
  const text = `:mag: Re-check asked by ${inertUser(by)} at ${utcTime(at)}: the incident is ${state}.${registry}`;
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
