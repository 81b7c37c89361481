/**
 * Turns informer callbacks into shipped events. Changed pods are marked dirty (by UID, latest
 * object wins) and one worker observes them in order: observe → resolve workload → tracker
 * decisions → shipper. Bursts of updates to one pod collapse into one observation, and the shipper's
 * back-pressure slows the worker, never the informers.
 */
import type { ContainerTracker, Decision } from './container-tracker';
import type { PodEventIndex } from './event-index';
import { type EventLike, type PodLike, text } from './kube-objects';
import { hasFailure, observePod } from './observe';
import { type OutgoingEvent, eventFor } from './outgoing-events';
import { resolveWorkload } from './workload-resolution';
import { type Logger, describeError } from './log';
import type { WorkloadDirectory } from './workloads';

export interface ReconcilerOptions {
  cluster: string;
  tracker: ContainerTracker;
  events: PodEventIndex;
  workloads: WorkloadDirectory;
  /** The pod informer's cache: the current pod by namespace and name. */
  podByName: (namespace: string, name: string) => PodLike | undefined;
  ship: (event: OutgoingEvent) => Promise<void>;
  log: Logger;
  now?: () => Date;
  onObservation?: (kind: 'failed' | 'recovered') => void;
}

interface Dirty {
  pod: PodLike;
  deleted: boolean;
}

export class PodReconciler {
  private readonly dirty = new Map<string, Dirty>();
  /** Pods with a held failure, and the timer that looks at them again when the hold ends. */
  private readonly holds = new Map<string, NodeJS.Timeout>();
  private running: Promise<void> | undefined;
  private readonly now: () => Date;
  /** When the worker last finished a pod (epoch ms); with a backlog, an old value means it is stuck. */
  lastProgressAt = Date.now();
  /** True while the worker waits for room in the shipper's queue (back-pressure, not a hang). */
  waitingOnShipper = false;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  get backlog(): number {
    return this.dirty.size;
  }

  podChanged(pod: PodLike): void {
    const uid = text(pod.metadata?.uid);
    if (uid === undefined || uid === '') return;
    const previous = this.dirty.get(uid);
    if (previous?.deleted) return;
    this.mark(uid, { pod, deleted: false });
  }

  podDeleted(pod: PodLike): void {
    const uid = text(pod.metadata?.uid);
    if (uid === undefined || uid === '') return;
    this.mark(uid, { pod, deleted: true });
  }

  eventChanged(event: EventLike): void {
    const uid = this.options.events.upsert(event);
    if (uid !== undefined) this.podOfEventChanged(event, uid);
  }

  eventDeleted(event: EventLike): void {
    // An expired event does not change what a pod is doing; only forget it.
    this.options.events.remove(event);
  }

  private podOfEventChanged(event: EventLike, uid: string): void {
    const namespace = text(event.involvedObject?.namespace) ?? text(event.metadata?.namespace) ?? '';
    const name = text(event.involvedObject?.name) ?? '';
    const pod = this.options.podByName(namespace, name);
    if (pod?.metadata?.uid === uid) this.podChanged(pod);
  }

  /** Ships `pod-deleted` recoveries for failing pods that are gone (after a full list). */
  async reconcileGone(
    livePodUids: ReadonlySet<string>,
    inScope: (namespace: string) => boolean,
  ): Promise<void> {
    const decisions = this.options.tracker.reconcile(livePodUids, inScope);
    for (const decision of decisions) this.options.events.forgetPod(decision.episode.podUid);
    await this.shipAll(decisions);
  }

  private mark(uid: string, entry: Dirty): void {
    this.dirty.delete(uid);
    this.dirty.set(uid, entry);
    this.kick();
  }

  private kick(): void {
    if (this.running !== undefined) return;
    this.running = this.work().finally(() => {
      this.running = undefined;
      if (this.dirty.size > 0) this.kick();
    });
  }

  private firstDirty(): [string, Dirty] {
    const first = this.dirty.entries().next().value;
    if (first === undefined) throw new Error('no dirty pod');
    this.dirty.delete(first[0]);
    return first;
  }

  /** Resolves when every pod marked so far has been observed. */
  async drained(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async work(): Promise<void> {
    while (this.dirty.size > 0) {
      const [uid, entry] = this.firstDirty();
      try {
        await this.process(uid, entry);
      } catch (error) {
        this.options.log.error('could not observe a pod', {
          namespace: entry.pod.metadata?.namespace,
          pod: entry.pod.metadata?.name,
          ...describeError(error),
        });
      }
      this.lastProgressAt = Date.now();
    }
  }

  private async process(uid: string, { pod, deleted }: Dirty): Promise<void> {
    const { tracker, events, workloads } = this.options;
    let decisions: Decision[];
    if (deleted) {
      decisions = tracker.podDeleted(uid);
      events.forgetPod(uid);
      this.clearHold(uid);
    } else {
      const observation = observePod(pod, events.eventsFor(uid), events.horizon);
      if (!hasFailure(observation) && !tracker.tracks(uid)) return;
      if (hasFailure(observation)) await workloads.prefetch(pod);
      decisions = tracker.observe(observation, resolveWorkload(pod, workloads.lookup), this.now());
      this.scheduleHold(uid, pod);
    }
    await this.shipAll(decisions);
  }

  private scheduleHold(uid: string, pod: PodLike): void {
    this.clearHold(uid);
    const until = this.options.tracker.heldUntil(uid);
    if (until === undefined) return;
    const timer = setTimeout(
      () => {
        this.holds.delete(uid);
        const current = this.options.podByName(
          text(pod.metadata?.namespace) ?? '',
          text(pod.metadata?.name) ?? '',
        );
        if (current?.metadata?.uid === uid) this.podChanged(current);
      },
      Math.max(0, until.getTime() - this.now().getTime()) + 1,
    );
    timer.unref();
    this.holds.set(uid, timer);
  }

  private clearHold(uid: string): void {
    const timer = this.holds.get(uid);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.holds.delete(uid);
  }

  /** Cancels pending re-observations (at shutdown). */
  close(): void {
    for (const timer of this.holds.values()) clearTimeout(timer);
    this.holds.clear();
  }

  private async shipAll(decisions: readonly Decision[]): Promise<void> {
    const now = this.now();
    for (const decision of decisions) {
      this.options.onObservation?.(decision.kind);
      this.waitingOnShipper = true;
      try {
        await this.options.ship(eventFor(decision, this.options.cluster, now));
      } finally {
        this.waitingOnShipper = false;
      }
    }
  }
}
