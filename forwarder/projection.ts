/**
 * Projections: informers cache only what observation and workload resolution read, cut down as each
 * object arrives (per list page and per watch event), before it is cached. A real pod object is
 * several KB (env, volumes, probes, managedFields); its projection is a few hundred bytes, so a
 * 100,000-pod cluster fits in a small heap.
 *
 * - Healthy containers share one frozen `running`/`terminated` state object (their times are not read).
 * - A waiting message is kept only where it is read: pull failures and CreateContainerError.
 * - Strings repeated across pods (namespaces, nodes, images, service accounts, owners) are interned,
 *   and so are whole parts alike across pods (containers, owners, statuses): see `share`.
 * - Image volumes and, per container, the mounts of image volumes are kept; other volumes are not.
 */
import {
  type ContainerSpec,
  type ContainerState,
  type ContainerStatus,
  type EventLike,
  type Maybe,
  type ObjectMeta,
  type PodLike,
  type Volume,
  isObject,
  objectsIn,
  text,
} from './kube-objects';
import { podEventFacts } from './event-index';
import { routingAnnotations } from './observe';
import { isPullFailureState } from './pull-text';

/**
 * One copy of each repeated value, by key. Bounded: past `limit` distinct keys, new values are
 * returned as they are (a cluster with more distinct values than that gains little from sharing).
 */
export class Pool<T> {
  private readonly pool = new Map<string, T>();

  constructor(private readonly limit = 50_000) {}

  intern(key: string, value: T): T {
    const known = this.pool.get(key);
    if (known !== undefined) return known;
    if (this.pool.size < this.limit) this.pool.set(key, value);
    return value;
  }

  get size(): number {
    return this.pool.size;
  }
}

const strings = new Pool<string>();
const intern = (value: unknown): string | undefined => {
  const found = text(value);
  return found === undefined ? undefined : strings.intern(found, found);
};

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
};

/**
 * Parts of a pod that many pods have alike (the containers of one ReplicaSet's pods, their owner
 * references, the running states of their containers) are shared: one frozen copy per distinct
 * content, so a cached pod costs little more than its names.
 */
const shapes = new Pool<object>();
const share = <T extends object | undefined>(value: T): T =>
  value === undefined ? value : (shapes.intern(JSON.stringify(value), deepFreeze(value)) as T);

const RUNNING: ContainerState = deepFreeze({ running: {} });
const TERMINATED: ContainerState = deepFreeze({ terminated: {} });

/** Messages of other waiting reasons (CrashLoopBackOff's, say) are not read, and can be long. */
const waitingMessageIsRead = (reason: string | undefined, message: string | undefined): boolean =>
  isPullFailureState(reason, message) || reason === 'CreateContainerError';

const projectState = (state: Maybe<ContainerState>): ContainerState | undefined => {
  if (!isObject(state)) return undefined;
  if (isObject(state.running)) return RUNNING;
  if (isObject(state.terminated)) return TERMINATED;
  if (!isObject(state.waiting)) return undefined;
  const reason = intern(state.waiting.reason);
  const message = text(state.waiting.message);
  return {
    waiting: {
      reason,
      message: waitingMessageIsRead(reason, message) ? message : undefined,
    },
  };
};

const projectContainers = (
  containers: Maybe<Array<Maybe<ContainerSpec>>>,
  imageVolumes: ReadonlySet<string>,
): ContainerSpec[] | undefined => {
  if (!Array.isArray(containers)) return undefined;
  return objectsIn(containers).map((container) => {
    const mounts =
      imageVolumes.size === 0
        ? []
        : objectsIn(container.volumeMounts).flatMap((mount) => {
            const name = text(mount.name);
            return name !== undefined && imageVolumes.has(name) ? [{ name: intern(name) }] : [];
          });
    return {
      name: intern(container.name),
      image: intern(container.image),
      volumeMounts: mounts.length === 0 ? undefined : mounts,
    };
  });
};

const projectStatuses = (
  statuses: Maybe<Array<Maybe<ContainerStatus>>>,
  specImages: ReadonlyMap<string, string | undefined>,
): ContainerStatus[] | undefined => {
  if (!Array.isArray(statuses)) return undefined;
  return objectsIn(statuses).map((status) => {
    const name = intern(status.name);
    const state = projectState(status.state);
    // The status's image is read only when the spec has none.
    const image = name !== undefined && specImages.get(name) !== undefined ? undefined : intern(status.image);
    // The last state is read only for a container waiting now: did it ever run?
    const last = isObject(state?.waiting) ? projectState(status.lastState) : undefined;
    return {
      name,
      image,
      state,
      lastState: last === RUNNING || last === TERMINATED ? last : undefined,
    };
  });
};

const projectOwners = (
  owners: ObjectMeta['ownerReferences'],
): Array<{ kind?: string; name?: string; controller?: boolean }> | undefined => {
  if (!Array.isArray(owners)) return undefined;
  return objectsIn(owners).map((owner) => ({
    kind: intern(owner.kind),
    name: intern(owner.name),
    controller: owner.controller === true ? true : undefined,
  }));
};

/** The pod with only what observePod and resolveWorkload read (and the keys the cache needs). */
export const projectPod = <T extends PodLike>(pod: T): T => {
  const metadata: ObjectMeta = isObject(pod.metadata) ? pod.metadata : {};
  const spec = isObject(pod.spec) ? pod.spec : undefined;
  const status = isObject(pod.status) ? pod.status : undefined;
  const annotations = routingAnnotations(metadata.annotations);
  const hash = isObject(metadata.labels) ? intern(metadata.labels['pod-template-hash']) : undefined;
  const volumes = objectsIn<Volume>(spec?.volumes).flatMap((volume) =>
    isObject(volume.image) && text(volume.image.reference) !== undefined
      ? [{ name: intern(volume.name), image: { reference: intern(volume.image.reference) } }]
      : [],
  );
  const imageVolumes = new Set(volumes.flatMap((volume) => volume.name ?? []));
  const containers = projectContainers(spec?.containers, imageVolumes);
  const initContainers = projectContainers(spec?.initContainers, imageVolumes);
  const ephemeralContainers = projectContainers(spec?.ephemeralContainers, imageVolumes);
  const specImages = new Map<string, string | undefined>();
  for (const container of [...(initContainers ?? []), ...(containers ?? []), ...(ephemeralContainers ?? [])])
    if (typeof container.name === 'string') specImages.set(container.name, container.image ?? undefined);
  const pullSecrets = objectsIn(spec?.imagePullSecrets).map((secret) => ({ name: intern(secret.name) }));
  const projected: PodLike = {
    metadata: {
      name: text(metadata.name),
      namespace: intern(metadata.namespace),
      uid: text(metadata.uid),
      resourceVersion: text(metadata.resourceVersion),
      labels: hash === undefined ? undefined : share({ 'pod-template-hash': hash }),
      annotations: Object.keys(annotations).length === 0 ? undefined : share(annotations),
      ownerReferences: share(projectOwners(metadata.ownerReferences)),
    },
    spec:
      spec === undefined
        ? undefined
        : {
            nodeName: intern(spec.nodeName),
            serviceAccountName: intern(spec.serviceAccountName),
            imagePullSecrets: pullSecrets.length === 0 ? undefined : share(pullSecrets),
            containers: share(containers),
            initContainers: share(emptyToUndefined(initContainers)),
            ephemeralContainers: share(emptyToUndefined(ephemeralContainers)),
            volumes: volumes.length === 0 ? undefined : share(volumes),
          },
    status:
      status === undefined
        ? undefined
        : {
            phase: intern(status.phase),
            containerStatuses: shareStatuses(projectStatuses(status.containerStatuses, specImages)),
            initContainerStatuses: shareStatuses(
              emptyToUndefined(projectStatuses(status.initContainerStatuses, specImages)),
            ),
            ephemeralContainerStatuses: shareStatuses(
              emptyToUndefined(projectStatuses(status.ephemeralContainerStatuses, specImages)),
            ),
          },
  };
  return projected as unknown as T;
};

const emptyToUndefined = <T>(list: T[] | undefined): T[] | undefined =>
  list === undefined || list.length === 0 ? undefined : list;

/** Statuses are shared only without waiting messages: those are per pod and would fill the pool. */
const shareStatuses = (statuses: ContainerStatus[] | undefined): ContainerStatus[] | undefined =>
  statuses?.some((status) => isObject(status.state?.waiting) && status.state.waiting.message !== undefined)
    ? statuses
    : share(statuses);

/**
 * The event without managedFields and other bookkeeping the forwarder does not read. An event that
 * says nothing about pulls keeps only its keys: the cache still needs it to diff a relist.
 */
export const projectEvent = <T extends EventLike>(event: T): T => {
  const metadata: ObjectMeta = isObject(event.metadata) ? event.metadata : {};
  const involved = isObject(event.involvedObject) ? event.involvedObject : undefined;
  const keys = {
    metadata: {
      name: text(metadata.name),
      namespace: intern(metadata.namespace),
      resourceVersion: text(metadata.resourceVersion),
      creationTimestamp: metadata.creationTimestamp ?? undefined,
    },
    involvedObject:
      involved === undefined
        ? undefined
        : {
            kind: intern(involved.kind),
            uid: text(involved.uid),
            name: text(involved.name),
            namespace: intern(involved.namespace),
            fieldPath: intern(involved.fieldPath),
          },
    type: intern(event.type),
    reason: intern(event.reason),
  };
  if (podEventFacts(event) === undefined) return keys as unknown as T;
  const projected: EventLike = {
    ...keys,
    message: text(event.message),
    count: event.count,
    firstTimestamp: event.firstTimestamp,
    lastTimestamp: event.lastTimestamp,
    eventTime: event.eventTime,
    series: event.series,
  };
  return projected as unknown as T;
};
