/**
 * Pure: a pod and its recent Warning events become observations, and a per-container tracker
 * decides which failures and recoveries to ship. No I/O, no clock: callers pass `now`.
 */
import {
  ANNOTATION_PREFIX,
  type ContainerType,
  DETAIL_TYPE,
  type FailedDetail,
  type HeartbeatDetail,
  type RecoveredDetail,
  type RecoveryKind,
  SCHEMA_VERSION,
  type Workload,
} from '#shared/contract';
import { parseImageRef } from '#shared/image-ref';

// ---------------------------------------------------------------------------------------------
// The parts of Kubernetes objects we read. Lists from the API client carry Date objects; watch
// events carry RFC 3339 strings; both are accepted.

export type Timestamp = Date | string;

export interface OwnerReference {
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: Timestamp;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

interface ContainerSpec {
  name: string;
  image?: string;
}

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: Timestamp };
  terminated?: { reason?: string; exitCode?: number };
}

interface ContainerStatus {
  name: string;
  image?: string;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface PodLike {
  metadata?: ObjectMeta;
  spec?: {
    containers?: ContainerSpec[];
    initContainers?: ContainerSpec[];
    ephemeralContainers?: ContainerSpec[];
    nodeName?: string;
    serviceAccountName?: string;
    imagePullSecrets?: Array<{ name?: string }>;
  };
  status?: {
    phase?: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    ephemeralContainerStatuses?: ContainerStatus[];
  };
}

export interface EventLike {
  metadata?: ObjectMeta;
  involvedObject?: { kind?: string; uid?: string; name?: string; namespace?: string; fieldPath?: string };
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: Timestamp;
  lastTimestamp?: Timestamp;
  eventTime?: Timestamp;
  series?: { count?: number; lastObservedTime?: Timestamp };
}

const iso = (value: Timestamp | undefined): string | undefined => {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
};

// ---------------------------------------------------------------------------------------------
// What counts as an image-pull failure, and which text says most about it.

const PULL_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RegistryUnavailable',
  'ImageInspectError',
  'SignatureValidationFailed',
]);

/** A waiting reason that means the image could not be pulled (the list, or any other `*Image*` reason). */
export const isImagePullReason = (reason: string | undefined): reason is string =>
  reason !== undefined && (PULL_REASONS.has(reason) || reason.includes('Image'));

const BARE_BACK_OFF = /^\s*Back-off pulling image\b/;
const PULL_PREFIX = /^Failed to pull image "([^"]*)": /;

/** Whether a text explains a failure (a bare "Back-off pulling image" or nothing at all does not). */
export const isInformative = (text: string | undefined): boolean =>
  text !== undefined && text.trim().length > 0 && !BARE_BACK_OFF.test(text);

const VOLATILE: ReadonlyArray<[RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?/g, '<time>'],
  [/\[[0-9a-f:.]*:[0-9a-f:.]*\](:\d+)?/gi, '<addr>'],
  [/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<addr>'],
  [/\b(request id|requestid|x-amz-request-id|correlation id)[:=]?\s*[\w-]+/gi, '$1 <id>'],
];

/**
 * What must change for a failure to be shipped again: the error text without the kubelet's
 * `Failed to pull image "…": ` prefix (the status message lacks it, the event has it), with request
 * IDs, timestamps and IP addresses blanked (a retry that reached another registry replica is not news).
 * ErrImagePull and ImagePullBackOff alternate on every retry, so they count as one reason.
 */
export const failureFingerprint = (reason: string, text: string): string => {
  const reasonClass = reason === 'ErrImagePull' || reason === 'ImagePullBackOff' ? 'pull' : reason;
  let normalised = text.replace(PULL_PREFIX, '').trim();
  for (const [pattern, replacement] of VOLATILE) normalised = normalised.replace(pattern, replacement);
  return `${reasonClass}\n${normalised}`;
};

/** Whether two image references name the same image (the kubelet adds `:latest` in its messages). */
const sameImage = (a: string, b: string): boolean => {
  if (a === b) return true;
  const left = parseImageRef(a);
  const right = parseImageRef(b);
  return left.ok && right.ok && left.ref.canonical === right.ref.canonical;
};

// ---------------------------------------------------------------------------------------------
// The Warning events that matter, indexed by pod UID. Only these few fields are kept.

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
  if (event.type !== undefined && event.type !== 'Warning') return undefined;
  if (event.involvedObject?.kind !== undefined && event.involvedObject.kind !== 'Pod') return undefined;
  const message = event.message ?? '';
  const reason = event.reason ?? '';
  let kind: PodEventFacts['kind'];
  if (reason === PULL_SECRET_REASON) kind = 'pull-secret-warning';
  else if (PULL_ERROR_TEXT.test(message)) kind = 'pull-error';
  else return undefined;
  const fieldPath = event.involvedObject?.fieldPath ?? '';
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
    count: Math.max(1, event.series?.count ?? event.count ?? 1),
  };
};

/** Pull-related Warning events by pod UID; everything else an event informer sees is ignored. */
export class PodEventIndex {
  private readonly byPod = new Map<string, Map<string, PodEventFacts>>();
  private readonly podOfEvent = new Map<string, string>();
  private seq = 0;

  private static keyOf(event: EventLike): string {
    return `${event.metadata?.namespace ?? ''}/${event.metadata?.name ?? ''}`;
  }

  /** Records an added or updated event; returns the UID of the pod it is about if it matters. */
  upsert(event: EventLike): string | undefined {
    const key = PodEventIndex.keyOf(event);
    const uid = event.involvedObject?.uid;
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

// ---------------------------------------------------------------------------------------------
// Observations: what each container of a pod is doing right now.

export interface PullFailure {
  reason: string;
  message: string;
  /** False when the only text available is a bare "Back-off pulling image". */
  informative: boolean;
  fingerprint: string;
  firstSeen?: string;
  lastSeen?: string;
  count?: number;
  /**
   * Arrival number of the text in the event index: the event's, or for a status message the index's
   * horizon (every event seen so far is older). An event text older than the text a failure already
   * has is stale (pods and events come on separate watches) and does not replace it.
   */
  seq?: number;
  /** Where the text comes from: the container status, a kubelet event, or nothing informative. */
  source: 'status' | 'event' | 'none';
}

export type ContainerCondition =
  | { state: 'failing'; failure: PullFailure }
  /** Running, or terminated after running: the image was there. */
  | { state: 'started' }
  /** Waiting for another reason, not reported yet, or the pod is finished. */
  | { state: 'other' };

export interface ContainerObservation {
  name: string;
  type: ContainerType;
  image: string;
  condition: ContainerCondition;
}

/** Facts about the pod that every event for it carries. */
export interface PodContext {
  namespace: string;
  pod: string;
  podUid: string;
  node: string;
  serviceAccount: string;
  pullSecrets: string[];
  annotations: Record<string, string>;
  pullSecretWarning?: string;
}

export interface PodObservation {
  context: PodContext;
  containers: ContainerObservation[];
}

/** Keys of a pod's annotations are kept only if they start with pullwatch.io/; values are capped. */
const ANNOTATION_VALUE_LIMIT = 1024;
const ANNOTATION_COUNT_LIMIT = 32;

export const routingAnnotations = (
  annotations: Record<string, string> | undefined,
): Record<string, string> => {
  const kept: Record<string, string> = {};
  let count = 0;
  for (const [key, value] of Object.entries(annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!key.startsWith(ANNOTATION_PREFIX) || count >= ANNOTATION_COUNT_LIMIT) continue;
    kept[key] = value.length > ANNOTATION_VALUE_LIMIT ? value.slice(0, ANNOTATION_VALUE_LIMIT) : value;
    count++;
  }
  return kept;
};

const newer = (a: { lastSeen?: string; seq?: number }, b: { lastSeen?: string; seq?: number }): boolean => {
  const left = a.lastSeen ?? '';
  const right = b.lastSeen ?? '';
  return left !== right ? left > right : (a.seq ?? 0) > (b.seq ?? 0);
};

const latest = <T extends { lastSeen?: string; seq?: number }>(items: readonly T[]): T | undefined =>
  items.reduce<T | undefined>(
    (best, item) => (best === undefined || newer(item, best) ? item : best),
    undefined,
  );

const imageInEvent = (message: string): string | undefined => PULL_PREFIX.exec(message)?.[1];

/**
 * The failure of one waiting container, with the most informative text: the status message when it
 * explains (ErrImagePull, InvalidImageName…), else the newest kubelet event about this container
 * and image, else the bare status line.
 */
const pullFailure = (
  reason: string,
  statusMessage: string | undefined,
  image: string,
  events: readonly PodEventFacts[],
  horizon: number,
): PullFailure => {
  const relevant = events.filter((event) => {
    if (event.kind !== 'pull-error') return false;
    const named = imageInEvent(event.message);
    return named === undefined || image === '' || sameImage(named, image);
  });
  const newest = latest(relevant);
  const timing = {
    firstSeen: relevant.reduce<string | undefined>(
      (first, event) =>
        event.firstSeen !== undefined && (first === undefined || event.firstSeen < first)
          ? event.firstSeen
          : first,
      undefined,
    ),
    lastSeen: newest?.lastSeen,
    count: newest?.count,
  };
  if (statusMessage !== undefined && isInformative(statusMessage)) {
    return {
      reason,
      message: statusMessage,
      informative: true,
      fingerprint: failureFingerprint(reason, statusMessage),
      seq: horizon,
      source: 'status',
      ...timing,
    };
  }
  if (newest !== undefined) {
    return {
      reason,
      message: newest.message,
      informative: true,
      fingerprint: failureFingerprint(reason, newest.message),
      ...(newest.seq === undefined ? {} : { seq: newest.seq }),
      source: 'event',
      ...timing,
    };
  }
  const bare = statusMessage?.trim() || reason;
  return {
    reason,
    message: bare,
    informative: false,
    fingerprint: failureFingerprint(reason, bare),
    source: 'none',
    ...timing,
  };
};

const conditionOf = (
  status: ContainerStatus | undefined,
  image: string,
  podFinished: boolean,
  events: readonly PodEventFacts[],
  horizon: number,
): ContainerCondition => {
  if (status === undefined) return { state: 'other' };
  const { state, lastState } = status;
  if (state?.running !== undefined || state?.terminated !== undefined) return { state: 'started' };
  if (podFinished) return { state: 'other' };
  const reason = state?.waiting?.reason;
  if (isImagePullReason(reason)) {
    return {
      state: 'failing',
      failure: pullFailure(reason, state?.waiting?.message, image, events, horizon),
    };
  }
  if (lastState?.terminated !== undefined || lastState?.running !== undefined) return { state: 'started' };
  return { state: 'other' };
};

/**
 * Observes every container (init, regular, ephemeral) of a pod, given the pod's indexed events and
 * the index's horizon (defaults to the newest of the events given).
 */
export const observePod = (
  pod: PodLike,
  events: readonly PodEventFacts[],
  horizon = events.reduce((max, event) => Math.max(max, event.seq ?? 0), 0),
): PodObservation => {
  const metadata = pod.metadata ?? {};
  const phase = pod.status?.phase;
  const podFinished = phase === 'Succeeded' || phase === 'Failed';
  const pullSecretWarning = latest(events.filter((event) => event.kind === 'pull-secret-warning'))?.message;
  const context: PodContext = {
    namespace: metadata.namespace ?? '',
    pod: metadata.name ?? '',
    podUid: metadata.uid ?? '',
    node: pod.spec?.nodeName ?? '',
    serviceAccount: pod.spec?.serviceAccountName ?? 'default',
    pullSecrets: (pod.spec?.imagePullSecrets ?? [])
      .map((secret) => secret.name ?? '')
      .filter((n) => n !== ''),
    annotations: routingAnnotations(metadata.annotations),
    ...(pullSecretWarning === undefined ? {} : { pullSecretWarning }),
  };
  const groups: Array<[ContainerType, ContainerSpec[] | undefined, ContainerStatus[] | undefined]> = [
    ['init', pod.spec?.initContainers, pod.status?.initContainerStatuses],
    ['regular', pod.spec?.containers, pod.status?.containerStatuses],
    ['ephemeral', pod.spec?.ephemeralContainers, pod.status?.ephemeralContainerStatuses],
  ];
  const containers: ContainerObservation[] = [];
  for (const [type, specs, statuses] of groups) {
    for (const spec of specs ?? []) {
      const status = statuses?.find((candidate) => candidate.name === spec.name);
      const image = spec.image ?? status?.image ?? '';
      const own = events.filter((event) => event.container === spec.name);
      containers.push({
        name: spec.name,
        type,
        image,
        condition: conditionOf(status, image, podFinished, own, horizon),
      });
    }
  }
  return { context, containers };
};

/** Whether any container of the observation is failing to pull. */
export const hasFailure = (observation: PodObservation): boolean =>
  observation.containers.some((container) => container.condition.state === 'failing');

// ---------------------------------------------------------------------------------------------
// Workload resolution: Pod → ReplicaSet → Deployment, Job → CronJob, StatefulSet, DaemonSet, bare pod.

/**
 * Owners of a ReplicaSet or Job, from a cache or the API: an array (possibly empty) when known,
 * null when the object does not exist, undefined when not known (yet).
 */
export type OwnerLookup = (
  kind: string,
  namespace: string,
  name: string,
) => OwnerReference[] | null | undefined;

const controllerOf = (owners: readonly OwnerReference[] | undefined): OwnerReference | undefined =>
  owners?.find((owner) => owner.controller === true) ?? owners?.[0];

/** The owner objects whose owners must be looked up to resolve this pod's workload. */
export const ownerLookupsFor = (pod: PodLike): Array<{ kind: string; namespace: string; name: string }> => {
  const owner = controllerOf(pod.metadata?.ownerReferences);
  if (owner === undefined || (owner.kind !== 'ReplicaSet' && owner.kind !== 'Job')) return [];
  return [{ kind: owner.kind, namespace: pod.metadata?.namespace ?? '', name: owner.name }];
};

/**
 * The workload a pod belongs to. When a ReplicaSet's owners are unknown, the documented fallback
 * strips the pod-template-hash suffix (`web-7d9c6b5f4` → Deployment `web`); an unknown Job stays a Job.
 */
export const resolveWorkload = (pod: PodLike, lookup: OwnerLookup): Workload => {
  const metadata = pod.metadata ?? {};
  const owner = controllerOf(metadata.ownerReferences);
  if (owner === undefined) return { kind: 'Pod', name: metadata.name || '(unnamed)' };
  if (owner.kind !== 'ReplicaSet' && owner.kind !== 'Job') return { kind: owner.kind, name: owner.name };
  const owners = lookup(owner.kind, metadata.namespace ?? '', owner.name);
  const parent = controllerOf(owners ?? undefined);
  if (parent !== undefined) return { kind: parent.kind, name: parent.name };
  if (owners === undefined && owner.kind === 'ReplicaSet') {
    const hash = metadata.labels?.['pod-template-hash'];
    if (hash !== undefined && hash !== '' && owner.name.endsWith(`-${hash}`)) {
      return { kind: 'Deployment', name: owner.name.slice(0, -(hash.length + 1)) };
    }
  }
  return { kind: owner.kind, name: owner.name };
};

// ---------------------------------------------------------------------------------------------
// The tracker: per container, the failure episode and what was last shipped for it.

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

// ---------------------------------------------------------------------------------------------
// Details in the contract.

const pullDetail = (episode: Episode, cluster: string, observedAt: Date): FailedDetail => ({
  schemaVersion: SCHEMA_VERSION,
  cluster,
  namespace: episode.namespace,
  pod: episode.pod,
  podUid: episode.podUid,
  container: episode.container,
  containerType: episode.containerType,
  image: episode.image,
  reason: episode.reason,
  message: episode.message,
  messageTruncated: false,
  ...(episode.pullSecretWarning === undefined ? {} : { pullSecretWarning: episode.pullSecretWarning }),
  node: episode.node,
  workload: episode.workload,
  pullSecrets: [...episode.pullSecrets],
  serviceAccount: episode.serviceAccount,
  annotations: { ...episode.annotations },
  firstSeen: episode.firstSeen,
  lastSeen: episode.lastSeen,
  count: episode.count,
  observedAt: observedAt.toISOString(),
});

/** An event to ship; failures and recoveries keep their episode (not shipped) for the checkpoint. */
export type OutgoingEvent =
  | { detailType: typeof DETAIL_TYPE.failed; key: string; detail: FailedDetail; episode?: Episode }
  | { detailType: typeof DETAIL_TYPE.recovered; key: string; detail: RecoveredDetail; episode?: Episode }
  | { detailType: typeof DETAIL_TYPE.heartbeat; key: string; detail: HeartbeatDetail; episode?: undefined };

/** The event to ship for a decision. */
export const eventFor = (decision: Decision, cluster: string, observedAt: Date): OutgoingEvent => {
  const detail = pullDetail(decision.episode, cluster, observedAt);
  const { episode } = decision;
  return decision.kind === 'failed'
    ? { detailType: DETAIL_TYPE.failed, key: episode.key, detail, episode }
    : {
        detailType: DETAIL_TYPE.recovered,
        key: episode.key,
        detail: { ...detail, recovery: decision.recovery },
        episode,
      };
};

export const HEARTBEAT_KEY = 'heartbeat';

export const heartbeatEvent = (
  cluster: string,
  failingContainers: number,
  forwarderVersion: string,
  observedAt: Date,
): OutgoingEvent => ({
  detailType: DETAIL_TYPE.heartbeat,
  key: HEARTBEAT_KEY,
  detail: {
    schemaVersion: SCHEMA_VERSION,
    cluster,
    observedAt: observedAt.toISOString(),
    failingContainers,
    forwarderVersion,
  },
});

// ---------------------------------------------------------------------------------------------
// Projections: informers cache only the fields read here, which keeps memory small on big clusters.

const projectContainers = (containers: ContainerSpec[] | undefined): ContainerSpec[] | undefined =>
  containers?.map(({ name, image }) => (image === undefined ? { name } : { name, image }));

const projectStatuses = (statuses: ContainerStatus[] | undefined): ContainerStatus[] | undefined =>
  statuses?.map(({ name, image, state, lastState }) => ({
    name,
    ...(image === undefined ? {} : { image }),
    ...(state === undefined ? {} : { state }),
    ...(lastState === undefined ? {} : { lastState }),
  }));

const defined = <T extends object>(object: T): T =>
  Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;

/** The pod with only what observePod and resolveWorkload read (and resourceVersion for the cache). */
export const projectPod = <T extends PodLike>(pod: T): T => {
  const { metadata = {}, spec, status } = pod;
  const annotations = routingAnnotations(metadata.annotations);
  return defined({
    apiVersion: (pod as { apiVersion?: string }).apiVersion,
    kind: (pod as { kind?: string }).kind,
    metadata: defined({
      name: metadata.name,
      namespace: metadata.namespace,
      uid: metadata.uid,
      resourceVersion: metadata.resourceVersion,
      creationTimestamp: metadata.creationTimestamp,
      labels:
        metadata.labels?.['pod-template-hash'] === undefined
          ? undefined
          : { 'pod-template-hash': metadata.labels['pod-template-hash'] },
      annotations: Object.keys(annotations).length === 0 ? undefined : annotations,
      ownerReferences: metadata.ownerReferences?.map(({ kind, name, uid, controller }) =>
        defined({ kind, name, uid, controller }),
      ),
    }),
    spec:
      spec === undefined
        ? undefined
        : defined({
            nodeName: spec.nodeName,
            serviceAccountName: spec.serviceAccountName,
            imagePullSecrets: spec.imagePullSecrets,
            containers: projectContainers(spec.containers),
            initContainers: projectContainers(spec.initContainers),
            ephemeralContainers: projectContainers(spec.ephemeralContainers),
          }),
    status:
      status === undefined
        ? undefined
        : defined({
            phase: status.phase,
            containerStatuses: projectStatuses(status.containerStatuses),
            initContainerStatuses: projectStatuses(status.initContainerStatuses),
            ephemeralContainerStatuses: projectStatuses(status.ephemeralContainerStatuses),
          }),
  }) as unknown as T;
};

/** The event without managedFields and other bookkeeping the forwarder does not read. */
export const projectEvent = <T extends EventLike>(event: T): T => {
  const { metadata = {} } = event;
  return defined({
    apiVersion: (event as { apiVersion?: string }).apiVersion,
    kind: (event as { kind?: string }).kind,
    metadata: defined({
      name: metadata.name,
      namespace: metadata.namespace,
      resourceVersion: metadata.resourceVersion,
      creationTimestamp: metadata.creationTimestamp,
    }),
    involvedObject: event.involvedObject,
    type: event.type,
    reason: event.reason,
    message: event.message,
    count: event.count,
    firstTimestamp: event.firstTimestamp,
    lastTimestamp: event.lastTimestamp,
    eventTime: event.eventTime,
    series: event.series,
  }) as unknown as T;
};
