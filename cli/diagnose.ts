/**
 * `pullwatch diagnose <pod> [-n namespace] [--all]`: the manual playbook (`kubectl get pods`,
 * `kubectl describe pod`, read the events) in one command. It reads the pod and its Warning events
 * now, and goes the pipeline's own way to a verdict: the forwarder's observation (observe.ts picks
 * the most informative text and the pull-secret warning), the forwarder's event detail, and the
 * classify step (shared/classify-event.ts `classifyPullEvent`). So the verdict is the one the
 * Slack message shows for this failure: cause, evidence, and the fix with the real names.
 */
import { DETAIL_TYPE, type FailedDetail, SOURCE } from '#shared/contract';
import type { Verdict } from '#shared/diagnosis/diagnose';
import { classifyPullEvent } from '#shared/classify-event';
import { canonicalKey, incidentKeyOf, workloadRef } from '#shared/incident-key';
import { KubeApiError, type KubeHttp } from '../forwarder/kube-http';
import { silentLogger } from '../forwarder/log';
import { ContainerTracker } from '../forwarder/container-tracker';
import { PodEventIndex } from '../forwarder/event-index';
import { type EventLike, type PodLike, objectsIn, text } from '../forwarder/kube-objects';
import { observePod } from '../forwarder/observe';
import { eventFor } from '../forwarder/outgoing-events';
import { resolveWorkload } from '../forwarder/workload-resolution';
import { WorkloadDirectory } from '../forwarder/workloads';

export interface FailingContainer {
  detail: FailedDetail;
  verdict: Verdict;
}

/** Failing containers with the same incident key (one workload, container, image and cause). */
export interface DiagnosisGroup {
  namespace: string;
  workload: string;
  container: string;
  image: string;
  pods: string[];
  failures: FailingContainer[];
  verdict: Verdict;
}

export interface PodState {
  pod: string;
  containers: Array<{ name: string; state: string }>;
}

export interface DiagnosisResult {
  namespace: string;
  groups: DiagnosisGroup[];
  /** Pods looked at that are not failing to pull (only reported for a single pod). */
  healthy: PodState[];
  podsChecked: number;
}

export class PodNotFound extends Error {
  override readonly name = 'PodNotFound';
}

interface PodList {
  items: PodLike[];
  metadata?: { _continue?: string };
}

const listAll = async <T>(kube: KubeHttp, path: string, fieldSelector?: string): Promise<T[]> => {
  const items: T[] = [];
  let continueToken: string | undefined;
  do {
    const page = (await kube.listPage(path, {
      limit: 500,
      ...(fieldSelector === undefined ? {} : { fieldSelector }),
      ...(continueToken === undefined ? {} : { continueToken }),
    })) as unknown as PodList;
    items.push(...(page.items as unknown as T[]));
    continueToken = page.metadata?._continue || undefined;
  } while (continueToken !== undefined);
  return items;
};

const stateOf = (pod: PodLike): PodState => {
  const statuses = [
    ...objectsIn(pod.status?.initContainerStatuses),
    ...objectsIn(pod.status?.containerStatuses),
    ...objectsIn(pod.status?.ephemeralContainerStatuses),
  ];
  const names = [
    ...objectsIn(pod.spec?.initContainers),
    ...objectsIn(pod.spec?.containers),
    ...objectsIn(pod.spec?.ephemeralContainers),
  ].flatMap((container) => text(container.name) ?? []);
  return {
    pod: pod.metadata?.name ?? '',
    containers: names.map((name) => {
      const state = statuses.find((status) => status.name === name)?.state;
      const description = state?.running
        ? 'running'
        : state?.terminated
          ? `terminated (${state.terminated.reason ?? 'exited'})`
          : state?.waiting
            ? `waiting (${state.waiting.reason ?? 'unknown'})`
            : `not started (pod ${pod.status?.phase ?? 'Pending'})`;
      return { name, state: description };
    }),
  };
};

/**
 * Diagnoses one pod (`pod` given) or every pod of the namespace failing to pull (`pod` undefined).
 * `cluster` only names the cluster in the verdict's context (the kubeconfig context).
 */
export const diagnoseNamespace = async (
  kube: KubeHttp,
  options: { namespace: string; pod?: string; cluster: string; now?: () => Date },
): Promise<DiagnosisResult> => {
  const { namespace } = options;
  const now = options.now ?? (() => new Date());
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
  let pods: PodLike[];
  const events = new PodEventIndex();
  if (options.pod !== undefined) {
    let pod: PodLike;
    try {
      pod = await kube.get<PodLike>(`${base}/pods/${encodeURIComponent(options.pod)}`);
    } catch (error) {
      if (error instanceof KubeApiError && error.statusCode === 404) {
        throw new PodNotFound(`pod "${options.pod}" not found in namespace "${namespace}"`);
      }
      throw error;
    }
    pods = [pod];
    const uid = pod.metadata?.uid ?? '';
    for (const event of await listAll<EventLike>(
      kube,
      `${base}/events`,
      `involvedObject.uid=${uid},type=Warning`,
    )) {
      events.upsert(event);
    }
  } else {
    pods = await listAll<PodLike>(kube, `${base}/pods`);
    for (const event of await listAll<EventLike>(
      kube,
      `${base}/events`,
      'involvedObject.kind=Pod,type=Warning',
    )) {
      events.upsert(event);
    }
  }

  const workloads = new WorkloadDirectory(
    (kind, ns, name) =>
      kube.ownersOf(
        kind === 'ReplicaSet'
          ? `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/replicasets/${encodeURIComponent(name)}`
          : `/apis/batch/v1/namespaces/${encodeURIComponent(ns)}/jobs/${encodeURIComponent(name)}`,
      ),
    silentLogger,
  );
  const groups = new Map<string, DiagnosisGroup>();
  const healthy: PodState[] = [];
  for (const pod of pods) {
    const uid = pod.metadata?.uid ?? '';
    const observation = observePod(pod, events.eventsFor(uid), events.horizon);
    // A tracker without a hold: a bare back-off line is diagnosed now, as "cause not stated".
    const decisions = new ContainerTracker([], 0).observe(
      observation,
      await workloads.prefetch(pod).then(() => resolveWorkload(pod, workloads.lookup)),
      now(),
    );
    const failed = decisions.filter((decision) => decision.kind === 'failed');
    if (failed.length === 0) {
      healthy.push(stateOf(pod));
      continue;
    }
    for (const decision of failed) {
      const event = eventFor(decision, options.cluster, now());
      if (event.detailType !== DETAIL_TYPE.failed) continue;
      const { verdict } = classifyPullEvent({
        source: SOURCE,
        'detail-type': DETAIL_TYPE.failed,
        detail: event.detail,
      });
      const key = canonicalKey(incidentKeyOf(event.detail, verdict.cause));
      const group = groups.get(key) ?? {
        namespace,
        workload: workloadRef(event.detail.workload),
        container: event.detail.container,
        image: event.detail.image,
        pods: [],
        failures: [],
        verdict,
      };
      if (!group.pods.includes(event.detail.pod)) group.pods.push(event.detail.pod);
      group.failures.push({ detail: event.detail, verdict });
      groups.set(key, group);
    }
  }
  return { namespace, groups: [...groups.values()], healthy, podsChecked: pods.length };
};

const utc = (iso: string): string => `${iso.slice(0, 19).replace('T', ' ')} UTC`;

/** The diagnosis for a person: per failing workload container, where, what the kubelet says, the verdict. */
export const renderDiagnosis = (
  result: DiagnosisResult,
  renderVerdict: (verdict: Verdict) => string,
  options: { single: boolean },
): string => {
  const blocks: string[] = [];
  for (const group of result.groups) {
    const first = group.failures[0]!.detail;
    const attempts = group.failures.reduce((sum, failure) => sum + failure.detail.count, 0);
    const since = group.failures.map((failure) => failure.detail.firstSeen).sort()[0]!;
    const who = options.single
      ? `${result.namespace}/${first.pod}`
      : `${result.namespace}/${group.workload}: ${group.pods.length} pod${group.pods.length === 1 ? '' : 's'} (${group.pods.join(', ')})`;
    const lines = [
      `${who} · container ${group.container}${options.single ? ` (${group.workload})` : ''} · image ${group.image}`,
      `${first.reason} · ${attempts} failed pull${attempts === 1 ? '' : 's'} since ${utc(since)}${
        first.pullSecretWarning === undefined ? '' : ' · the kubelet could not retrieve an image pull secret'
      }`,
      '',
      renderVerdict(group.verdict),
    ];
    blocks.push(lines.join('\n'));
  }
  if (options.single) {
    for (const pod of result.healthy) {
      const states = pod.containers.map((container) => `${container.name}: ${container.state}`).join(', ');
      blocks.push(
        `${result.namespace}/${pod.pod}: no container is failing to pull its image (${states || 'no containers'})`,
      );
    }
  } else if (result.groups.length === 0) {
    blocks.push(
      `No pod in namespace ${result.namespace} is failing to pull its image (${result.podsChecked} pod${result.podsChecked === 1 ? '' : 's'} checked).`,
    );
  } else {
    const failing = new Set(result.groups.flatMap((group) => group.pods)).size;
    blocks.push(
      `${failing} of ${result.podsChecked} pod${result.podsChecked === 1 ? '' : 's'} in namespace ${result.namespace} failing to pull, ${result.groups.length} distinct problem${result.groups.length === 1 ? '' : 's'}.`,
    );
  }
  return blocks.join(`\n\n${'─'.repeat(60)}\n\n`);
};
