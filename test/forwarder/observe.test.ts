import fc from 'fast-check';
import { failedDetailSchema, recoveredDetailSchema } from '#shared/contract';
import {
  ContainerTracker,
  type Decision,
  type EventLike,
  PodEventIndex,
  type PodLike,
  type PodObservation,
  eventFor,
  failureFingerprint,
  isImagePullReason,
  observePod,
  podEventFacts,
  projectEvent,
  projectPod,
  resolveWorkload,
} from '../../forwarder/observe';

// ------------------------------------------------------------------------------------------
// Small builders: pods and events as the API server returns them.

interface Waiting {
  reason: string;
  message?: string;
}
type State = { waiting: Waiting } | { running: { startedAt: string } } | { terminated: { exitCode: number } };

const UID = '5b0a1c9e-0000-4000-8000-000000000001';

const pod = (
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

const waiting = (reason: string, message?: string): State => ({
  waiting: message === undefined ? { reason } : { reason, message },
});
const running: State = { running: { startedAt: '2026-03-01T10:10:00Z' } };

let eventCounter = 0;
const event = (
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

const NOT_FOUND_STATUS =
  'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/web:1.2": not found';
const NOT_FOUND_EVENT = `Failed to pull image "registry.example.com/web:1.2": ${NOT_FOUND_STATUS}`;
const UNAUTHORIZED_EVENT =
  'Failed to pull image "registry.example.com/web:1.2": rpc error: code = Unknown desc = failed to authorize: 401 Unauthorized';
const BACK_OFF = 'Back-off pulling image "registry.example.com/web:1.2"';

const indexOf = (...events: EventLike[]): PodEventIndex => {
  const index = new PodEventIndex();
  for (const item of events) index.upsert(item);
  return index;
};

const observe = (subject: PodLike, ...events: EventLike[]): PodObservation =>
  observePod(subject, indexOf(...events).eventsFor(UID));

const failureOf = (observation: PodObservation, container = 'app') => {
  const condition = observation.containers.find((c) => c.name === container)?.condition;
  if (condition?.state !== 'failing')
    throw new Error(`${container} is not failing: ${JSON.stringify(condition)}`);
  return condition.failure;
};

const WORKLOAD = { kind: 'Deployment', name: 'web' };
const at = (minute: number): Date => new Date(Date.UTC(2026, 2, 1, 10, minute));

const summary = (decisions: Decision[]): string[] =>
  decisions.map((d) =>
    d.kind === 'failed'
      ? `failed:${d.change}:${d.episode.container}`
      : `recovered:${d.recovery}:${d.episode.container}`,
  );

// ------------------------------------------------------------------------------------------

describe('what counts as an image-pull failure', () => {
  it.each([
    'ErrImagePull',
    'ImagePullBackOff',
    'InvalidImageName',
    'ErrImageNeverPull',
    'RegistryUnavailable',
    'ImageInspectError',
    'SignatureValidationFailed',
    'ErrImageSignatureInvalid',
  ])('%s is a pull failure', (reason) => expect(isImagePullReason(reason)).toBe(true));

  it.each([
    'CrashLoopBackOff',
    'ContainerCreating',
    'CreateContainerConfigError',
    'PodInitializing',
    undefined,
  ])('%s is not', (reason) => expect(isImagePullReason(reason)).toBe(false));
});

describe('the most informative text', () => {
  it('takes the ErrImagePull status message when there is one', () => {
    const failure = failureOf(observe(pod({ app: waiting('ErrImagePull', NOT_FOUND_STATUS) })));
    expect(failure).toMatchObject({ reason: 'ErrImagePull', message: NOT_FOUND_STATUS, informative: true });
  });

  it("prefers the kubelet's Failed to pull image event over a bare back-off line", () => {
    const failure = failureOf(
      observe(
        pod({ app: waiting('ImagePullBackOff', BACK_OFF) }),
        event(NOT_FOUND_EVENT, { container: 'app', count: 4 }),
      ),
    );
    expect(failure).toMatchObject({
      reason: 'ImagePullBackOff',
      message: NOT_FOUND_EVENT,
      informative: true,
      count: 4,
    });
  });

  it('takes the newest event, and ignores events about another image or another container', () => {
    const failure = failureOf(
      observe(
        pod({ app: waiting('ImagePullBackOff', BACK_OFF) }),
        event(NOT_FOUND_EVENT, { container: 'app', at: '2026-03-01T10:01:00Z' }),
        event(UNAUTHORIZED_EVENT, { container: 'app', at: '2026-03-01T10:03:00Z' }),
        event('Failed to pull image "registry.example.com/web:0.9": gone', {
          container: 'app',
          at: '2026-03-01T10:09:00Z',
        }),
        event('Failed to pull image "registry.example.com/web:1.2": other', {
          container: 'sidecar',
          at: '2026-03-01T10:09:00Z',
        }),
      ),
    );
    expect(failure.message).toBe(UNAUTHORIZED_EVENT);
    expect(failure.lastSeen).toBe('2026-03-01T10:03:00.000Z');
  });

  it('matches an event that names the image with the :latest tag the kubelet adds', () => {
    const failure = failureOf(
      observe(
        pod({ app: waiting('ImagePullBackOff', 'Back-off pulling image "nginx"') }, { image: 'nginx' }),
        event('Failed to pull image "nginx:latest": not found', { container: 'app' }),
      ),
    );
    expect(failure.message).toBe('Failed to pull image "nginx:latest": not found');
  });

  it('falls back to the bare back-off line, marked as not informative', () => {
    const failure = failureOf(observe(pod({ app: waiting('ImagePullBackOff', BACK_OFF) })));
    expect(failure).toMatchObject({ message: BACK_OFF, informative: false });
  });

  it('ignores Normal events and reasons that say nothing about pulls', () => {
    expect(podEventFacts(event(NOT_FOUND_EVENT, { type: 'Normal' }))).toBeUndefined();
    expect(podEventFacts(event('Error: ErrImagePull', { container: 'app' }))).toBeUndefined();
    expect(podEventFacts(event('Liveness probe failed', { reason: 'Unhealthy' }))).toBeUndefined();
  });
});

describe('the failure fingerprint', () => {
  it('is the same for the status message and the event that carries the prefix', () => {
    expect(failureFingerprint('ErrImagePull', NOT_FOUND_STATUS)).toBe(
      failureFingerprint('ErrImagePull', NOT_FOUND_EVENT),
    );
  });

  it('treats ErrImagePull and ImagePullBackOff as one reason', () => {
    expect(failureFingerprint('ErrImagePull', NOT_FOUND_EVENT)).toBe(
      failureFingerprint('ImagePullBackOff', NOT_FOUND_EVENT),
    );
    expect(failureFingerprint('InvalidImageName', 'x')).not.toBe(failureFingerprint('ErrImagePull', 'x'));
  });

  it('ignores addresses, request IDs and timestamps, but not the error', () => {
    const a =
      'dial tcp 10.0.0.1:443: i/o timeout (request id: 4f1c2d3e-aaaa-4bbb-8ccc-123456789abc) at 2026-03-01T10:00:00Z';
    const b =
      'dial tcp 10.0.0.2:443: i/o timeout (request id: 9e8d7c6b-aaaa-4bbb-8ccc-123456789abc) at 2026-03-01T10:05:00Z';
    expect(failureFingerprint('ErrImagePull', a)).toBe(failureFingerprint('ErrImagePull', b));
    expect(failureFingerprint('ErrImagePull', a)).not.toBe(
      failureFingerprint('ErrImagePull', 'dial tcp 10.0.0.1:443: connection refused'),
    );
  });
});

describe('observing a pod', () => {
  it('carries the pod facts, only pullwatch.io/ annotations, and the pull-secret warning', () => {
    const observation = observe(
      pod({ app: waiting('ErrImagePull', NOT_FOUND_STATUS) }),
      event(
        'Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.',
        {
          reason: 'FailedToRetrieveImagePullSecret',
        },
      ),
    );
    expect(observation.context).toEqual({
      namespace: 'shop',
      pod: 'web-7d9c6b5f4-x2x9z',
      podUid: UID,
      node: 'node-a',
      serviceAccount: 'web',
      pullSecrets: ['regcred'],
      annotations: { 'pullwatch.io/slack-channel': '#shop' },
      pullSecretWarning:
        'Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.',
    });
  });

  it('observes init, regular and ephemeral containers with their type', () => {
    const observation = observe(
      pod({
        init: waiting('ErrImagePull', 'denied'),
        app: waiting('PodInitializing'),
        debug: waiting('ImagePullBackOff', 'x'),
      }),
    );
    expect(observation.containers.map((c) => [c.name, c.type, c.condition.state])).toEqual([
      ['migrate', 'init', 'failing'],
      ['app', 'regular', 'other'],
      ['debug', 'ephemeral', 'failing'],
    ]);
  });

  it('tells started containers from containers waiting for something else', () => {
    const state = (subject: PodLike) => observe(subject).containers[0]?.condition.state;
    expect(state(pod({ app: running }))).toBe('started');
    expect(state(pod({ app: { terminated: { exitCode: 1 } } }))).toBe('started');
    expect(state(pod({ app: waiting('ContainerCreating') }))).toBe('other');
    expect(state(pod({ app: waiting('ErrImagePull', 'x') }, { phase: 'Failed' }))).toBe('other');
    expect(state(pod({}))).toBe('other');
  });

  it('reads only what it needs, so the informer can cache a projection', () => {
    const original = pod({ app: waiting('ImagePullBackOff', BACK_OFF), init: running });
    const events = [event(NOT_FOUND_EVENT, { container: 'app' })];
    expect(observe(projectPod(original), ...events)).toEqual(observe(original, ...events));
    expect(projectPod(original).metadata?.annotations).toEqual({ 'pullwatch.io/slack-channel': '#shop' });
    expect(podEventFacts(projectEvent(events[0] as EventLike))).toEqual(
      podEventFacts(events[0] as EventLike),
    );
  });
});

describe('the event index', () => {
  it('keeps pull errors and pull-secret warnings by pod UID, and forgets them', () => {
    const index = new PodEventIndex();
    const pullError = event(NOT_FOUND_EVENT, { container: 'app' });
    expect(index.upsert(pullError)).toBe(UID);
    expect(index.upsert(event('Liveness probe failed', { reason: 'Unhealthy' }))).toBeUndefined();
    expect(index.eventsFor(UID)).toHaveLength(1);
    expect(index.remove(pullError)).toBe(UID);
    expect(index.size).toBe(0);
    index.upsert(event(NOT_FOUND_EVENT, { container: 'app' }));
    index.forgetPod(UID);
    expect(index.eventsFor(UID)).toEqual([]);
  });
});

describe('workload resolution', () => {
  const withOwner = (kind: string, name: string, labels: Record<string, string> = {}): PodLike => ({
    metadata: {
      name: `${name}-abcde`,
      namespace: 'shop',
      labels,
      ownerReferences: [{ kind, name, controller: true }],
    },
  });

  it('follows a ReplicaSet to its Deployment', () => {
    const lookup = (kind: string, namespace: string, name: string) =>
      kind === 'ReplicaSet' && namespace === 'shop' && name === 'web-7d9c6b5f4'
        ? [{ kind: 'Deployment', name: 'web', controller: true }]
        : undefined;
    expect(resolveWorkload(withOwner('ReplicaSet', 'web-7d9c6b5f4'), lookup)).toEqual({
      kind: 'Deployment',
      name: 'web',
    });
  });

  it('strips the pod-template-hash when the ReplicaSet is not known (documented fallback)', () => {
    const subject = withOwner('ReplicaSet', 'web-api-7d9c6b5f4', { 'pod-template-hash': '7d9c6b5f4' });
    expect(resolveWorkload(subject, () => undefined)).toEqual({ kind: 'Deployment', name: 'web-api' });
  });

  it('keeps a ReplicaSet without owner, and one without a matching hash', () => {
    expect(resolveWorkload(withOwner('ReplicaSet', 'bare-rs'), () => [])).toEqual({
      kind: 'ReplicaSet',
      name: 'bare-rs',
    });
    expect(resolveWorkload(withOwner('ReplicaSet', 'odd'), () => undefined)).toEqual({
      kind: 'ReplicaSet',
      name: 'odd',
    });
  });

  it('follows a Job to its CronJob, and keeps a Job that has none or is unknown', () => {
    const cron = () => [{ kind: 'CronJob', name: 'nightly', controller: true }];
    expect(resolveWorkload(withOwner('Job', 'nightly-2901234'), cron)).toEqual({
      kind: 'CronJob',
      name: 'nightly',
    });
    expect(resolveWorkload(withOwner('Job', 'once'), () => [])).toEqual({ kind: 'Job', name: 'once' });
    expect(resolveWorkload(withOwner('Job', 'once'), () => undefined)).toEqual({ kind: 'Job', name: 'once' });
  });

  it('names StatefulSets, DaemonSets and bare pods directly', () => {
    const never = () => {
      throw new Error('no lookup needed');
    };
    expect(resolveWorkload(withOwner('StatefulSet', 'db'), never)).toEqual({
      kind: 'StatefulSet',
      name: 'db',
    });
    expect(resolveWorkload(withOwner('DaemonSet', 'agent'), never)).toEqual({
      kind: 'DaemonSet',
      name: 'agent',
    });
    expect(resolveWorkload({ metadata: { name: 'debug-shell' } }, never)).toEqual({
      kind: 'Pod',
      name: 'debug-shell',
    });
  });
});

describe('the container tracker', () => {
  it('ships a failure when the container enters the state, and not again while unchanged', () => {
    const tracker = new ContainerTracker();
    const first = tracker.observe(
      observe(pod({ app: waiting('ErrImagePull', NOT_FOUND_STATUS) })),
      WORKLOAD,
      at(0),
    );
    expect(summary(first)).toEqual(['failed:entered:app']);
    // The event with the same error arrives; back-off follows; the kubelet retries: nothing new.
    const events = [event(NOT_FOUND_EVENT, { container: 'app', count: 5, at: '2026-03-01T10:04:00Z' })];
    expect(
      tracker.observe(
        observe(pod({ app: waiting('ErrImagePull', NOT_FOUND_STATUS) }), ...events),
        WORKLOAD,
        at(1),
      ),
    ).toEqual([]);
    expect(
      tracker.observe(
        observe(pod({ app: waiting('ImagePullBackOff', BACK_OFF) }), ...events),
        WORKLOAD,
        at(2),
      ),
    ).toEqual([]);
    expect(
      tracker.observe(observe(pod({ app: waiting('ImagePullBackOff', BACK_OFF) })), WORKLOAD, at(3)),
    ).toEqual([]);
    expect(tracker.failingCount).toBe(1);
  });

  it("ships again when the registry's error text changes", () => {
    const tracker = new ContainerTracker();
    tracker.observe(observe(pod({ app: waiting('ErrImagePull', NOT_FOUND_STATUS) })), WORKLOAD, at(0));
    const changed = tracker.observe(
      observe(
        pod({ app: waiting('ImagePullBackOff', BACK_OFF) }),
        event(UNAUTHORIZED_EVENT, { container: 'app', count: 2 }),
      ),
      WORKLOAD,
      at(5),
    );
    expect(summary(changed)).toEqual(['failed:text-changed:app']);
    expect(changed[0]?.episode).toMatchObject({
      message: UNAUTHORIZED_EVENT,
      firstSeen: '2026-03-01T10:00:00.000Z',
      count: 2,
    });
  });

  it('does not let an event older than the current text replace it (pods and events race)', () => {
    const tracker = new ContainerTracker([], 0);
    const index = new PodEventIndex();
    const look = (state: State) => observePod(pod({ app: state }), index.eventsFor(UID), index.horizon);
    index.upsert(event(NOT_FOUND_EVENT, { container: 'app' }));
    expect(
      summary(tracker.observe(look(waiting('ErrImagePull', NOT_FOUND_STATUS)), WORKLOAD, at(0))),
    ).toEqual(['failed:entered:app']);
    // The registry now says 401; the pod watch is ahead of the event watch.
    expect(
      summary(tracker.observe(look(waiting('ErrImagePull', UNAUTHORIZED_EVENT)), WORKLOAD, at(1))),
    ).toEqual(['failed:text-changed:app']);
    // Back-off while the newest indexed event still says "not found": stale, nothing shipped.
    expect(tracker.observe(look(waiting('ImagePullBackOff', BACK_OFF)), WORKLOAD, at(2))).toEqual([]);
    // The 401 event arrives: same error, nothing shipped.
    index.upsert(event(UNAUTHORIZED_EVENT, { container: 'app' }));
    expect(tracker.observe(look(waiting('ImagePullBackOff', BACK_OFF)), WORKLOAD, at(3))).toEqual([]);
    // A new "not found" event arrives after it: the error really changed back.
    index.upsert(event(NOT_FOUND_EVENT, { container: 'app' }));
    expect(summary(tracker.observe(look(waiting('ImagePullBackOff', BACK_OFF)), WORKLOAD, at(4)))).toEqual([
      'failed:text-changed:app',
    ]);
  });

  it('ships the recovery that happened: started, left the state, or pod deleted', () => {
    const failing = observe(pod({ app: waiting('ErrImagePull', NOT_FOUND_STATUS) }));
    const started = new ContainerTracker();
    started.observe(failing, WORKLOAD, at(0));
    expect(summary(started.observe(observe(pod({ app: running })), WORKLOAD, at(1)))).toEqual([
      'recovered:started:app',
    ]);
    expect(started.failingCount).toBe(0);

    const left = new ContainerTracker();
    left.observe(failing, WORKLOAD, at(0));
    expect(
      summary(left.observe(observe(pod({ app: waiting('CreateContainerConfigError') })), WORKLOAD, at(1))),
    ).toEqual(['recovered:left-pull-failure:app']);

    const deleted = new ContainerTracker();
    deleted.observe(failing, WORKLOAD, at(0));
    expect(summary(deleted.podDeleted(UID))).toEqual(['recovered:pod-deleted:app']);
    expect(deleted.podDeleted(UID)).toEqual([]);
  });

  it('restored from what was shipped, ships only what changed meanwhile', () => {
    const before = new ContainerTracker();
    before.observe(observe(pod({ app: waiting('ErrImagePull', NOT_FOUND_STATUS) })), WORKLOAD, at(0));
    const unchanged = new ContainerTracker(before.snapshot());
    expect(
      unchanged.observe(observe(pod({ app: waiting('ImagePullBackOff', BACK_OFF) })), WORKLOAD, at(9)),
    ).toEqual([]);
    const changed = new ContainerTracker(before.snapshot());
    expect(
      summary(
        changed.observe(observe(pod({ app: waiting('ErrImagePull', UNAUTHORIZED_EVENT) })), WORKLOAD, at(9)),
      ),
    ).toEqual(['failed:text-changed:app']);
    const gone = new ContainerTracker(before.snapshot());
    expect(summary(gone.reconcile(new Set(), () => true))).toEqual(['recovered:pod-deleted:app']);
    const outOfScope = new ContainerTracker(before.snapshot());
    expect(outOfScope.reconcile(new Set(), (namespace) => namespace !== 'shop')).toEqual([]);
  });

  it('holds a failure known only by a bare back-off line until the real error arrives', () => {
    const tracker = new ContainerTracker([], 3000);
    const t0 = new Date(Date.UTC(2026, 2, 1, 10, 0, 0));
    const later = (ms: number) => new Date(t0.getTime() + ms);
    const bare = observe(pod({ app: waiting('ImagePullBackOff', BACK_OFF) }));
    expect(tracker.observe(bare, WORKLOAD, t0)).toEqual([]);
    expect(tracker.heldUntil(UID)).toEqual(later(3000));
    expect(tracker.failingCount).toBe(1);
    // The event arrives within the hold: shipped once, with the real text.
    const withEvent = observe(
      pod({ app: waiting('ImagePullBackOff', BACK_OFF) }),
      event(NOT_FOUND_EVENT, { container: 'app' }),
    );
    const [entered, ...rest] = tracker.observe(withEvent, WORKLOAD, later(500));
    expect(rest).toEqual([]);
    expect(entered).toMatchObject({
      kind: 'failed',
      change: 'entered',
      episode: { message: NOT_FOUND_EVENT },
    });
    expect(tracker.heldUntil(UID)).toBeUndefined();

    // No event ever comes: the bare line is shipped when the hold ends.
    const alone = new ContainerTracker([], 3000);
    alone.observe(bare, WORKLOAD, t0);
    expect(alone.observe(bare, WORKLOAD, later(2999))).toEqual([]);
    expect(summary(alone.observe(bare, WORKLOAD, later(3000)))).toEqual(['failed:entered:app']);

    // A held failure that recovers was never announced: nothing to ship.
    const transient = new ContainerTracker([], 3000);
    transient.observe(bare, WORKLOAD, t0);
    expect(transient.observe(observe(pod({ app: running })), WORKLOAD, later(1000))).toEqual([]);
    expect(transient.podDeleted(UID)).toEqual([]);
  });

  it.each([0, 3000])(
    'never ships twice for the same observation, whatever the sequence (property, hold %i ms)',
    (hold) => {
      const states: State[] = [
        waiting('ErrImagePull', NOT_FOUND_STATUS),
        waiting('ErrImagePull', UNAUTHORIZED_EVENT),
        waiting('ImagePullBackOff', BACK_OFF),
        waiting('InvalidImageName', 'couldn\'t parse image reference "x"'),
        waiting('ContainerCreating'),
        running,
      ];
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(fc.integer({ min: 0, max: states.length - 1 }), fc.integer({ min: 0, max: 5000 })),
            {
              maxLength: 30,
            },
          ),
          (sequence) => {
            const tracker = new ContainerTracker([], hold);
            let announced = false;
            let clock = at(0).getTime();
            for (const [choice, elapsed] of sequence) {
              clock += elapsed;
              const observation = observe(pod({ app: states[choice] as State }));
              const decisions = tracker.observe(observation, WORKLOAD, new Date(clock));
              // Seen again at once (a relist, a re-watch), nothing is shipped.
              expect(tracker.observe(observation, WORKLOAD, new Date(clock))).toEqual([]);
              for (const decision of decisions) {
                if (decision.kind === 'recovered') {
                  expect(announced).toBe(true);
                  announced = false;
                } else {
                  expect(decision.change === 'entered').toBe(!announced);
                  announced = true;
                }
              }
              const failingNow = observation.containers[0]?.condition.state === 'failing';
              expect(tracker.failingCount).toBe(failingNow ? 1 : 0);
              if (hold === 0) expect(announced).toBe(failingNow);
            }
          },
        ),
      );
    },
  );

  it('builds events that satisfy the contract', () => {
    const tracker = new ContainerTracker();
    const [entered] = tracker.observe(
      observe(pod({ app: waiting('ErrImagePull', NOT_FOUND_STATUS) })),
      WORKLOAD,
      at(0),
    );
    const [recovered] = tracker.observe(observe(pod({ app: running })), WORKLOAD, at(3));
    const failedEvent = eventFor(entered as Decision, 'prod-eu', at(1));
    expect(failedDetailSchema.parse(failedEvent.detail)).toMatchObject({
      cluster: 'prod-eu',
      workload: WORKLOAD,
      containerType: 'regular',
      image: 'registry.example.com/web:1.2',
      messageTruncated: false,
    });
    const recoveredEvent = eventFor(recovered as Decision, 'prod-eu', at(3));
    expect(recoveredDetailSchema.parse(recoveredEvent.detail).recovery).toBe('started');
    expect(recoveredEvent.key).toBe(failedEvent.key);
  });
});
