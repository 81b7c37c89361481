/**
 * dedupe: ImagePullClassified (through a queue) → the incident table → incident events on the bus.
 * Also the scheduled tick that resolves incidents whose quiet period has ended.
 *
 * For each incident key in a batch: read the key's latest incidents, fold the observations in
 * (shared/incident.ts, pure), and write what changed with a condition on the version read. A
 * concurrent writer makes the condition fail; then read again and fold again (the fold is
 * idempotent, so an observation someone else already absorbed changes nothing the second time).
 *
 * The events describing a change are written in the same item (`outbox`) as the change itself, then
 * published, then removed. A crash between the write and the publish leaves them in the item; the
 * retry (SQS redelivers after the visibility timeout), or any later write to the key, publishes
 * those older than a grace period (younger ones are still being published by their writer).
 * Consumers drop repeats by `eventId`.
 *
 * Removing published events is one more write per change. Where one process does all the writing
 * (local mode), they can instead be remembered (PublishedOutbox): the incident's next write removes
 * them on the way, and a flush removes those still there after a short delay.
 */
import type { CauseId } from '#shared/diagnosis/causes';
import {
  type ContainerMove,
  type FoldOutcome,
  type IncidentWindows,
  type PullObservation,
  changedContainers,
  changesBetween,
  containerIdOf,
  inContainerGroups,
  type JournalBudget,
  foldMove,
  foldObservation,
  incidentIdOfIncident,
  keyState,
  latestOfKey,
  pendingWrites,
  settleKey,
} from '#shared/incident';
import { incidentDetailOf } from '#shared/incident-detail';
import { detailTypeOfChange, observationOf, parseClassifiedEvent } from '#shared/incident-events';
import { type IncidentKey, keyIdOf } from '#shared/incident-key';
import { createQueueHandler, flushingMetrics, handleGroups, inParallel } from '../_common/batch';
import { TooManyConflicts, untilWritten } from '../_common/conflict-retry';
import { type EventPublisher, publishAll } from '../_common/event-publisher';
import {
  type ContainerPointer,
  type HeadVersion,
  type IncidentRef,
  type ContainerPointers,
  type Incidents,
  IncidentWriteConflict,
  type OutboxEntry,
} from '../_common/incident-store';
import {
  type Log,
  METRIC,
  type MetricName,
  type PipelineMetrics,
  describeError,
} from '../_common/observability';
import { abandonedEntries } from '../_common/versioned-item';

export interface DedupeDeps {
  store: Incidents & ContainerPointers;
  publisher: EventPublisher;
  windows: IncidentWindows;
  log: Log;
  metrics: PipelineMetrics;
  now: () => Date;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Reads and folds again at most this often when concurrent writers keep winning. */
  maxAttempts?: number;
  /** Keys handled at once within one batch. */
  concurrency?: number;
  /** Outbox entries older than this are assumed abandoned by their writer and published (default 20 s). */
  outboxGraceMs?: number;
  /** What becomes of published outbox entries (default: removed at once; see the file comment). */
  outboxCleanup?: OutboxCleanup;
}

/** What becomes of an incident's outbox entries once their events are published. */
export interface OutboxCleanup {
  /** Published events whose entries the next write to `ref` removes on the way (taken out). */
  take(ref: IncidentRef): string[];
  /** What `take` gave, back: that write did not happen. */
  putBack(ref: IncidentRef, eventIds: readonly string[], now: number): void;
  /** Their events were just published. */
  published(ref: IncidentRef, eventIds: readonly string[], now: number): Promise<void>;
}

/** Where writers take turns on an incident (Lambda): published entries are removed at once. */
export const clearAtOnce = (store: Pick<Incidents, 'clearOutbox'>): OutboxCleanup => ({
  take: () => [],
  putBack: () => {},
  published: (ref, eventIds) => store.clearOutbox(ref, eventIds),
});

/**
 * Events published by this process whose outbox entries are still in their incident's item: for
 * the only writer of a store (local mode), whose next write removes them (or `flushPublished`).
 */
export class PublishedOutbox implements OutboxCleanup {
  private readonly pending = new Map<string, { ref: IncidentRef; eventIds: string[]; since: number }>();

  /** Entries left longer than this are removed by `flushPublished` (well within the outbox grace). */
  constructor(readonly delayMs = 1000) {}

  private static idOf(ref: IncidentRef): string {
    return `${ref.keyId}#${ref.generation}`;
  }

  async published(ref: IncidentRef, eventIds: readonly string[], now: number): Promise<void> {
    this.putBack(ref, eventIds, now);
  }

  putBack(ref: IncidentRef, eventIds: readonly string[], now: number): void {
    if (eventIds.length === 0) return;
    const id = PublishedOutbox.idOf(ref);
    const seen = this.pending.get(id);
    this.pending.set(id, {
      ref,
      eventIds: [...(seen?.eventIds ?? []), ...eventIds],
      since: Math.min(seen?.since ?? now, now),
    });
  }

  take(ref: IncidentRef): string[] {
    const id = PublishedOutbox.idOf(ref);
    const seen = this.pending.get(id);
    this.pending.delete(id);
    return seen?.eventIds ?? [];
  }

  /** Takes out the entries left since `before` or earlier (all of them without `before`). */
  takeDue(before?: number): Array<{ ref: IncidentRef; eventIds: string[] }> {
    const due = [...this.pending.entries()].filter(
      ([, entry]) => before === undefined || entry.since <= before,
    );
    for (const [id] of due) this.pending.delete(id);
    return due.map(([, { ref, eventIds }]) => ({ ref, eventIds }));
  }
}

/** Removes the published events no write has removed within the delay (all of them with `all`). */
export const flushPublished = async (
  deps: DedupeDeps & { outboxCleanup: PublishedOutbox },
  all = false,
): Promise<void> => {
  const published = deps.outboxCleanup;
  const now = deps.now().getTime();
  const due = published.takeDue(all ? undefined : now - published.delayMs);
  await inParallel(due, deps.concurrency ?? 4, async ({ ref, eventIds }) => {
    try {
      await deps.store.clearOutbox(ref, eventIds);
    } catch (error) {
      published.putBack(ref, eventIds, now);
      throw error;
    }
  });
};

const CHANGE_METRIC: Record<string, MetricName> = {
  opened: METRIC.incidentsOpened,
  updated: METRIC.incidentsUpdated,
  reopened: METRIC.incidentsReopened,
  resolved: METRIC.incidentsResolved,
};

export interface KeyWork {
  key?: IncidentKey;
  observations: readonly PullObservation[];
  /** Cause changes of containers this key's incidents track. */
  moves?: readonly ContainerMove[];
  /** A scheduled tick's time: settle what is due. */
  tickAt?: number;
}

/**
 * A head write carries the registers it changed (its journal): a batch that names more containers
 * than one journal takes is folded and written in turns. The head's own attributes take ~1.8 KB (a
 * fleet incident's, measured by bench:fleet), so ~2.2 KB of registers keep it under 4 KB: a batch of
 * the event source's 10 with EKS-style pod and node names, up to 20 with short ones.
 */
export const JOURNAL_BUDGET: JournalBudget = { containers: 20, bytes: 2200 };

/**
 * Container pointers written at once (each is one small conditional put): a fleet's batch of a
 * hundred containers goes in three rounds instead of seven, within the SDK's 50 sockets a client.
 */
const POINTER_WRITES_AT_ONCE = 48;

/**
 * Folds observations, cause changes and/or a tick into one key's incidents, writes, and publishes
 * what changed. Returns the id of the key's latest incident (undefined if it has none).
 */
export const reconcileKey = async (
  deps: DedupeDeps,
  keyId: string,
  work: KeyWork,
): Promise<string | undefined> => {
  const groups = inContainerGroups(work.observations, JOURNAL_BUDGET);
  if (groups.length <= 1) return (await reconcileOnce(deps, keyId, work)).latest;
  let turn: Turn | undefined;
  for (const [index, observations] of groups.entries()) {
    // Each turn after the first knows the head the one before left: its rows come with the heads.
    turn = await reconcileOnce(
      deps,
      keyId,
      index === 0 ? { ...work, observations } : { observations },
      turn?.head,
    );
  }
  return turn?.latest;
};

/** What one turn of a fold did: the key's latest incident's id, and its head as the turn left it. */
interface Turn {
  latest?: string;
  head?: HeadVersion;
}

const reconcileOnce = (
  deps: DedupeDeps,
  keyId: string,
  work: KeyWork,
  /** The head the previous turn left (only the first attempt counts on it: a conflict means it moved). */
  previous?: HeadVersion,
): Promise<Turn> => {
  const { store, windows, metrics } = deps;
  const cleanup = deps.outboxCleanup ?? clearAtOnce(store);
  const containerIds = [
    ...work.observations.map(containerIdOf),
    ...(work.moves ?? []).map((move) => move.containerId),
  ];
  const retry = {
    maxAttempts: deps.maxAttempts ?? 25,
    ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
    ...(deps.random === undefined ? {} : { random: deps.random }),
    isConflict: (error: unknown) => error instanceof IncidentWriteConflict,
    onConflict: () => metrics.count(METRIC.writeConflicts),
  };
  let attempts = 0;
  return untilWritten(keyId, retry, async (): Promise<Turn> => {
    const stored = await store.loadKey(keyId, containerIds, attempts++ === 0 ? previous : undefined);
    const key = work.key ?? stored[0]?.incident.key;
    if (key === undefined) return {};
    const versions = new Map(stored.map((item) => [item.incident.generation, item.version]));
    const journals = new Map(stored.map((item) => [item.incident.generation, item.journal]));
    const state = keyState(
      keyId,
      key,
      stored.map((item) => item.incident),
    );
    const outcomes: FoldOutcome[] = work.observations.map((observation) =>
      foldObservation(state, observation, windows),
    );
    for (const move of work.moves ?? []) foldMove(state, move, windows);
    if (work.tickAt !== undefined) settleKey(state, work.tickAt, windows);
    const latest = latestOfKey(state);

    const now = deps.now().getTime();
    // Events published earlier and left in the outbox: the writes below remove them; those of
    // incidents not written go back (to wait for a later write, or the flush).
    const published = new Map(
      stored.map(({ incident: { generation } }) => [generation, cleanup.take({ keyId, generation })]),
    );
    const putBackPublished = () => {
      for (const [generation, eventIds] of published) cleanup.putBack({ keyId, generation }, eventIds, now);
    };
    // Events of earlier writes that were never published (a crash after the write): publish them too.
    const unpublished = new Map<number, OutboxEntry[]>(
      stored.map((item) => [
        item.incident.generation,
        abandonedEntries(item.outbox, now, deps.outboxGraceMs).filter(
          (entry) => !published.get(item.incident.generation)?.includes(entry.eventId),
        ),
      ]),
    );
    try {
      for (const { before, after } of pendingWrites(state)) {
        const expectedVersion = versions.get(after.generation) ?? 0;
        const version = expectedVersion + 1;
        const changes = changesBetween(before, after);
        const outbox: OutboxEntry[] = changes.map((change) => ({
          eventId: incidentDetailOf(after, version, change, windows).eventId,
          detailType: detailTypeOfChange(change),
          change,
          version,
          writtenAt: now,
        }));
        const readJournal = journals.get(after.generation);
        await store.saveIncident({
          keyId,
          generation: after.generation,
          expectedVersion,
          ...(readJournal === undefined ? {} : { readJournal }),
          incident: after,
          changed: changedContainers(before, after),
          resolvedChanged: (before?.status === 'resolved') !== (after.status === 'resolved'),
          outbox,
          ...(expectedVersion === 0 ? {} : { published: published.get(after.generation) ?? [] }),
        });
        published.delete(after.generation);
        versions.set(after.generation, version);
        unpublished.set(after.generation, [...(unpublished.get(after.generation) ?? []), ...outbox]);
        for (const change of changes) metrics.count(CHANGE_METRIC[change]!);
      }
    } finally {
      putBackPublished();
    }
    metrics.count(METRIC.duplicatesAbsorbed, outcomes.filter((outcome) => outcome === 'duplicate').length);
    metrics.count(METRIC.staleObservations, outcomes.filter((outcome) => outcome === 'stale').length);

    for (const [generation, entries] of unpublished) {
      if (entries.length === 0) continue;
      // The detail is the incident as this write left it; an event of an earlier write (published
      // late) keeps its own id and version.
      const incident = state.generations.get(generation)!.after;
      const current = versions.get(generation) ?? 0;
      await publishAll(
        deps.publisher,
        entries.map(({ detailType, change, version }) => ({
          detailType,
          detail: incidentDetailOf(incident, Math.max(current, version), change, windows, version),
        })),
      );
      metrics.count(METRIC.eventsPublished, entries.length);
      await cleanup.published(
        { keyId, generation },
        entries.map((entry) => entry.eventId),
        now,
      );
    }
    if (latest === undefined) return {};
    const version = versions.get(latest.generation);
    return {
      latest: incidentIdOfIncident(latest),
      ...(version === undefined ? {} : { head: { generation: latest.generation, version } }),
    };
  });
};

/**
 * Keeps each container's pointer at the key of its newest failure. When a container's newest
 * failure is classified under another key than before (the registry's answer changed the cause),
 * the incident it leaves records the move, so that it can resolve and its message says so. Crash
 * safe: the pointer is written first and keeps `movedFrom`, so a retry of the same failure tells
 * that incident again; recording a move is idempotent.
 */
export const trackCauseChanges = async (
  deps: DedupeDeps,
  keyId: string,
  incidentId: string,
  failures: readonly PullObservation[],
): Promise<void> => {
  const newest = new Map<string, PullObservation>();
  for (const failure of failures) {
    const id = containerIdOf(failure);
    const seen = newest.get(id);
    if (seen === undefined || failure.observedAt > seen.observedAt) newest.set(id, failure);
  }
  const pointerWork = (containerId: string, failure: PullObservation) => {
    const ref = {
      cluster: failure.key.cluster,
      namespace: failure.key.namespace,
      podUid: failure.podUid,
      container: failure.key.container,
    };
    const move = (cause: CauseId, toIncident: string, at: number): ContainerMove => ({
      containerId,
      at,
      pod: failure.pod,
      node: failure.node,
      cause,
      incidentId: toIncident,
    });
    const pointerOf = (movedFrom?: string): ContainerPointer => ({
      keyId,
      cause: failure.key.cause,
      incidentId,
      at: failure.observedAt,
      ...(movedFrom === undefined ? {} : { movedFrom }),
    });
    return { ref, move, pointerOf };
  };
  // The usual case, a container's first failure or a later one of the same cause: one write each,
  // many at once (a fleet's batch names a hundred containers). The rest, one at a time below.
  const readFirst: Array<[string, PullObservation]> = [];
  await inParallel([...newest], POINTER_WRITES_AT_ONCE, async ([containerId, failure]) => {
    const { ref, pointerOf } = pointerWork(containerId, failure);
    if (!(await deps.store.putContainerPointer(ref, pointerOf(), { kind: 'advance' })))
      readFirst.push([containerId, failure]);
  });
  for (const [containerId, failure] of readFirst) {
    const { ref, move, pointerOf } = pointerWork(containerId, failure);
    for (let attempt = 1; ; attempt++) {
      const pointer = await deps.store.getContainerPointer(ref);
      // Newer: a later failure, or (same instant, another cause) the larger key id, so that both
      // sides of a tie agree on one winner.
      const newer =
        pointer !== undefined &&
        (pointer.at > failure.observedAt || (pointer.at === failure.observedAt && pointer.keyId > keyId));
      if (pointer !== undefined && newer) {
        // This failure is older than the container's newest one: if that was another cause, the
        // container has already moved on from this key.
        if (pointer.keyId !== keyId) {
          await reconcileKey(deps, keyId, {
            observations: [],
            moves: [move(pointer.cause, pointer.incidentId, pointer.at)],
          });
        }
        break;
      }
      const samePointer =
        pointer !== undefined && pointer.at === failure.observedAt && pointer.keyId === keyId;
      const movedFrom = samePointer
        ? pointer.movedFrom
        : pointer !== undefined && pointer.keyId !== keyId
          ? pointer.keyId
          : undefined;
      if (!samePointer || pointer.incidentId !== incidentId) {
        const written = await deps.store.putContainerPointer(ref, pointerOf(movedFrom), {
          kind: 'read',
          at: pointer?.at,
        });
        if (!written) {
          if (attempt >= (deps.maxAttempts ?? 25)) throw new TooManyConflicts(`pointer of ${containerId}`);
          continue;
        }
      }
      if (movedFrom !== undefined) {
        await reconcileKey(deps, movedFrom, {
          observations: [],
          moves: [move(failure.key.cause, incidentId, failure.observedAt)],
        });
        if (!samePointer) deps.metrics.count(METRIC.causeChanges);
      }
      break;
    }
  }
};

/** The queue-fed handler: a batch of ImagePullClassified events. */
export const createDedupeHandler = (deps: DedupeDeps) =>
  createQueueHandler(deps, {
    stage: 'dedupe',
    parse: (input) => observationOf(parseClassifiedEvent(input).detail),
    handle: (items) =>
      handleGroups(items, {
        groupOf: (observation) => keyIdOf(observation.key),
        concurrency: deps.concurrency ?? 4,
        handle: async (group, keyId) => {
          const observations = group.map(({ item }) => item);
          const incidentId = await reconcileKey(deps, keyId, { key: observations[0]!.key, observations });
          const failures = observations.filter((observation) => observation.kind === 'failed');
          if (incidentId !== undefined && failures.length > 0) {
            await trackCauseChanges(deps, keyId, incidentId, failures);
          }
        },
        failed: (error, group, keyId) =>
          deps.log.warn('incident not updated; the records will be retried', {
            keyId,
            records: group.length,
            ...describeError(error),
          }),
      }),
  });

export interface TickResult {
  due: number;
  failed: number;
}

/**
 * The scheduled tick (every minute): resolves incidents whose quiet period has ended. A failure is
 * thrown after every due incident was tried, so the schedule's retry comes back for it.
 */
export const createTickHandler = (deps: DedupeDeps & { tickLimit?: number }) =>
  flushingMetrics(deps, async (): Promise<TickResult> => {
    const now = deps.now().getTime();
    const due = await deps.store.dueForResolution(now, deps.tickLimit ?? 500);
    const keyIds = [...new Set(due.map((ref) => ref.keyId))];
    let failed = 0;
    await inParallel(keyIds, deps.concurrency ?? 4, async (keyId) => {
      try {
        await reconcileKey(deps, keyId, { observations: [], tickAt: now });
      } catch (error) {
        failed++;
        deps.log.warn('due incident not settled', { keyId, ...describeError(error) });
      }
    });
    if (failed > 0) throw new Error(`${failed} of ${keyIds.length} due incidents not settled`);
    return { due: keyIds.length, failed };
  });
