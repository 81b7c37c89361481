/** Workload resolution: Pod → ReplicaSet → Deployment, Job → CronJob, StatefulSet, DaemonSet, bare pod. */
import type { Workload } from '#shared/contract';
import type { OwnerReference, PodLike } from './kube-objects';

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
