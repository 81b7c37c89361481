/**
 * Projections: informers cache only the fields read by observation and workload resolution, which
 * keeps memory small on big clusters.
 */
import type { ContainerSpec, ContainerStatus, EventLike, PodLike } from './kube-objects';
import { routingAnnotations } from './observe';

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
