/** Small builders for observation tests: pods and events as the API server returns them. */
import type { Decision } from '../../forwarder/container-tracker';
import { PodEventIndex } from '../../forwarder/event-index';
import type { EventLike, PodLike } from '../../forwarder/kube-objects';
import { type PodObservation, observePod } from '../../forwarder/observe';

export interface Waiting {
  reason: string;
  message?: string;
}
export type State =
  { waiting: Waiting } | { running: { startedAt: string } } | { terminated: { exitCode: number } };

export const UID = '5b0a1c9e-0000-4000-8000-000000000001';

export const pod = (
  states: { app?: State; init?: State; debug?: State } = {},
  extra: { phase?: string; annotations?: Record<string, string>; image?: string } = {},
): PodLike => ({
  metadata: {
    name: 'web-7d9c6b5f4-x2x9z',
    namespace: 'shop',
    uid: UID,
    resourceVersion: '10',
    labels: { app: 'web', 'pod-template-hash': '7d9c6b5f4' },
    annotations: extra.annotations ?? {
      'pullwatch.io/slack-channel': '#shop',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
    },
    ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d9c6b5f4', controller: true }],
  },
  spec: {
    nodeName: 'node-a',
    serviceAccountName: 'web',
    imagePullSecrets: [{ name: 'regcred' }],
    initContainers: states.init ? [{ name: 'migrate', image: 'registry.example.com/migrate:1' }] : [],
    containers: [{ name: 'app', image: extra.image ?? 'registry.example.com/web:1.2' }],
    ephemeralContainers: states.debug ? [{ name: 'debug', image: 'busybox' }] : [],
  },
  status: {
    phase: extra.phase ?? 'Pending',
    initContainerStatuses: states.init ? [{ name: 'migrate', state: states.init }] : [],
    containerStatuses: states.app ? [{ name: 'app', state: states.app }] : [],
    ephemeralContainerStatuses: states.debug ? [{ name: 'debug', state: states.debug }] : [],
  },
});

export const waiting = (reason: string, message?: string): State => ({
  waiting: message === undefined ? { reason } : { reason, message },
});
export const running: State = { running: { startedAt: '2026-03-01T10:10:00Z' } };

let eventCounter = 0;
export const event = (
  message: string,
  options: {
    container?: string;
    reason?: string;
    at?: string;
    count?: number;
    uid?: string;
    type?: string;
  } = {},
): EventLike => ({
  metadata: { name: `web.${++eventCounter}`, namespace: 'shop' },
  involvedObject: {
    kind: 'Pod',
    name: 'web-7d9c6b5f4-x2x9z',
    namespace: 'shop',
    uid: options.uid ?? UID,
    ...(options.container === undefined ? {} : { fieldPath: `spec.containers{${options.container}}` }),
  },
  type: options.type ?? 'Warning',
  reason: options.reason ?? 'Failed',
  message,
  count: options.count ?? 1,
  firstTimestamp: '2026-03-01T10:00:00Z',
  lastTimestamp: options.at ?? '2026-03-01T10:00:00Z',
});

export const NOT_FOUND_STATUS =
  'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/web:1.2": not found';
export const NOT_FOUND_EVENT = `Failed to pull image "registry.example.com/web:1.2": ${NOT_FOUND_STATUS}`;
export const UNAUTHORIZED_EVENT =
  'Failed to pull image "registry.example.com/web:1.2": rpc error: code = Unknown desc = failed to authorize: 401 Unauthorized';
export const BACK_OFF = 'Back-off pulling image "registry.example.com/web:1.2"';

export const indexOf = (...events: EventLike[]): PodEventIndex => {
  const index = new PodEventIndex();
  for (const item of events) index.upsert(item);
  return index;
};

export const observe = (subject: PodLike, ...events: EventLike[]): PodObservation =>
  observePod(subject, indexOf(...events).eventsFor(UID));

export const failureOf = (observation: PodObservation, container = 'app') => {
  const condition = observation.containers.find((c) => c.name === container)?.condition;
  if (condition?.state !== 'failing')
    throw new Error(`${container} is not failing: ${JSON.stringify(condition)}`);
  return condition.failure;
};

export const WORKLOAD = { kind: 'Deployment', name: 'web' };
export const at = (minute: number): Date => new Date(Date.UTC(2026, 2, 1, 10, minute));

export const summary = (decisions: Decision[]): string[] =>
  decisions.map((d) =>
    d.kind === 'failed'
      ? `failed:${d.change}:${d.episode.container}`
      : `recovered:${d.recovery}:${d.episode.container}`,
  );
