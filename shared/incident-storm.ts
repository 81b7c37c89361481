/**
 * Storms: many new incidents with one cause, from one registry, in one cluster, at once (a Docker Hub
 * rate limit hitting every Deployment that rolls out). They get ONE roll-up message in Slack, and
 * their incidents are threaded under it instead of each posting at the top level.
 *
 * ## Buckets
 *
 * Incidents are grouped by cluster + cause + registry host + Slack channel (a thread lives in one
 * channel, so incidents routed elsewhere cannot join). A group's new incidents join its current
 * *bucket*, which opens with its first member and accepts members:
 * - while it is not (yet) a storm: for the storm window after it opened;
 * - once it is a storm (at least `threshold` members): for the storm window after the latest join,
 *   so an ongoing wave keeps threading under the same roll-up.
 * A bucket that no longer accepts members stays as it is (its roll-up is still kept up to date);
 * the group's next new incident opens the next bucket (`seq` + 1).
 *
 * ## The hold (the trade-off)
 *
 * Whether an incident belongs to a storm is only known once enough of its neighbours have arrived,
 * and a top-level post cannot be taken back. So a new incident's first post is *held* for
 * `stormHold` after it joined its bucket; then it goes under the roll-up if the bucket is a storm by
 * then, else to the top level. Once a bucket is a storm and its first member's hold has ended (the
 * bucket's *decision time*, `decideAt`), later members are threaded at once, without a hold. The
 * roll-up is posted by the first member released into a storm, listing every member so far.
 *
 * The cost: every new incident's first post waits up to `stormHold` (plus up to one tick period),
 * storm or not. The benefit: when each of a storm's first `threshold` incidents is followed by the
 * next within the hold, the storm shows as exactly one roll-up and no top-level post. A slower storm
 * (an early incident whose hold ends before the threshold is reached) has those early incidents at
 * the top level; the roll-up, posted when the threshold is reached, lists them too, and threads the
 * rest. A hold of 0 posts every incident at once and only threads what arrives after the threshold.
 *
 * Membership is decided by conditional writes on the bucket (functions/_common/storm-store.ts),
 * so concurrent and repeated deliveries agree on one bucket, one storm and one roll-up.
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */
import type { Workload } from '#shared/contract';
import type { CauseId } from '#shared/diagnosis/causes';
import { type Incident, type IncidentWindows, figuresOf, incidentIdOfIncident } from '#shared/incident';
import { shortHashOf, workloadRef } from '#shared/incident-key';

/**
 * A bucket holds at most this many members; the next member opens the group's next bucket (a roll-up
 * of its own), so none is dropped. It bounds what a roll-up reads (every member's row).
 */
export const MAX_STORM_MEMBERS = 1000;

/** What makes incidents "the same storm". */
export interface StormGroup {
  cluster: string;
  cause: CauseId;
  /** The registry's host (docker.io, 123456789012.dkr.ecr.eu-west-1.amazonaws.com…). */
  registry: string;
  /** The Slack channel the group's incidents are routed to (an id or a name). */
  channel: string;
}

export interface StormRef {
  groupId: string;
  seq: number;
}

/** One incident in a storm, as the roll-up shows it. */
export interface StormMember {
  incidentId: string;
  keyId: string;
  generation: number;
  namespace: string;
  workload: Workload;
  container: string;
  image: string;
  /** When it joined the bucket (epoch ms). */
  joinedAt: number;
  status: 'open' | 'resolved';
  failingContainers: number;
  affectedPods: number;
  /** The incident's version this entry reflects: an older one never overwrites a newer one. */
  version: number;
}

export interface StormBucket {
  ref: StormRef;
  stormId: string;
  group: StormGroup;
  /** From the first member's verdict: the cause in plain words, the registry's name, why, docs. */
  title: string;
  registryName: string;
  explanation: string;
  docs: string;
  /** Fixed when the bucket opens, so a configuration change does not change a bucket's fate. */
  threshold: number;
  windowMs: number;
  openedAt: number;
  /** openedAt + the storm hold: the first member's decision time (see the file comment). */
  decideAt: number;
  lastJoinAt: number;
  memberCount: number;
  members: Record<string, StormMember>;
  /** +1 on every join and every member change (the roll-up's chat.update throttle compares it). */
  version: number;
}

/**
 * A bucket without its member list: what a new member needs to know (its placement, whether the
 * bucket takes joins). A bucket of a big storm is large; its list is read only to show it.
 */
export type StormHead = Omit<StormBucket, 'members'>;

/** The group an incident belongs to (it needs a verdict: only an incident that failed has one). */
export const stormGroupOf = (incident: Incident, channel: string): StormGroup | undefined => {
  const verdict = incident.latest?.verdict;
  if (verdict === undefined) return undefined;
  return {
    cluster: incident.key.cluster,
    cause: incident.key.cause,
    registry: verdict.registry.host,
    channel: channel.replace(/^#/, ''),
  };
};

/** A stable id for a group, e.g. `sg-3m9q2xa4cd7k`. */
export const stormGroupIdOf = (group: StormGroup): string =>
  `sg-${shortHashOf(JSON.stringify([group.cluster, group.cause, group.registry, group.channel]))}`;

/** The id people see, e.g. `sg-3m9q2xa4cd7k.2` (the group's second bucket). */
export const stormIdOf = (ref: StormRef): string => `${ref.groupId}.${ref.seq}`;

export const parseStormId = (stormId: string): StormRef | undefined => {
  const match = /^(sg-[0-9a-hjkmnp-tv-z]{12})\.([1-9]\d{0,8})$/.exec(stormId);
  return match ? { groupId: match[1]!, seq: Number(match[2]) } : undefined;
};

export const stormMemberOf = (incident: Incident, version: number, joinedAt: number): StormMember => {
  const figures = figuresOf(incident);
  return {
    incidentId: incidentIdOfIncident(incident),
    keyId: incident.keyId,
    generation: incident.generation,
    namespace: incident.key.namespace,
    workload: { ...incident.key.workload },
    container: incident.key.container,
    image: incident.key.image,
    joinedAt,
    status: incident.status === 'resolved' ? 'resolved' : 'open',
    failingContainers: figures.failingContainers,
    affectedPods: figures.affectedPods,
    version,
  };
};

/** The bucket a group's first new incident (or the first after the last bucket closed) opens. */
export const newStormBucket = (
  ref: StormRef,
  group: StormGroup,
  incident: Incident,
  member: StormMember,
  now: number,
  windows: Pick<IncidentWindows, 'stormThreshold' | 'stormWindowMs' | 'stormHoldMs'>,
): StormBucket => {
  const verdict = incident.latest?.verdict;
  return {
    ref,
    stormId: stormIdOf(ref),
    group,
    title: verdict?.title ?? '',
    registryName: verdict?.registry.displayName ?? group.registry,
    explanation: verdict?.explanation ?? '',
    docs: verdict?.fix.docs ?? '',
    threshold: windows.stormThreshold,
    windowMs: windows.stormWindowMs,
    openedAt: now,
    decideAt: now + windows.stormHoldMs,
    lastJoinAt: now,
    memberCount: 1,
    members: { [member.incidentId]: { ...member, joinedAt: now } },
    version: 1,
  };
};

/**
 * The join rule, once, as data: the pure functions below and the store's conditional write
 * (`joinCondition`) are both built from it, so they cannot disagree at a boundary instant.
 * A bucket takes a member while it has fewer than `maxMembers` and `now` is at or before its
 * deadline: `openUntil` (opened + window) while forming, `stormUntil` (last join + window) once a
 * storm (at least `threshold` members).
 */
export const JOIN_RULE = { maxMembers: MAX_STORM_MEMBERS, deadlineInclusive: true } as const;

export const isStorm = (bucket: Pick<StormHead, 'memberCount' | 'threshold'>): boolean =>
  bucket.memberCount >= bucket.threshold;

/** A bucket's two deadlines, as its item stores them for the join condition. */
export const joinDeadlines = (
  bucket: Pick<StormHead, 'openedAt' | 'lastJoinAt' | 'windowMs'>,
): { openUntil: number; stormUntil: number } => ({
  openUntil: bucket.openedAt + bucket.windowMs,
  stormUntil: bucket.lastJoinAt + bucket.windowMs,
});

/** Until when a bucket takes new members (see the file comment). */
export const joinsUntil = (bucket: StormHead): number => {
  const { openUntil, stormUntil } = joinDeadlines(bucket);
  return isStorm(bucket) ? stormUntil : openUntil;
};

const beforeDeadline = (now: number, deadline: number): boolean =>
  JOIN_RULE.deadlineInclusive ? now <= deadline : now < deadline;

export const acceptsJoins = (bucket: StormHead, now: number): boolean =>
  bucket.memberCount < JOIN_RULE.maxMembers && beforeDeadline(now, joinsUntil(bucket));

/**
 * The join rule as a DynamoDB condition expression over a bucket item, given the placeholders of
 * its attributes (`count`, `threshold`, `openUntil`, `stormUntil`) and of the values `now`, `max`.
 */
export const joinCondition = (p: {
  count: string;
  threshold: string;
  openUntil: string;
  stormUntil: string;
  now: string;
  max: string;
}): string => {
  const atOrBefore = JOIN_RULE.deadlineInclusive ? '>=' : '>';
  return (
    `${p.count} < ${p.max} AND ((${p.count} < ${p.threshold} AND ${p.openUntil} ${atOrBefore} ${p.now}) OR ` +
    `(${p.count} >= ${p.threshold} AND ${p.stormUntil} ${atOrBefore} ${p.now}))`
  );
};

export type Placement =
  /** Nothing may be posted yet: come back at `until`. */
  | { kind: 'hold'; until: number }
  /** A storm: post under its roll-up. */
  | { kind: 'thread' }
  /** No storm: post at the top level. */
  | { kind: 'top-level' };

/** The hold each member of the bucket gets (fixed when the bucket opened). */
export const holdOf = (bucket: Pick<StormBucket, 'openedAt' | 'decideAt'>): number =>
  bucket.decideAt - bucket.openedAt;

/** Where the first post of a member that joined at `joinedAt` goes, at `now` (see the file comment). */
export const placementOf = (bucket: StormHead, joinedAt: number | undefined, now: number): Placement => {
  if (isStorm(bucket) && now >= bucket.decideAt) return { kind: 'thread' };
  const until = Math.max(bucket.decideAt, (joinedAt ?? bucket.openedAt) + holdOf(bucket));
  if (now < until) return { kind: 'hold', until };
  return isStorm(bucket) ? { kind: 'thread' } : { kind: 'top-level' };
};

/** Whether `next` says something newer about a member than what the bucket has. */
export const memberChanged = (seen: StormMember | undefined, next: StormMember): boolean =>
  seen !== undefined &&
  next.version > seen.version &&
  (seen.status !== next.status ||
    seen.failingContainers !== next.failingContainers ||
    seen.affectedPods !== next.affectedPods);

// ---------------------------------------------------------------------------------------------
// What the roll-up shows

export interface StormView {
  stormId: string;
  status: 'open' | 'resolved';
  group: StormGroup;
  title: string;
  registryName: string;
  explanation: string;
  docs: string;
  /** Distinct workloads (namespace + kind + name) among the members. */
  workloads: number;
  incidents: number;
  /** Members still failing / open but recovering / resolved. */
  failing: number;
  recovering: number;
  resolved: number;
  affectedPods: number;
  openedAt: number;
  lastJoinAt: number;
  /** Members for the list: failing first, then by namespace and workload. */
  members: StormMember[];
}

const memberRank = (member: StormMember): number =>
  member.status === 'resolved' ? 2 : member.failingContainers > 0 ? 0 : 1;

export const stormView = (bucket: StormBucket): StormView => {
  const members = Object.values(bucket.members).sort(
    (a, b) =>
      memberRank(a) - memberRank(b) ||
      compare(a.namespace, b.namespace) ||
      compare(workloadRef(a.workload), workloadRef(b.workload)) ||
      compare(a.container, b.container) ||
      compare(a.incidentId, b.incidentId),
  );
  const workloads = new Set(
    members.map((member) => JSON.stringify([member.namespace, member.workload.kind, member.workload.name])),
  );
  const count = (rank: number) => members.filter((member) => memberRank(member) === rank).length;
  const resolved = count(2);
  return {
    stormId: bucket.stormId,
    status: members.length > 0 && resolved === members.length ? 'resolved' : 'open',
    group: bucket.group,
    title: bucket.title,
    registryName: bucket.registryName,
    explanation: bucket.explanation,
    docs: bucket.docs,
    workloads: workloads.size,
    incidents: members.length,
    failing: count(0),
    recovering: count(1),
    resolved,
    affectedPods: members.reduce((sum, member) => sum + member.affectedPods, 0),
    openedAt: bucket.openedAt,
    lastJoinAt: bucket.lastJoinAt,
    members,
  };
};

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
