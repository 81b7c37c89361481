/**
 * Pure: a pod and its recent Warning events become an observation of what each container is doing
 * right now. No I/O, no clock.
 */
import { ANNOTATION_PREFIX, type ContainerType } from '#shared/contract';
import type { PodEventFacts } from './event-index';
import type { ContainerSpec, ContainerStatus, PodLike } from './kube-objects';
import { failureFingerprint, imageInEvent, isImagePullReason, isInformative, sameImage } from './pull-text';

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
