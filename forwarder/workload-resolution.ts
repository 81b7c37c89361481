/** Workload resolution: Pod → ReplicaSet → Deployment, Job → CronJob, StatefulSet, DaemonSet, bare pod. */
import type { Workload } from '#shared/contract';
import {
  type Maybe,
  type ObjectMeta,
  type OwnerReference,
  type PodLike,
  isObject,
  objectsIn,
  text,
} from './kube-objects';

/**
 * Owners of a ReplicaSet or Job, from a cache or the API: an array (possibly empty) when known,
 * null when the object does not exist, undefined when not known (yet).
 */
export type OwnerLookup = (
  kind: string,
  namespace: string,
  name: string,
) => OwnerReference[] | null | undefined;

/** Owner references with a kind and a name; odd entries (null, missing or non-string fields) are skipped. */
const validOwners = (owners: ObjectMeta['ownerReferences'] | readonly OwnerReference[]): OwnerReference[] =>
  objectsIn(owners as Maybe<ReadonlyArray<Maybe<Partial<Record<keyof OwnerReference, unknown>>>>>).flatMap(
    (owner) => {
      const kind = text(owner.kind);
      const name = text(owner.name);
      if (kind === undefined || kind === '' || name === undefined || name === '') return [];
      return [{ kind, name, ...(owner.controller === true ? { controller: true } : {}) }];
    },
  );

const controllerOf = (
  owners: ObjectMeta['ownerReferences'] | readonly OwnerReference[],
): OwnerReference | undefined => {
  const valid = validOwners(owners);
  return valid.find((owner) => owner.controller === true) ?? valid[0];
};

const metadataOf = (pod: PodLike): ObjectMeta => (isObject(pod.metadata) ? pod.metadata : {});

/** The owner objects whose owners must be looked up to resolve this pod's workload. */
export const ownerLookupsFor = (pod: PodLike): Array<{ kind: string; namespace: string; name: string }> => {
  const metadata = metadataOf(pod);
  const owner = controllerOf(metadata.ownerReferences);
  if (owner === undefined || (owner.kind !== 'ReplicaSet' && owner.kind !== 'Job')) return [];
  return [{ kind: owner.kind, namespace: text(metadata.namespace) ?? '', name: owner.name }];
};

/**
 * The workload a pod belongs to. When a ReplicaSet's owners are unknown, the documented fallback
 * strips the pod-template-hash suffix (`web-7d9c6b5f4` → Deployment `web`); an unknown Job stays a Job.
 */
export const resolveWorkload = (pod: PodLike, lookup: OwnerLookup): Workload => {
  const metadata = metadataOf(pod);
  const owner = controllerOf(metadata.ownerReferences);
  if (owner === undefined) return { kind: 'Pod', name: text(metadata.name) || '(unnamed)' };
  if (owner.kind !== 'ReplicaSet' && owner.kind !== 'Job') return { kind: owner.kind, name: owner.name };
  const owners = lookup(owner.kind, text(metadata.namespace) ?? '', owner.name);
  const parent = controllerOf(owners ?? undefined);
  if (parent !== undefined) return { kind: parent.kind, name: parent.name };
  if (owners === undefined && owner.kind === 'ReplicaSet') {
    const hash = isObject(metadata.labels) ? text(metadata.labels['pod-template-hash']) : undefined;
    if (hash !== undefined && hash !== '' && owner.name.endsWith(`-${hash}`)) {
      return { kind: 'Deployment', name: owner.name.slice(0, -(hash.length + 1)) };
    }
  }
  return { kind: owner.kind, name: owner.name };
};
