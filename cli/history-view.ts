/** Terminal rendering of incident history: the list, one incident, and stats. Pure. */
import type { ActionRecord } from '#shared/incident-actions';
import { ruleFor } from '#shared/diagnosis/catalogue';
import { figuresOf } from '#shared/incident';
import { formatDuration } from '#shared/slack-message';
import type {
  IncidentList,
  IncidentRecord,
  IncidentStats,
  IncidentSummary,
  RecoveryFigures,
} from '../functions/history/queries';
import { renderVerdict } from './render-verdict';

// Cluster text is untrusted: no control characters reach the terminal.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const safe = (text: string): string => text.replace(CONTROL, ' ');

const clip = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/** `2026-03-01 10:00` (UTC). */
export const minuteUtc = (iso: string | number): string =>
  new Date(iso).toISOString().slice(0, 16).replace('T', ' ');
const secondUtc = (iso: string | number): string =>
  new Date(iso).toISOString().slice(0, 19).replace('T', ' ');

export const stateOf = (incident: IncidentSummary): string =>
  incident.status === 'resolved' ? 'resolved' : incident.failingContainers === 0 ? 'recovering' : 'open';

/** How long it lasted (resolved: until recovery) or has lasted so far (open). */
export const durationOf = (incident: IncidentSummary, now: number): string => {
  const start = Date.parse(incident.firstSeen);
  if (incident.status === 'resolved') {
    const end = Date.parse(incident.recoveredAt ?? incident.resolvedAt ?? incident.lastSeen);
    return formatDuration(end - start);
  }
  return `${formatDuration(now - start)}+`;
};

const table = (
  header: string[],
  rows: string[][],
  rightAligned: ReadonlySet<number> = new Set(),
): string[] => {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 && !rightAligned.has(column)
          ? cell
          : rightAligned.has(column)
            ? cell.padStart(widths[column]!)
            : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
};

export interface ListContext {
  now: number;
  since?: number;
  source: string;
}

export const renderIncidentList = (list: IncidentList, context: ListContext): string => {
  const since = context.since === undefined ? '' : ` first seen since ${minuteUtc(context.since)} UTC`;
  if (list.incidents.length === 0) return `No incidents${since} (${context.source}).`;
  const rows = list.incidents.map((incident) => [
    incident.incidentId,
    stateOf(incident),
    incident.cause,
    clip(safe(`${incident.cluster}/${incident.namespace}/${incident.workload}`), 60),
    clip(safe(incident.image), 48),
    minuteUtc(incident.firstSeen),
    durationOf(incident, context.now),
    String(incident.affectedPods),
  ]);
  const lines = table(
    ['ID', 'STATE', 'CAUSE', 'CLUSTER/NAMESPACE/WORKLOAD', 'IMAGE', 'FIRST SEEN (UTC)', 'DURATION', 'PODS'],
    rows,
    new Set([7]),
  );
  const shown = list.truncated
    ? `the newest ${list.incidents.length} (use --limit for more)`
    : `${list.incidents.length}`;
  lines.push(
    '',
    `${shown} incident${list.incidents.length === 1 && !list.truncated ? '' : 's'}${since} · ${context.source}`,
  );
  return lines.join('\n');
};

const RECOVERY: Record<string, string> = {
  started: 'started',
  'left-pull-failure': 'stopped failing to pull',
  'pod-deleted': 'pod deleted',
};

const plural = (n: number, one: string): string =>
  `${n.toLocaleString('en-US')} ${n === 1 ? one : `${one}s`}`;

/** Every container's own lines (`--full`): its episodes, and its recovery or move. */
const containerLines = (record: IncidentRecord): TimelineEntry[] => {
  const entries: TimelineEntry[] = [];
  for (const container of Object.values(record.incident.containers)) {
    const who = safe(container.pod);
    for (const [start, episode] of Object.entries(container.episodes)) {
      entries.push({ at: Number(start), what: `${who}: failing to pull` });
      if (episode.lastSeen > Number(start)) {
        entries.push({
          at: episode.lastSeen,
          what: `${who}: last failed pull (${episode.count} attempts in this episode)`,
        });
      }
    }
    if (container.state === 'recovered') {
      entries.push({
        at: container.at,
        what: `${who}: recovered (${RECOVERY[container.recovery ?? ''] ?? 'recovered'})`,
      });
    } else if (container.state === 'moved' && container.movedTo !== undefined) {
      entries.push({
        at: container.at,
        what: `${who}: now fails for another cause: ${ruleFor(container.movedTo.cause).title} (${container.movedTo.incidentId})`,
      });
    }
  }
  return entries;
};

/** The same, summarised from the incident's tally: a line per kind of change, whatever the size. */
const summaryLines = (record: IncidentRecord): TimelineEntry[] => {
  const { tally } = record.incident;
  const entries: TimelineEntry[] = [];
  const span = (first: number, last: number) =>
    first === last ? `at ${secondUtc(first)}` : `between ${secondUtc(first)} and ${secondUtc(last)}`;
  if (tally.firstSeen !== undefined) {
    entries.push({
      at: tally.firstSeen,
      what: `${plural(tally.affected, 'container')} failing to pull, ${plural(tally.occurrences, 'failed pull')} (last at ${secondUtc(tally.lastSeen ?? tally.firstSeen)})`,
    });
  }
  for (const [kind, entry] of Object.entries(tally.recovered)) {
    if (entry.containers === 0) continue;
    entries.push({
      at: entry.first,
      what: `${plural(entry.containers, 'container')} recovered (${RECOVERY[kind] ?? kind}) ${span(entry.first, entry.last)}`,
    });
  }
  for (const entry of Object.values(tally.moved)) {
    entries.push({
      at: entry.first,
      what: `${plural(entry.containers, 'container')} now fail for another cause: ${ruleFor(entry.cause).title} (${entry.incidentId}), ${span(entry.first, entry.last)}`,
    });
  }
  if (tally.failing > 0) {
    entries.push({
      at: tally.lastChangeAt ?? tally.firstSeen ?? 0,
      what: `${plural(tally.failing, 'container')} still failing`,
    });
  }
  return entries;
};

interface TimelineEntry {
  at: number;
  what: string;
}

/**
 * What happened, reconstructed from the incident's state: a summary of its containers (every
 * container's own lines with `full`, which needs the record read with its rows), then its posts.
 */
export const timelineOf = (record: IncidentRecord, options: { full?: boolean } = {}): TimelineEntry[] => {
  const { incident } = record;
  const entries: TimelineEntry[] = options.full ? containerLines(record) : summaryLines(record);
  for (const [postId, post] of Object.entries(record.posts)) {
    const state = post.state === 'posted' ? 'posted' : post.state;
    const what =
      postId === 'main'
        ? post.threadTs === undefined
          ? `Slack message ${state} in ${safe(post.channelId ?? post.channel)}`
          : `Slack message ${state} in the storm's thread in ${safe(post.channelId ?? post.channel)}`
        : `Slack thread reply (${postId}) ${state}`;
    entries.push({ at: post.firstClaimedAt, what });
  }
  if (incident.status === 'resolved' && incident.resolvedAt !== undefined) {
    entries.push({ at: incident.resolvedAt, what: 'resolved: nothing failed for the quiet period' });
  }
  for (const action of record.actions ?? []) entries.push({ at: action.at, what: actionLine(action) });
  return entries.sort((a, b) => a.at - b.at);
};

export const renderIncident = (
  record: IncidentRecord,
  now: number,
  options: { full?: boolean } = {},
): string => {
  const { summary, incident } = record;
  const figures = figuresOf(incident);
  const verdict = incident.latest?.verdict;
  const lines = [
    `${summary.incidentId}  ${summary.title}  [${summary.cause}]`,
    '',
    `State:     ${stateOf(summary)}${
      summary.status === 'resolved'
        ? ` after ${durationOf(summary, now)} (first seen ${secondUtc(summary.firstSeen)}, recovered ${secondUtc(
            summary.recoveredAt ?? summary.lastSeen,
          )}, resolved ${secondUtc(summary.resolvedAt ?? summary.lastSeen)} UTC)`
        : ` for ${formatDuration(now - Date.parse(summary.firstSeen))} so far (first seen ${secondUtc(summary.firstSeen)} UTC, last failed pull ${secondUtc(summary.lastSeen)} UTC)`
    }`,
    `Where:     cluster ${safe(summary.cluster)}, namespace ${safe(summary.namespace)}, ${safe(summary.workload)}, container ${safe(summary.container)}`,
    `Image:     ${safe(summary.image)}${summary.registry ? ` (registry ${safe(summary.registry)})` : ''}`,
    `Affected:  ${figures.affectedPods} pod${figures.affectedPods === 1 ? '' : 's'}, ${figures.occurrences} failed pull${
      figures.occurrences === 1 ? '' : 's'
    }; ${figures.failingContainers} container${figures.failingContainers === 1 ? '' : 's'} failing now${
      incident.reopenCount > 0
        ? `; reopened ${incident.reopenCount} time${incident.reopenCount === 1 ? '' : 's'}`
        : ''
    }`,
  ];
  const main = record.posts.main;
  if (main !== undefined) {
    const replies = Object.keys(record.posts).filter((id) => id !== 'main').length;
    lines.push(
      `Slack:     ${main.state} in ${safe(main.channelId ?? main.channel)}${main.ts === undefined ? '' : ` (ts ${main.ts})`}${
        main.threadTs === undefined ? '' : `, in the thread of storm ${record.stormId ?? main.threadTs}`
      }${replies > 0 ? `, ${replies} thread repl${replies === 1 ? 'y' : 'ies'}` : ''}`,
    );
  }
  if (incident.latest !== undefined) {
    lines.push(
      `Kubelet:   ${safe(incident.latest.reason)} on pod ${safe(incident.latest.pod)}${incident.latest.node ? ` (node ${safe(incident.latest.node)})` : ''}`,
    );
  }
  if (verdict !== undefined) {
    lines.push(
      '',
      'Verdict',
      ...renderVerdict(verdict)
        .split('\n')
        .map((line) => (line === '' ? '' : `  ${line}`)),
    );
  }
  lines.push('', `Timeline (UTC${options.full ? '' : '; --full for every container'})`);
  for (const entry of timelineOf(record, options)) lines.push(`  ${secondUtc(entry.at)}  ${entry.what}`);
  return lines.join('\n');
};

const figureCells = (figures: RecoveryFigures): string[] => [
  String(figures.incidents),
  String(figures.open),
  String(figures.resolved),
  figures.medianRecoveryMs === undefined ? '-' : formatDuration(figures.medianRecoveryMs),
];
const ackCell = (figures: RecoveryFigures): string =>
  figures.medianAcknowledgeMs === undefined ? '-' : formatDuration(figures.medianAcknowledgeMs);

/**
 * One action from Slack in the timeline (the user's name is Slack's: made safe for a terminal); one
 * taken on the incident's storm roll-up says so.
 */
const actionLine = (action: ActionRecord & { stormId?: string }): string => {
  const who = `@${safe(action.userName)}`;
  const where = action.stormId === undefined ? 'in Slack' : `on the roll-up of storm ${safe(action.stormId)}`;
  switch (action.kind) {
    case 'acknowledged':
      return `acknowledged ${where} by ${who}`;
    case 'snoozed':
      return `snoozed ${where} by ${who} ${action.choice === 'resolved' ? 'until resolved' : `until ${action.until === undefined ? '?' : secondUtc(action.until)}`}`;
    case 'unsnoozed':
      return `unsnoozed ${where} by ${who}`;
    case 'muted':
      return action.stormId === undefined
        ? `workload muted in Slack by ${who} (pullwatch unmute lifts it)`
        : `workloads listed muted ${where} by ${who} (pullwatch unmute lifts each)`;
    case 'rechecked':
      return `re-checked ${action.stormId === undefined ? 'from Slack' : where} by ${who}`;
  }
};

export const renderStats = (stats: IncidentStats, source: string): string => {
  const scope = stats.cluster === undefined ? 'all clusters' : `cluster ${safe(stats.cluster)}`;
  const lines = [`Incidents first seen since ${minuteUtc(stats.since)} UTC in ${scope} (${source})`, ''];
  if (stats.total.incidents === 0) return `${lines[0]}: none.`;
  const right = new Set([1, 2, 3, 4, 5]);
  // The column only when someone acknowledged something from Slack (interactivity is optional).
  const acked = stats.total.medianAcknowledgeMs !== undefined;
  lines.push(
    ...table(
      [
        'BY CAUSE',
        'INCIDENTS',
        'OPEN',
        'RESOLVED',
        'MEDIAN TIME TO RECOVER',
        ...(acked ? ['MEDIAN TIME TO ACK'] : []),
      ],
      stats.byCause.map((group) => [group.cause, ...figureCells(group), ...(acked ? [ackCell(group)] : [])]),
      right,
    ),
    '',
    ...table(
      ['BY REGISTRY', 'INCIDENTS', 'OPEN', 'RESOLVED', 'MEDIAN TIME TO RECOVER'],
      [
        ...stats.byRegistry.map((group) => [safe(group.registry), ...figureCells(group)]),
        ['total', ...figureCells(stats.total)],
      ],
      right,
    ),
    '',
    'Time to recover: from the first failed pull to the last affected container recovering.',
    ...(acked
      ? [
          'Time to ack: from the first failed pull to the first acknowledgement in Slack (of those acknowledged).',
        ]
      : []),
  );
  if (stats.truncated)
    lines.push('(Only the newest incidents were counted: narrow with --cluster or --since.)');
  return lines.join('\n');
};
