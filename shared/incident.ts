/**
 * The incident model and its pure state transitions.
 *
 * Delivery is at-least-once, unordered and concurrent, so every transition here is written to
 * converge whatever the order and however often an observation arrives:
 *
 * - Each container (pod UID + container name) holds a last-writer-wins register: the event with the
 *   latest `observedAt` decides whether it is failing or recovered (ties broken by a fixed order,
 *   so a recovery delivered before its failure still wins, and a duplicate changes nothing).
 * - Each container's failure episodes (keyed by the episode's firstSeen) merge by maximum, so
 *   occurrences, firstSeen and lastSeen are the same whichever order the events came in.
 * - The text and verdict shown are those of the failure with the latest `observedAt`.
 *
 * The figures (affected, failing, failed pulls, first/last seen, the end) are a tally kept in the
 * incident itself, changed by the difference between a container's register before and after each
 * event, so they are exact for any number of containers while the incident stays small. The
 * registers live elsewhere (the store keeps one row per container); a fold holds only those of the
 * containers it is about (`containers`), loaded by the store.
 *
 * Only two things depend on time rather than on the set of observations: resolution (after a quiet
 * period with nothing failing) and what happens to a failure that arrives after it (reopen within the
 * reopen window, or a new incident of the same key after it). Both are decided from event times
 * (`observedAt`, or the clock of a scheduled tick), never from the order of delivery.
 *
 * Times are epoch milliseconds. Pure: no AWS, Kubernetes or Slack imports, no clock.
 */
import type { ContainerType, RecoveryKind } from '#shared/contract';
import type { CauseId } from '#shared/diagnosis/causes';
import type { Verdict } from '#shared/diagnosis/diagnose';
import { type IncidentKey, incidentIdOf } from '#shared/incident-key';
import { type IncidentRegistryCheck, sameAnswer } from '#shared/registry-check/outcome';

// ---------------------------------------------------------------------------------------------
// Windows

export interface IncidentWindows {
  /** The Slack message is updated in place at most once per this interval (status changes excepted). */
  updateIntervalMs: number;
  /** Nothing may fail for this long after the last recovery before the incident resolves. */
  quietPeriodMs: number;
  /** A failure within this long after an incident ended reopens it; later, it is a new incident. */
  reopenWindowMs: number;
  /** At least this many new incidents with one cause and registry in one cluster make a storm… */
  stormThreshold: number;
  /** …when they open within this window. */
  stormWindowMs: number;
  /**
   * How long a new incident's first Slack post waits to learn whether it is part of a storm (and is
   * then threaded under the storm's roll-up instead of posted at the top level). See
   * shared/incident-storm.ts for the trade-off.
   */
  stormHoldMs: number;
  /** A cluster whose forwarder sends no heartbeat for this long is reported silent. */
  silenceMs: number;
}

const MINUTE = 60_000;

export const DEFAULT_WINDOWS: Readonly<IncidentWindows> = Object.freeze({
  updateIntervalMs: 5 * MINUTE,
  quietPeriodMs: 2 * MINUTE,
  reopenWindowMs: 30 * MINUTE,
  stormThreshold: 5,
  stormWindowMs: 2 * MINUTE,
  stormHoldMs: 30_000,
  silenceMs: 10 * MINUTE,
});

/** Defaults, overridden by whatever is given; rejects values that make no sense. */
export const incidentWindows = (overrides: Partial<IncidentWindows> = {}): IncidentWindows => {
  const windows = { ...DEFAULT_WINDOWS, ...overrides };
  for (const [name, value] of Object.entries(windows)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`);
  }
  if (windows.stormThreshold < 2) throw new RangeError('stormThreshold must be at least 2');
  return windows;
};

// ---------------------------------------------------------------------------------------------
// Observations

/** One failure or recovery of one container, classified: what an incident absorbs. */
export interface PullObservation {
  kind: 'failed' | 'recovered';
  key: IncidentKey;
  podUid: string;
  pod: string;
  node: string;
  containerType: ContainerType;
  reason: string;
  message: string;
  /** The failure episode this event belongs to (a recovery repeats its failure's fields). */
  firstSeen: number;
  lastSeen: number;
  count: number;
  /** When the forwarder produced the event: orders events about one container. */
  observedAt: number;
  recovery?: RecoveryKind;
  annotations: Record<string, string>;
  verdict: Verdict;
  /** The registry's answer, on the event classify publishes after asking it. */
  registryCheck?: IncidentRegistryCheck;
}

/** The key inside an incident that tells containers apart (a pod UID and a container name are unique). */
export const containerIdOf = (observation: Pick<PullObservation, 'podUid' | 'key'>): string =>
  `${observation.podUid}/${observation.key.container}`;

// ---------------------------------------------------------------------------------------------
// The incident

export type ContainerState = 'failing' | 'recovered' | 'moved';

export interface FailureEpisode {
  /** The kubelet's failed attempts in this episode (the largest count reported). */
  count: number;
  lastSeen: number;
}

export interface TrackedContainer {
  podUid: string;
  pod: string;
  node: string;
  state: ContainerState;
  /** `observedAt` of the event that decided `state`. */
  at: number;
  recovery?: RecoveryKind;
  /** For `moved`: the container now fails for another cause, tracked by another incident. */
  movedTo?: { cause: CauseId; incidentId: string };
  /** Failure episodes by their firstSeen (epoch ms, as a decimal string). */
  episodes: Record<string, FailureEpisode>;
}

/**
 * The failure shown in the message: the failure event with the latest observedAt (a recovery, which
 * repeats its failure's text, only until a failure event arrives).
 */
export interface LatestFailure {
  /** Whether this came from a failure event (which beats any recovery). */
  fromFailure: boolean;
  at: number;
  pod: string;
  podUid: string;
  node: string;
  reason: string;
  message: string;
  annotations: Record<string, string>;
  verdict: Verdict;
  /** The registry's latest distinct answer about the key's image and cause (kept across failures). */
  registryCheck?: IncidentRegistryCheck;
}

/**
 * pending: nothing absorbed yet;
 * open: something failed (a recovery is proof of a failure too: it repeats its failure's episode)
 * and the incident has not resolved;
 * resolved: everything recovered and stayed quiet for the quiet period.
 */
export type IncidentStatus = 'pending' | 'open' | 'resolved';

/** Containers now in one state, with the first and last time any event put one there. */
export interface TallyEntry {
  containers: number;
  first: number;
  last: number;
}

/**
 * The incident's figures over every container it ever tracked, kept exact by each register change
 * (see applyRegister): counts move by the change's difference, times by minimum or maximum.
 */
export interface IncidentTally {
  /** Containers that failed at least once (one per pod: the key names the container). */
  affected: number;
  /** Containers failing now. */
  failing: number;
  /** The kubelet's failed attempts, summed over every container's episodes. */
  occurrences: number;
  firstSeen?: number;
  lastSeen?: number;
  /** The latest event that decided a container's state: when nothing fails, the incident's end. */
  lastChangeAt?: number;
  /** Containers recovered now, by how (times: any recovery event of that kind). */
  recovered: Partial<Record<RecoveryKind, TallyEntry>>;
  /** Containers that now fail for another cause, by `cause\nincidentId` (times: the moves). */
  moved: Record<string, TallyEntry & { cause: CauseId; incidentId: string }>;
}

/** One pod of the few that a message names (failing ones first, then the latest). */
export interface SampledContainer {
  pod: string;
  node: string;
  state: ContainerState;
  at: number;
}

export interface Incident {
  keyId: string;
  /** 1 for the key's first incident; a recurrence after the reopen window starts the next. */
  generation: number;
  key: IncidentKey;
  status: IncidentStatus;
  /**
   * The registers of the containers this fold is about, by container id: the store loads those an
   * observation or a move names (an incident may track thousands; their rows are not read at once).
   * Absent here does not mean unknown to the incident: the tally counts every container.
   */
  containers: Record<string, TrackedContainer>;
  tally: IncidentTally;
  /** At most MAX_SAMPLED containers, for messages ("a, b, c and 2,995 more"). */
  sample: SampledContainer[];
  latest?: LatestFailure;
  /** When the last resolution took effect (the end of its quiet period). */
  resolvedAt?: number;
  /** How often the incident resolved; the resolution reply in Slack is one per resolution. */
  resolutions: number;
  reopenCount: number;
  /** Events at or before this time belong to the previous generation and are ignored. */
  floor?: number;
}

/** Containers an incident names in messages; the rest are counted. */
export const MAX_SAMPLED = 5;
/** Episodes kept per container (the latest); only a container that flaps more loses old counts. */
export const MAX_EPISODES = 8;

export const emptyTally = (): IncidentTally => ({
  affected: 0,
  failing: 0,
  occurrences: 0,
  recovered: {},
  moved: {},
});

export const incidentIdOfIncident = (incident: Pick<Incident, 'keyId' | 'generation'>): string =>
  incidentIdOf(incident.keyId, incident.generation);

/** A new, empty incident: pending until it absorbs a failure. */
export const newIncident = (
  keyId: string,
  generation: number,
  key: IncidentKey,
  floor?: number,
): Incident => ({
  keyId,
  generation,
  key,
  status: 'pending',
  containers: {},
  tally: emptyTally(),
  sample: [],
  resolutions: 0,
  reopenCount: 0,
  ...(floor === undefined ? {} : { floor }),
});

// ---------------------------------------------------------------------------------------------
// Derived figures

export interface IncidentFigures {
  occurrences: number;
  affectedPods: number;
  affectedContainers: number;
  failingContainers: number;
  firstSeen?: number;
  lastSeen?: number;
  /** The latest recovery (when nothing is failing): the incident's end. */
  endedAt?: number;
  /** When the incident resolves if nothing fails again. */
  resolveAt?: number;
  /** Causes the containers moved to, with the first time each was seen. */
  causeChanges: Array<{ cause: CauseId; incidentId: string; at: number; containers: number }>;
}

const hasFailed = (container: TrackedContainer): boolean =>
  container.state === 'failing' || Object.keys(container.episodes).length > 0;

export const figuresOf = (
  incident: Incident,
  windows: IncidentWindows = DEFAULT_WINDOWS,
): IncidentFigures => {
  const { tally } = incident;
  const quietSince = tally.failing === 0 && tally.affected > 0 ? tally.lastChangeAt : undefined;
  return {
    occurrences: tally.occurrences,
    affectedPods: tally.affected,
    affectedContainers: tally.affected,
    failingContainers: tally.failing,
    ...(tally.firstSeen === undefined ? {} : { firstSeen: tally.firstSeen }),
    ...(tally.lastSeen === undefined ? {} : { lastSeen: tally.lastSeen }),
    ...(quietSince === undefined
      ? {}
      : { endedAt: quietSince, resolveAt: quietSince + windows.quietPeriodMs }),
    causeChanges: Object.values(tally.moved)
      .map(({ cause, incidentId, first, containers }) => ({ cause, incidentId, at: first, containers }))
      .sort((a, b) => a.at - b.at || (a.cause < b.cause ? -1 : 1)),
  };
};

// ---------------------------------------------------------------------------------------------
// The tally

const occurrencesOf = (container: TrackedContainer): number =>
  Object.values(container.episodes).reduce((sum, episode) => sum + episode.count, 0);

const minOf = (a: number | undefined, b: number): number => (a === undefined ? b : Math.min(a, b));
const maxOf = (a: number | undefined, b: number): number => (a === undefined ? b : Math.max(a, b));

const widened = (entry: TallyEntry | undefined, at: number, containers: number): TallyEntry => ({
  containers: (entry?.containers ?? 0) + containers,
  first: minOf(entry?.first, at),
  last: maxOf(entry?.last, at),
});

const moveIdOf = (movedTo: { cause: CauseId; incidentId: string }): string =>
  `${movedTo.cause}\n${movedTo.incidentId}`;

/** Adds (sign 1) or takes out (sign -1) what one register counts for. */
const countRegister = (tally: IncidentTally, container: TrackedContainer, sign: 1 | -1): void => {
  if (hasFailed(container)) tally.affected += sign;
  if (container.state === 'failing') tally.failing += sign;
  tally.occurrences += sign * occurrencesOf(container);
  if (container.state === 'recovered') {
    const kind = container.recovery ?? 'left-pull-failure';
    tally.recovered[kind] = widened(tally.recovered[kind], container.at, sign);
  }
  if (container.state === 'moved' && container.movedTo !== undefined) {
    const id = moveIdOf(container.movedTo);
    const entry = widened(tally.moved[id], container.at, sign);
    if (entry.containers === 0) delete tally.moved[id];
    else tally.moved[id] = { ...entry, ...container.movedTo };
  }
};

/**
 * The tally after one container's register went from `before` to `after` (its merge with an event):
 * exact because each register counts once, as it is now. Times only widen, so they do not depend on
 * the order events arrived in.
 */
export const applyRegister = (
  tally: IncidentTally,
  before: TrackedContainer | undefined,
  after: TrackedContainer,
): IncidentTally => {
  const next: IncidentTally = { ...tally, recovered: { ...tally.recovered }, moved: { ...tally.moved } };
  if (before !== undefined) countRegister(next, before, -1);
  countRegister(next, after, 1);
  for (const [start, episode] of Object.entries(after.episodes)) {
    next.firstSeen = minOf(next.firstSeen, Number(start));
    next.lastSeen = maxOf(next.lastSeen, episode.lastSeen);
  }
  next.lastChangeAt = maxOf(next.lastChangeAt, after.at);
  return next;
};

/** Records a recovery event's time even when a later event decides its container's state. */
const withRecoveryTime = (tally: IncidentTally, kind: RecoveryKind, at: number): IncidentTally => {
  const seen = tally.recovered[kind];
  if (seen !== undefined && seen.first <= at && seen.last >= at) return tally;
  return {
    ...tally,
    recovered: { ...tally.recovered, [kind]: { ...widened(seen, at, 0) } },
  };
};

const compareSampled = (a: SampledContainer, b: SampledContainer): number =>
  Number(b.state === 'failing') - Number(a.state === 'failing') ||
  b.at - a.at ||
  (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0);

/** The sample after a container's register changed: failing ones first, then the latest. */
const sampleWith = (sample: readonly SampledContainer[], container: TrackedContainer): SampledContainer[] =>
  [
    { pod: container.pod, node: container.node, state: container.state, at: container.at },
    // A pod name is one container of this incident (its key names the container).
    ...sample.filter((entry) => entry.pod !== container.pod),
  ]
    .sort(compareSampled)
    .slice(0, MAX_SAMPLED);

// ---------------------------------------------------------------------------------------------
// Container registers

const STATE_RANK: Record<ContainerState, number> = { failing: 0, recovered: 1, moved: 2 };

type Register = Pick<TrackedContainer, 'state' | 'at' | 'recovery' | 'movedTo' | 'pod' | 'node'>;

/** A total order on what each event says about a container: later wins; ties break the same way everywhere. */
const compareRegisters = (a: Register, b: Register): number =>
  a.at - b.at ||
  STATE_RANK[a.state] - STATE_RANK[b.state] ||
  compareText(a.recovery ?? '', b.recovery ?? '') ||
  compareText(a.movedTo?.cause ?? '', b.movedTo?.cause ?? '') ||
  compareText(a.movedTo?.incidentId ?? '', b.movedTo?.incidentId ?? '') ||
  compareText(a.pod, b.pod) ||
  compareText(a.node, b.node);

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const mergeEpisodes = (
  a: Record<string, FailureEpisode>,
  b: Record<string, FailureEpisode>,
): Record<string, FailureEpisode> => {
  const merged: Record<string, FailureEpisode> = { ...a };
  for (const [start, episode] of Object.entries(b)) {
    const seen = merged[start];
    merged[start] = seen
      ? { count: Math.max(seen.count, episode.count), lastSeen: Math.max(seen.lastSeen, episode.lastSeen) }
      : { ...episode };
  }
  const starts = Object.keys(merged);
  if (starts.length <= MAX_EPISODES) return merged;
  const kept: Record<string, FailureEpisode> = {};
  for (const start of starts.sort((x, y) => Number(y) - Number(x)).slice(0, MAX_EPISODES)) {
    kept[start] = merged[start]!;
  }
  return kept;
};

const mergeContainer = (seen: TrackedContainer | undefined, event: TrackedContainer): TrackedContainer => {
  if (seen === undefined) return event;
  const winner = compareRegisters(event, seen) > 0 ? event : seen;
  const merged: TrackedContainer = {
    podUid: seen.podUid,
    pod: winner.pod,
    node: winner.node,
    state: winner.state,
    at: winner.at,
    episodes: mergeEpisodes(seen.episodes, event.episodes),
  };
  if (winner.recovery !== undefined) merged.recovery = winner.recovery;
  if (winner.movedTo !== undefined) merged.movedTo = { ...winner.movedTo };
  return merged;
};

const episodeOf = (observation: PullObservation): Record<string, FailureEpisode> => ({
  [String(observation.firstSeen)]: {
    count: Math.max(1, observation.count),
    lastSeen: Math.max(observation.lastSeen, observation.firstSeen),
  },
});

const registerOf = (observation: PullObservation): TrackedContainer => ({
  podUid: observation.podUid,
  pod: observation.pod,
  node: observation.node,
  state: observation.kind === 'failed' ? 'failing' : 'recovered',
  at: observation.observedAt,
  ...(observation.kind === 'recovered' ? { recovery: observation.recovery ?? 'left-pull-failure' } : {}),
  episodes: episodeOf(observation),
});

const compareLatest = (a: LatestFailure, b: LatestFailure): number =>
  Number(a.fromFailure) - Number(b.fromFailure) ||
  a.at - b.at ||
  compareText(a.podUid, b.podUid) ||
  compareText(a.message, b.message);

const latestOf = (observation: PullObservation): LatestFailure => ({
  fromFailure: observation.kind === 'failed',
  at: observation.observedAt,
  pod: observation.pod,
  podUid: observation.podUid,
  node: observation.node,
  reason: observation.reason,
  message: observation.message,
  annotations: { ...observation.annotations },
  verdict: observation.verdict,
});

/**
 * The check a latest failure shows: the key names one image and one cause, so an answer stays true of
 * every later failure. A newer answer replaces it only when it says something else: the time shown
 * is when the registry first said it, and a re-check that agrees writes nothing.
 */
const withCheck = (latest: LatestFailure, check: IncidentRegistryCheck | undefined): LatestFailure => {
  const kept = latest.registryCheck;
  if (check === undefined || check === kept) return latest;
  if (kept === undefined) return { ...latest, registryCheck: check };
  if (check.checkedAt <= kept.checkedAt || sameAnswer(check, kept)) return latest;
  return { ...latest, registryCheck: check };
};

// ---------------------------------------------------------------------------------------------
// Transitions

/**
 * Resolves the incident if nothing has failed since its quiet period ended at `now` (a tick's clock,
 * or the time of an event about to be absorbed). The resolution takes effect at the end of the quiet
 * period, whenever it is noticed, so its time does not depend on when a tick ran.
 */
export const settle = (incident: Incident, now: number, windows: IncidentWindows): Incident => {
  if (incident.status !== 'open') return incident;
  const { resolveAt } = figuresOf(incident, windows);
  if (resolveAt === undefined || resolveAt > now) return incident;
  return { ...incident, status: 'resolved', resolvedAt: resolveAt, resolutions: incident.resolutions + 1 };
};

/** Re-derives open/pending after containers changed; a failing container reopens a resolved incident. */
const restatus = (incident: Incident): Incident => {
  const figures = figuresOf(incident);
  if (figures.affectedContainers === 0) return { ...incident, status: 'pending' };
  if (incident.status === 'pending') return { ...incident, status: 'open' };
  if (incident.status === 'resolved' && figures.failingContainers > 0) {
    return { ...incident, status: 'open', reopenCount: incident.reopenCount + 1 };
  }
  return incident;
};

const withContainer = (incident: Incident, containerId: string, event: TrackedContainer): Incident => {
  const seen = incident.containers[containerId];
  const merged = mergeContainer(seen, event);
  if (seen !== undefined && sameValue(seen, merged)) return incident;
  return {
    ...incident,
    containers: { ...incident.containers, [containerId]: merged },
    tally: applyRegister(incident.tally, seen, merged),
    sample: sampleWith(incident.sample, merged),
  };
};

export type Placement =
  /** Absorb into the key's latest incident. */
  | 'current'
  /** The latest incident has ended and its reopen window has passed: start the next generation. */
  | 'next-generation'
  /** The event is older than anything the latest incident tracks: it changes nothing. */
  | 'stale';

/**
 * Where an observation belongs, given the key's latest incident (already settled at the event's
 * time). A failure, or a recovery of a container the incident does not know, more than the reopen
 * window after the incident ended belongs to a new incident of the same key.
 */
export const placeObservation = (
  latest: Incident | undefined,
  observation: PullObservation,
  windows: IncidentWindows,
): Placement => {
  if (latest === undefined) return 'next-generation';
  if (latest.floor !== undefined && observation.observedAt <= latest.floor) return 'stale';
  if (latest.status !== 'resolved') return 'current';
  const { endedAt } = figuresOf(latest, windows);
  const closesAt = (endedAt ?? latest.resolvedAt ?? 0) + windows.reopenWindowMs;
  if (observation.observedAt <= closesAt) return 'current';
  const known = latest.containers[containerIdOf(observation)];
  if (observation.kind === 'recovered' && known !== undefined && known.at >= observation.observedAt) {
    return 'stale';
  }
  return 'next-generation';
};

/** The first incident of a key, or the one after `previous`, ready to absorb its first observation. */
export const nextIncident = (
  previous: Incident | undefined,
  keyId: string,
  key: IncidentKey,
  windows: IncidentWindows,
): Incident => {
  if (previous === undefined) return newIncident(keyId, 1, key);
  const { endedAt } = figuresOf(previous, windows);
  return newIncident(keyId, previous.generation + 1, key, endedAt ?? previous.resolvedAt);
};

/**
 * The incidents of one key that a store holds in memory while it folds observations into them:
 * by generation, as read (`before`, undefined for one not stored yet) and as they are to be written.
 */
export interface KeyState {
  keyId: string;
  key: IncidentKey;
  generations: Map<number, { before?: Incident; after: Incident }>;
}

export const keyState = (keyId: string, key: IncidentKey, stored: readonly Incident[]): KeyState => ({
  keyId,
  key,
  generations: new Map(
    stored.map((incident) => [incident.generation, { before: incident, after: incident }]),
  ),
});

export const latestOfKey = (state: KeyState): Incident | undefined => {
  let latest: Incident | undefined;
  for (const { after } of state.generations.values()) {
    if (latest === undefined || after.generation > latest.generation) latest = after;
  }
  return latest;
};

/** What folding an observation did: where it went, or that it changed nothing (a duplicate, or stale). */
export type FoldOutcome = 'current' | 'next-generation' | 'duplicate' | 'stale';

/**
 * Folds one observation into a key's incidents: settles the latest at the event's time, places the
 * event, and absorbs it into the latest incident or a new generation.
 */
export const foldObservation = (
  state: KeyState,
  observation: PullObservation,
  windows: IncidentWindows,
): FoldOutcome => {
  let latest = latestOfKey(state);
  let settledNow = false;
  if (latest !== undefined) {
    const settled = settle(latest, observation.observedAt, windows);
    if (settled !== latest) {
      state.generations.get(latest.generation)!.after = settled;
      latest = settled;
      settledNow = true;
    }
  }
  const placement = placeObservation(latest, observation, windows);
  if (placement === 'stale') return placement;
  const target = placement === 'current' ? latest! : nextIncident(latest, state.keyId, state.key, windows);
  const absorbed = absorb(target, observation, windows);
  if (placement === 'current' && absorbed === target && !settledNow) return 'duplicate';
  const entry = state.generations.get(target.generation);
  if (entry) entry.after = absorbed;
  else state.generations.set(target.generation, { after: absorbed });
  return placement;
};

/** Applies a cause change to the newest of the key's incidents that tracks the container. */
export const foldMove = (state: KeyState, move: ContainerMove, windows: IncidentWindows): boolean => {
  const newestFirst = [...state.generations.values()].sort((a, b) => b.after.generation - a.after.generation);
  const entry = newestFirst.find(({ after }) => after.containers[move.containerId] !== undefined);
  if (entry === undefined) return false;
  const moved = moveContainer(entry.after, move.containerId, move, windows);
  entry.after = moved;
  return true;
};

/** Settles every open incident of a key at `now` (a scheduled tick). */
export const settleKey = (state: KeyState, now: number, windows: IncidentWindows): void => {
  for (const entry of state.generations.values()) entry.after = settle(entry.after, now, windows);
};

/**
 * The containers whose registers a change made (absent or different before): what the store writes
 * to their rows. The rest of the incident is its head.
 */
export const changedContainers = (
  before: Incident | undefined,
  after: Incident,
): Record<string, TrackedContainer> =>
  Object.fromEntries(
    Object.entries(after.containers).filter(([id, register]) => {
      const seen = before?.containers[id];
      return seen === undefined || !sameValue(seen, register);
    }),
  );

/** What one write's journal may carry: at most this many containers, and about this many bytes. */
export interface JournalBudget {
  containers: number;
  bytes: number;
}

/**
 * About what a container's register takes in a journal, in DynamoDB's item-size terms: its id, pod
 * and node names, and ~110 bytes for the rest (attribute names, state, times, one episode, the kind
 * of recovery). Measured: 213 bytes a register with EKS-style names, estimated 216.
 */
export const journalBytesOf = (observation: PullObservation): number =>
  containerIdOf(observation).length + observation.pod.length + observation.node.length + 110;

/**
 * Splits observations into groups (in order) whose containers fit one journal, so that a write
 * stays small however many containers a batch names and however long their names are. A container
 * is counted once per group; one that alone exceeds the bytes still gets a group.
 */
export const inContainerGroups = (
  observations: readonly PullObservation[],
  budget: JournalBudget,
): PullObservation[][] => {
  const groups: PullObservation[][] = [];
  let current: PullObservation[] = [];
  let named = new Set<string>();
  let bytes = 0;
  for (const observation of observations) {
    const id = containerIdOf(observation);
    if (!named.has(id)) {
      const size = journalBytesOf(observation);
      if (named.size > 0 && (named.size >= budget.containers || bytes + size > budget.bytes)) {
        groups.push(current);
        current = [];
        named = new Set();
        bytes = 0;
      }
      named.add(id);
      bytes += size;
    }
    current.push(observation);
  }
  if (current.length > 0) groups.push(current);
  return groups;
};

/** The generations whose stored form must change, oldest first. */
export const pendingWrites = (state: KeyState): Array<{ before?: Incident; after: Incident }> =>
  [...state.generations.values()]
    .filter(({ before, after }) => before === undefined || !sameIncident(before, after))
    .sort((a, b) => a.after.generation - b.after.generation);

/**
 * Absorbs one observation into the incident it belongs to (see placeObservation). Idempotent and,
 * for the containers and figures, order-insensitive. Returns the same object when nothing changed.
 */
export const absorb = (
  incident: Incident,
  observation: PullObservation,
  windows: IncidentWindows,
): Incident => {
  if (incident.floor !== undefined && observation.observedAt <= incident.floor) return incident;
  const settled = settle(incident, observation.observedAt, windows);
  let next = withContainer(settled, containerIdOf(observation), registerOf(observation));
  if (observation.kind === 'recovered') {
    next = {
      ...next,
      tally: withRecoveryTime(
        next.tally,
        observation.recovery ?? 'left-pull-failure',
        observation.observedAt,
      ),
    };
  }
  if (next.latest === undefined || compareLatest(latestOf(observation), next.latest) > 0) {
    const carried = withCheck(latestOf(observation), next.latest?.registryCheck);
    next = { ...next, latest: withCheck(carried, observation.registryCheck) };
  } else if (observation.registryCheck !== undefined) {
    next = { ...next, latest: withCheck(next.latest, observation.registryCheck) };
  }
  next = restatus(next);
  return sameIncident(incident, next) ? incident : next;
};

/**
 * Records that a container of this incident now fails for another cause (a newer failure of the same
 * workload, container and image was classified differently). The container stops counting as failing
 * here; the incident says where it went.
 */
export interface ContainerMove {
  containerId: string;
  /** observedAt of the failure with the new cause. */
  at: number;
  pod: string;
  node: string;
  cause: CauseId;
  incidentId: string;
}

export const moveContainer = (
  incident: Incident,
  containerId: string,
  move: Omit<ContainerMove, 'containerId'>,
  windows: IncidentWindows,
): Incident => {
  const seen = incident.containers[containerId];
  if (seen === undefined) return incident;
  const settled = settle(incident, move.at, windows);
  const next = restatus(
    withContainer(settled, containerId, {
      podUid: seen.podUid,
      pod: move.pod,
      node: move.node,
      state: 'moved',
      at: move.at,
      movedTo: { cause: move.cause, incidentId: move.incidentId },
      episodes: {},
    }),
  );
  return sameIncident(incident, next) ? incident : next;
};

// ---------------------------------------------------------------------------------------------
// What changed

export type IncidentChange = 'opened' | 'updated' | 'reopened' | 'resolved';

/**
 * What a write from `before` to `after` means to the outside world. Empty when nothing changed
 * (a duplicate) or when the incident is still pending.
 */
export const changesBetween = (before: Incident | undefined, after: Incident): IncidentChange[] => {
  if (before !== undefined && sameIncident(before, after)) return [];
  if (after.status === 'pending') return [];
  const wasVisible = before !== undefined && before.status !== 'pending';
  const changes: IncidentChange[] = [];
  if (!wasVisible) changes.push('opened');
  else if (after.reopenCount > before.reopenCount) changes.push('reopened');
  if (after.resolutions > (before?.resolutions ?? 0)) changes.push('resolved');
  if (changes.length === 0) changes.push('updated');
  return changes;
};

// ---------------------------------------------------------------------------------------------
// Equality that ignores key order (items come back from the store with their maps reordered) and
// absent attributes (the store drops undefined ones). Structural, without serialising: dedupe
// compares every incident it folds, and an incident can hold hundreds of containers.

const definedKeys = (value: object): string[] =>
  Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined);

export const sameValue = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, index) => sameValue(item, b[index]))
    );
  }
  const keys = definedKeys(a);
  if (keys.length !== definedKeys(b).length) return false;
  return keys.every((key) =>
    sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
};

export const sameIncident = (a: Incident, b: Incident): boolean => sameValue(a, b);
