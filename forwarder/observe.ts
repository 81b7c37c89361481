/**
 * Pure: a pod and its recent Warning events become an observation of what each container, and each
 * image volume, is doing right now. No I/O, no clock.
 *
 * Image volumes (KEP-4639) are pulled by the kubelet before the containers that mount them. Their pull
 * failures are the pod's, not a container's: the kubelet's `Failed to pull image` events name the pod
 * (no fieldPath), and from Kubernetes 1.33 each container that mounts the volume also waits in
 * ErrImagePull/ImagePullBackOff with the volume's error. Each image volume is observed as a member
 * of its own, named `volume:<name>`, and a container failing only because of a volume it mounts is
 * not reported twice.
 */
import { ANNOTATION_PREFIX, type ContainerType } from '#shared/contract';
import type { PodEventFacts } from './event-index';
import {
  type ContainerSpec,
  type ContainerState,
  type ContainerStatus,
  type Maybe,
  type PodLike,
  type Volume,
  isObject,
  objectsIn,
  text,
} from './kube-objects';
import {
  failureFingerprint,
  imageInEvent,
  isImagePullReason,
  isInformative,
  isPullFailureState,
  namesImage,
  sameImage,
} from './pull-text';

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
  /** The container's name, or `volume:<name>` for an image volume. */
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
  annotations: Maybe<Record<string, Maybe<string>>>,
): Record<string, string> => {
  const kept: Record<string, string> = {};
  let count = 0;
  const all = isObject(annotations) ? Object.entries(annotations) : [];
  for (const [key, value] of all.sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!key.startsWith(ANNOTATION_PREFIX) || typeof value !== 'string' || count >= ANNOTATION_COUNT_LIMIT)
      continue;
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

const STARTED: ContainerCondition = { state: 'started' };
const OTHER: ContainerCondition = { state: 'other' };

/** Whether a container state is running or terminated (null or a scalar there is neither). */
const ran = (state: Maybe<ContainerState>): boolean =>
  isObject(state) && (isObject(state.running) || isObject(state.terminated));

const waitingOf = (status: ContainerStatus | undefined): { reason?: string; message?: string } => {
  const waiting = isObject(status?.state) ? status.state.waiting : undefined;
  if (!isObject(waiting)) return {};
  const reason = text(waiting.reason);
  const message = text(waiting.message);
  return { ...(reason === undefined ? {} : { reason }), ...(message === undefined ? {} : { message }) };
};

const conditionOf = (
  status: ContainerStatus | undefined,
  image: string,
  podFinished: boolean,
  events: readonly PodEventFacts[],
  horizon: number,
): ContainerCondition => {
  if (status === undefined) return OTHER;
  if (ran(status.state)) return STARTED;
  if (podFinished) return OTHER;
  const { reason, message } = waitingOf(status);
  if (isPullFailureState(reason, message)) {
    return { state: 'failing', failure: pullFailure(reason, message, image, events, horizon) };
  }
  if (ran(status.lastState)) return STARTED;
  return OTHER;
};

/** A container of the pod, with what observing it and its image volumes needs. */
interface Member {
  observation: ContainerObservation;
  status: ContainerStatus | undefined;
  /** Names of the volumes it mounts. */
  mounts: ReadonlySet<string>;
}

const membersOf = (
  pod: PodLike,
  events: readonly PodEventFacts[],
  horizon: number,
  podFinished: boolean,
): Member[] => {
  const groups: Array<
    [ContainerType, Maybe<Array<Maybe<ContainerSpec>>>, Maybe<Array<Maybe<ContainerStatus>>>]
  > = [
    ['init', pod.spec?.initContainers, pod.status?.initContainerStatuses],
    ['regular', pod.spec?.containers, pod.status?.containerStatuses],
    ['ephemeral', pod.spec?.ephemeralContainers, pod.status?.ephemeralContainerStatuses],
  ];
  const members: Member[] = [];
  for (const [type, specs, statuses] of groups) {
    const reported = objectsIn<ContainerStatus>(statuses);
    for (const spec of objectsIn<ContainerSpec>(specs)) {
      const name = text(spec.name);
      // A container without a name cannot be told apart from the others; the rest of the pod still counts.
      if (name === undefined || name === '') continue;
      const status = reported.find((candidate) => candidate.name === name);
      const image = text(spec.image) ?? text(status?.image) ?? '';
      const own = events.filter((event) => event.container === name);
      const mounts = new Set(objectsIn(spec.volumeMounts).flatMap((mount) => text(mount.name) ?? []));
      members.push({
        observation: { name, type, image, condition: conditionOf(status, image, podFinished, own, horizon) },
        status,
        mounts,
      });
    }
  }
  return members;
};

interface ImageVolume {
  name: string;
  reference: string;
}

const imageVolumesOf = (pod: PodLike): ImageVolume[] =>
  objectsIn<Volume>(pod.spec?.volumes).flatMap((volume) => {
    const name = text(volume.name);
    const reference = isObject(volume.image) ? text(volume.image.reference) : undefined;
    return name === undefined || name === '' || reference === undefined ? [] : [{ name, reference }];
  });

/** The name an image volume has among the pod's containers in events and incidents. */
export const volumeMemberName = (volume: string): string => `volume:${volume}`;

/** Waiting before creation: no status yet, ContainerCreating or PodInitializing (not a verdict of its own). */
const notCreatedYet = (member: Member): boolean => {
  if (member.status === undefined) return true;
  if (ran(member.status.state)) return false;
  const { reason } = waitingOf(member.status);
  return reason === undefined || reason === 'ContainerCreating' || reason === 'PodInitializing';
};

/**
 * An image volume fails while the containers that mount it (every container, when none names it:
 * older kubelets stop the whole pod at the volume) have not started, and either one of them waits
 * with a pull error about the volume's image (Kubernetes 1.33+) or they all wait to be created and a
 * pod-level kubelet event says the volume's image could not be pulled.
 */
const volumeCondition = (
  volume: ImageVolume,
  members: readonly Member[],
  podFinished: boolean,
  events: readonly PodEventFacts[],
  horizon: number,
): ContainerCondition => {
  const mounting = members.filter((member) => member.mounts.has(volume.name));
  const users = mounting.length > 0 ? mounting : members;
  if (users.some((member) => member.observation.condition.state === 'started')) return STARTED;
  if (podFinished) return OTHER;
  const podEvents = events.filter((event) => {
    if (event.container !== undefined || event.kind !== 'pull-error') return false;
    const named = imageInEvent(event.message);
    return named !== undefined && sameImage(named, volume.reference);
  });
  for (const member of users) {
    const { reason, message } = waitingOf(member.status);
    if (isImagePullReason(reason) && message !== undefined && namesImage(message, volume.reference)) {
      return {
        state: 'failing',
        failure: pullFailure(reason, message, volume.reference, podEvents, horizon),
      };
    }
  }
  if (podEvents.length > 0 && users.every(notCreatedYet)) {
    return {
      state: 'failing',
      failure: pullFailure('ErrImagePull', undefined, volume.reference, podEvents, horizon),
    };
  }
  return OTHER;
};

/** Whether a container's failure is its image volume's (the error names the volume's image, not its own). */
const failsOnVolume = (member: Member, volumes: readonly ImageVolume[]): boolean => {
  const { condition, image } = member.observation;
  if (condition.state !== 'failing') return false;
  const message = waitingOf(member.status).message ?? condition.failure.message;
  return volumes.some(
    (volume) =>
      member.mounts.has(volume.name) &&
      !sameImage(volume.reference, image) &&
      namesImage(message, volume.reference) &&
      !namesImage(message, image),
  );
};

/**
 * Observes every container (init, regular, ephemeral) and image volume of a pod, given the pod's
 * indexed events and the index's horizon (defaults to the newest of the events given).
 */
export const observePod = (
  pod: PodLike,
  events: readonly PodEventFacts[],
  horizon = events.reduce((max, event) => Math.max(max, event.seq ?? 0), 0),
): PodObservation => {
  const metadata = isObject(pod.metadata) ? pod.metadata : {};
  const phase = isObject(pod.status) ? text(pod.status.phase) : undefined;
  const podFinished = phase === 'Succeeded' || phase === 'Failed';
  const pullSecretWarning = latest(events.filter((event) => event.kind === 'pull-secret-warning'))?.message;
  const spec = isObject(pod.spec) ? pod.spec : {};
  const context: PodContext = {
    namespace: text(metadata.namespace) ?? '',
    pod: text(metadata.name) ?? '',
    podUid: text(metadata.uid) ?? '',
    node: text(spec.nodeName) ?? '',
    serviceAccount: text(spec.serviceAccountName) ?? 'default',
    pullSecrets: objectsIn(spec.imagePullSecrets)
      .map((secret) => text(secret.name) ?? '')
      .filter((n) => n !== ''),
    annotations: routingAnnotations(metadata.annotations),
    ...(pullSecretWarning === undefined ? {} : { pullSecretWarning }),
  };
  const members = membersOf(
    { spec, status: isObject(pod.status) ? pod.status : {} },
    events,
    horizon,
    podFinished,
  );
  const volumes = imageVolumesOf({ spec });
  const containers: ContainerObservation[] = members.map((member) =>
    volumes.length > 0 && failsOnVolume(member, volumes)
      ? { ...member.observation, condition: OTHER }
      : member.observation,
  );
  for (const volume of volumes) {
    containers.push({
      name: volumeMemberName(volume.name),
      type: 'volume',
      image: volume.reference,
      condition: volumeCondition(volume, members, podFinished, events, horizon),
    });
  }
  return { context, containers };
};

/** Whether any container of the observation is failing to pull. */
export const hasFailure = (observation: PodObservation): boolean =>
  observation.containers.some((container) => container.condition.state === 'failing');
