/** The Warning events that matter, indexed by pod UID. Only these few fields are kept. Pure. */
import { type EventLike, iso, numberOf, text } from './kube-objects';
import { isSignatureRejectionEvent } from './pull-text';

export interface PodEventFacts {
  /** Arrival order in the index: breaks ties between events with the same (second-precision) time. */
  seq?: number;
  /** The container named by the event's fieldPath, or undefined for pod-level events. */
  container?: string;
  kind: 'pull-error' | 'pull-secret-warning';
  reason: string;
  message: string;
  firstSeen?: string;
  lastSeen?: string;
  count: number;
}

const FIELD_PATH_CONTAINER = /^spec\.(?:initContainers|containers|ephemeralContainers)\{(.+)\}$/;
const PULL_SECRET_REASON = 'FailedToRetrieveImagePullSecret';
const PULL_ERROR_TEXT =
  /^Failed to (?:pull|inspect) image\b|^Failed to apply default image tag\b|is not present with pull policy of Never/;

/** The facts of a pod Warning event that pullwatch uses, or undefined if it says nothing about pulls. */
export const podEventFacts = (event: EventLike): PodEventFacts | undefined => {
  const type = text(event.type);
  if (type !== undefined && type !== 'Warning') return undefined;
  const involvedKind = text(event.involvedObject?.kind);
  if (involvedKind !== undefined && involvedKind !== 'Pod') return undefined;
  const message = text(event.message) ?? '';
  const reason = text(event.reason) ?? '';
  let kind: PodEventFacts['kind'];
  if (reason === PULL_SECRET_REASON) kind = 'pull-secret-warning';
  else if (PULL_ERROR_TEXT.test(message) || isSignatureRejectionEvent(message)) kind = 'pull-error';
  else return undefined;
  const fieldPath = text(event.involvedObject?.fieldPath) ?? '';
  const lastSeen =
    iso(event.series?.lastObservedTime) ??
    iso(event.lastTimestamp) ??
    iso(event.eventTime) ??
    iso(event.metadata?.creationTimestamp);
  return {
    container: FIELD_PATH_CONTAINER.exec(fieldPath)?.[1],
    kind,
    reason,
    message,
    firstSeen: iso(event.firstTimestamp) ?? iso(event.eventTime) ?? lastSeen,
    lastSeen,
    count: Math.max(1, numberOf(event.series?.count) ?? numberOf(event.count) ?? 1),
  };
};

/** Pull-related Warning events by pod UID; everything else an event informer sees is ignored. */
export class PodEventIndex {
  private readonly byPod = new Map<string, Map<string, PodEventFacts>>();
  private readonly podOfEvent = new Map<string, string>();
  private seq = 0;

  private static keyOf(event: EventLike): string {
    return `${text(event.metadata?.namespace) ?? ''}/${text(event.metadata?.name) ?? ''}`;
  }

  /** Records an added or updated event; returns the UID of the pod it is about if it matters. */
  upsert(event: EventLike): string | undefined {
    const key = PodEventIndex.keyOf(event);
    const uid = text(event.involvedObject?.uid);
    const facts = podEventFacts(event);
    if (facts === undefined || uid === undefined || uid === '') {
      return this.remove(event);
    }
    const previousUid = this.podOfEvent.get(key);
    if (previousUid !== undefined && previousUid !== uid) this.remove(event);
    let events = this.byPod.get(uid);
    if (events === undefined) {
      events = new Map();
      this.byPod.set(uid, events);
    }
    events.set(key, { ...facts, seq: ++this.seq });
    this.podOfEvent.set(key, uid);
    return uid;
  }

  /** Forgets an event; returns the UID of the pod it was about, if it was indexed. */
  remove(event: EventLike): string | undefined {
    const key = PodEventIndex.keyOf(event);
    const uid = this.podOfEvent.get(key);
    if (uid === undefined) return undefined;
    this.podOfEvent.delete(key);
    const events = this.byPod.get(uid);
    events?.delete(key);
    if (events !== undefined && events.size === 0) this.byPod.delete(uid);
    return uid;
  }

  /** Forgets every event about a pod (when the pod is gone). */
  forgetPod(uid: string): void {
    const events = this.byPod.get(uid);
    if (events === undefined) return;
    for (const key of events.keys()) this.podOfEvent.delete(key);
    this.byPod.delete(uid);
  }

  eventsFor(uid: string): PodEventFacts[] {
    return [...(this.byPod.get(uid)?.values() ?? [])];
  }

  get size(): number {
    return this.podOfEvent.size;
  }

  /** The arrival number of the newest event: everything indexed so far is at or below it. */
  get horizon(): number {
    return this.seq;
  }
}
