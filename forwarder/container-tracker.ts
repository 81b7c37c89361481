/**
 * The tracker: per container, the failure episode and what was last shipped for it. Pure: callers
 * pass `now`.
 */
import type { ContainerType, RecoveryKind, Workload } from '#shared/contract';
import type { PodContext, PodObservation } from './observe';

/** One container's failure, from the moment it enters the pull-failure state until it leaves. */
export interface Episode extends PodContext {
  key: string;
  container: string;
  containerType: ContainerType;
  image: string;
  reason: string;
  message: string;
  informative: boolean;
  /** The fingerprint last shipped; a new text is shipped when its fingerprint differs. */
  fingerprint: string;
  workload: Workload;
  firstSeen: string;
  lastSeen: string;
  count: number;
  /** Arrival number of the text (see PullFailure.seq); not kept across restarts. */
  textSeq?: number;
}

export type Decision =
  | { kind: 'failed'; change: 'entered' | 'text-changed'; episode: Episode }
  | { kind: 'recovered'; recovery: RecoveryKind; episode: Episode };

export const episodeKey = (podUid: string, container: string): string => `${podUid}/${container}`;

const earliest = (a: string, b: string | undefined): string => (b !== undefined && b < a ? b : a);

interface Tracked {
  episode: Episode;
  /** False while a failure with only a bare back-off line waits for an informative text. */
  shipped: boolean;
  /** Epoch ms until which an unshipped failure waits. */
  holdUntil: number;
}

/** How long a failure whose only text is "Back-off pulling image" waits for the kubelet's event. */
export const DEFAULT_HOLD_MS = 3000;

/**
 * Decides what to ship. It ships a failure when a container enters the pull-failure state and
 * again when the error text changes; a recovery when the container starts, leaves the state, or its
 * pod is deleted. Seen again without change (relist, re-watch, restart from a checkpoint), it ships
 * nothing.
 *
 * A failure known only by a bare "Back-off pulling image" line is held for `holdMs`, because the
 * kubelet's event with the real error usually arrives on another watch a moment later: it is shipped
 * as soon as an informative text arrives, or with the bare line when the hold ends (the caller
 * re-observes the pod at `heldUntil`). A held failure that recovers was never announced, so its
 * recovery is not shipped either.
 */
export class ContainerTracker {
  private readonly tracked = new Map<string, Tracked>();
  private readonly byPod = new Map<string, Set<string>>();

  /** Starts from episodes shipped before (a checkpoint), so a restart does not re-ship them. */
  constructor(
    shipped: Iterable<Episode> = [],
    private readonly holdMs = DEFAULT_HOLD_MS,
  ) {
    for (const episode of shipped) this.remember({ episode: { ...episode }, shipped: true, holdUntil: 0 });
  }

  private remember(entry: Tracked): void {
    this.tracked.set(entry.episode.key, entry);
    let keys = this.byPod.get(entry.episode.podUid);
    if (keys === undefined) {
      keys = new Set();
      this.byPod.set(entry.episode.podUid, keys);
    }
    keys.add(entry.episode.key);
  }

  private forget(entry: Tracked): void {
    this.tracked.delete(entry.episode.key);
    const keys = this.byPod.get(entry.episode.podUid);
    keys?.delete(entry.episode.key);
    if (keys !== undefined && keys.size === 0) this.byPod.delete(entry.episode.podUid);
  }

  /** Whether a pod has containers in a failure episode. */
  tracks(podUid: string): boolean {
    return this.byPod.has(podUid);
  }

  /** Containers failing to pull right now (held ones included). */
  get failingCount(): number {
    return this.tracked.size;
  }

  podUids(): string[] {
    return [...this.byPod.keys()];
  }

  /** When the earliest held failure of a pod must be looked at again, if one is held. */
  heldUntil(podUid: string): Date | undefined {
    let until: number | undefined;
    for (const key of this.byPod.get(podUid) ?? []) {
      const entry = this.tracked.get(key);
      if (entry !== undefined && !entry.shipped) until = Math.min(until ?? Infinity, entry.holdUntil);
    }
    return until === undefined ? undefined : new Date(until);
  }

  /** Copies of every shipped, open episode. */
  snapshot(): Episode[] {
    return [...this.tracked.values()].filter((entry) => entry.shipped).map((entry) => ({ ...entry.episode }));
  }

  private end(entry: Tracked, recovery: RecoveryKind, episode: Episode, decisions: Decision[]): void {
    this.forget(entry);
    if (entry.shipped) decisions.push({ kind: 'recovered', recovery, episode });
  }

  /** Applies a fresh observation of a pod. `workload` is needed only when something is failing. */
  observe(observation: PodObservation, workload: Workload, now: Date): Decision[] {
    const at = now.toISOString();
    const { context } = observation;
    const decisions: Decision[] = [];
    const seen = new Set<string>();
    for (const container of observation.containers) {
      const key = episodeKey(context.podUid, container.name);
      seen.add(key);
      const entry = this.tracked.get(key);
      const { condition } = container;
      if (condition.state !== 'failing') {
        if (entry !== undefined) {
          const recovery = condition.state === 'started' ? 'started' : 'left-pull-failure';
          this.end(entry, recovery, { ...entry.episode, ...context }, decisions);
        }
        continue;
      }
      const { failure } = condition;
      if (entry === undefined) {
        const episode: Episode = {
          ...context,
          key,
          container: container.name,
          containerType: container.type,
          image: container.image,
          reason: failure.reason,
          message: failure.message,
          informative: failure.informative,
          fingerprint: failure.fingerprint,
          workload,
          firstSeen: earliest(at, failure.firstSeen),
          lastSeen: failure.lastSeen ?? at,
          count: failure.count ?? 1,
          ...(failure.seq === undefined ? {} : { textSeq: failure.seq }),
        };
        const ship = failure.informative || this.holdMs <= 0;
        this.remember({ episode, shipped: ship, holdUntil: now.getTime() + this.holdMs });
        if (ship) decisions.push({ kind: 'failed', change: 'entered', episode: { ...episode } });
        continue;
      }
      // Same episode: refresh what may drift, and keep the best text seen so far.
      const { episode } = entry;
      // A status message is current; an event is stale unless it arrived after the text we have.
      const stale =
        failure.source === 'event' &&
        failure.seq !== undefined &&
        episode.textSeq !== undefined &&
        failure.seq <= episode.textSeq;
      const replacesText = failure.informative ? !stale : !episode.informative;
      const changed = replacesText && failure.fingerprint !== episode.fingerprint;
      Object.assign(episode, context, {
        containerType: container.type,
        image: container.image,
        reason: failure.reason,
        workload,
        firstSeen: earliest(episode.firstSeen, failure.firstSeen),
        lastSeen:
          failure.lastSeen !== undefined && failure.lastSeen > episode.lastSeen
            ? failure.lastSeen
            : episode.lastSeen,
        count: Math.max(episode.count, failure.count ?? 1),
      });
      if (replacesText) {
        episode.message = failure.message;
        episode.informative = failure.informative;
        episode.fingerprint = failure.fingerprint;
        if (failure.seq !== undefined) episode.textSeq = failure.seq;
      }
      if (!entry.shipped) {
        if (episode.informative || now.getTime() >= entry.holdUntil) {
          entry.shipped = true;
          decisions.push({ kind: 'failed', change: 'entered', episode: { ...episode } });
        }
      } else if (changed) {
        episode.lastSeen = failure.lastSeen ?? at;
        decisions.push({ kind: 'failed', change: 'text-changed', episode: { ...episode } });
      }
    }
    // A container that disappeared from the pod's spec is no longer failing.
    for (const key of this.byPod.get(context.podUid) ?? []) {
      const entry = this.tracked.get(key);
      if (seen.has(key) || entry === undefined) continue;
      this.end(entry, 'left-pull-failure', { ...entry.episode }, decisions);
    }
    return decisions;
  }

  /** The pod is gone: every container of it that was failing has recovered by deletion. */
  podDeleted(podUid: string): Decision[] {
    const decisions: Decision[] = [];
    for (const key of [...(this.byPod.get(podUid) ?? [])]) {
      const entry = this.tracked.get(key);
      if (entry !== undefined) this.end(entry, 'pod-deleted', { ...entry.episode }, decisions);
    }
    return decisions;
  }

  /**
   * After a full list: episodes of pods that no longer exist (deleted while nobody watched) become
   * `pod-deleted` recoveries. `inScope` limits this to namespaces still being watched.
   */
  reconcile(livePodUids: ReadonlySet<string>, inScope: (namespace: string) => boolean): Decision[] {
    const decisions: Decision[] = [];
    for (const podUid of this.podUids()) {
      if (livePodUids.has(podUid)) continue;
      const sample = this.tracked.get([...(this.byPod.get(podUid) ?? [])][0] ?? '');
      if (sample !== undefined && !inScope(sample.episode.namespace)) continue;
      decisions.push(...this.podDeleted(podUid));
    }
    return decisions;
  }
}
