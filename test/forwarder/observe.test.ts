import fc from 'fast-check';
import { PodEventIndex, podEventFacts } from '../../forwarder/event-index';
import type { PodLike } from '../../forwarder/kube-objects';
import { projectEvent, projectPod } from '../../forwarder/projection';
import { failureFingerprint } from '../../forwarder/pull-text';
import { ownerLookupsFor, resolveWorkload } from '../../forwarder/workload-resolution';
import {
  BACK_OFF,
  NOT_FOUND_EVENT,
  NOT_FOUND_STATUS,
  type State,
  UID,
  UNAUTHORIZED_EVENT,
  event,
  failureOf,
  observe,
  pod,
  running,
  waiting,
} from './pods';

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
});

describe('odd and null-ish pod shapes', () => {
  /** A pod whose `app` container fails to pull, and whose `sidecar` is the odd one. */
  const withSidecar = (sidecar: Record<string, unknown> | null): PodLike => {
    const base = pod({ app: waiting('ErrImagePull', NOT_FOUND_STATUS) });
    return {
      ...base,
      spec: {
        ...base.spec,
        containers: [...(base.spec?.containers ?? []), { name: 'sidecar', image: 'envoy:1' }],
      },
      status: {
        ...base.status,
        containerStatuses: [...(base.status?.containerStatuses ?? []), sidecar as never],
      },
    };
  };

  it('does not skip a pod because a container has a null waiting reason', () => {
    const observation = observe(
      withSidecar({ name: 'sidecar', state: { waiting: { reason: null, message: null } } }),
    );
    expect(failureOf(observation)).toMatchObject({ reason: 'ErrImagePull', message: NOT_FOUND_STATUS });
    expect(observation.containers.find((c) => c.name === 'sidecar')?.condition.state).toBe('other');
  });

  it.each([
    ['a null status entry', null],
    ['a null state', { name: 'sidecar', state: null }],
    ['a null waiting', { name: 'sidecar', state: { waiting: null } }],
    [
      'a null running next to a waiting',
      { name: 'sidecar', state: { running: null, waiting: { reason: 'ContainerCreating' } } },
    ],
    ['a numeric reason', { name: 'sidecar', state: { waiting: { reason: 42 } } }],
    ['a null name', { name: null, state: { running: {} } }],
  ])('observes the failing container next to %s', (_, sidecar) => {
    expect(failureOf(observe(withSidecar(sidecar as Record<string, unknown> | null))).message).toBe(
      NOT_FOUND_STATUS,
    );
  });

  /** Fields a recording or an odd client may send as null, a scalar, a list or an object. */
  const ODD_PATHS: ReadonlyArray<readonly (string | number)[]> = [
    ['metadata', 'labels'],
    ['metadata', 'annotations'],
    ['metadata', 'annotations', 'pullwatch.io/slack-channel'],
    ['metadata', 'ownerReferences'],
    ['metadata', 'ownerReferences', 0],
    ['metadata', 'ownerReferences', 0, 'name'],
    ['metadata', 'ownerReferences', 0, 'kind'],
    ['spec', 'nodeName'],
    ['spec', 'serviceAccountName'],
    ['spec', 'imagePullSecrets'],
    ['spec', 'imagePullSecrets', 0],
    ['spec', 'imagePullSecrets', 0, 'name'],
    ['spec', 'initContainers'],
    ['spec', 'ephemeralContainers'],
    ['spec', 'volumes'],
    ['spec', 'containers', 1],
    ['spec', 'containers', 1, 'name'],
    ['spec', 'containers', 1, 'image'],
    ['spec', 'containers', 0, 'volumeMounts'],
    ['status', 'phase'],
    ['status', 'initContainerStatuses'],
    ['status', 'ephemeralContainerStatuses'],
    ['status', 'containerStatuses', 1],
    ['status', 'containerStatuses', 1, 'state'],
    ['status', 'containerStatuses', 1, 'state', 'waiting'],
    ['status', 'containerStatuses', 1, 'state', 'waiting', 'reason'],
    ['status', 'containerStatuses', 1, 'state', 'running'],
    ['status', 'containerStatuses', 0, 'lastState'],
    ['status', 'containerStatuses', 0, 'image'],
  ];
  const ODD_VALUES = [null, undefined, 42, 'x', [], {}, [null], true];

  const setPath = (
    root: Record<string, unknown>,
    path: readonly (string | number)[],
    value: unknown,
  ): void => {
    let node: unknown = root;
    for (const key of path.slice(0, -1)) {
      if (typeof node !== 'object' || node === null) return;
      node = (node as Record<string | number, unknown>)[key];
    }
    if (typeof node === 'object' && node !== null)
      (node as Record<string | number, unknown>)[path[path.length - 1] as string] = value;
  };

  it('never throws, and still sees the failing container, whatever those fields hold (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...ODD_PATHS), fc.constantFrom(...ODD_VALUES)), { maxLength: 8 }),
        (changes) => {
          const subject = JSON.parse(
            JSON.stringify(
              withSidecar({ name: 'sidecar', state: { running: { startedAt: '2026-03-01T10:00:00Z' } } }),
            ),
          ) as Record<string, unknown>;
          for (const [path, value] of changes) setPath(subject, path, value);
          const odd = subject as PodLike;
          const events = [event(NOT_FOUND_EVENT, { container: 'app' })];
          const observation = observe(odd, ...events);
          expect(observe(projectPod(odd), ...events)).toEqual(observation);
          expect(() => resolveWorkload(odd, () => undefined)).not.toThrow();
          expect(() => ownerLookupsFor(odd)).not.toThrow();
          // The failing container's own fields were left alone: it is still seen failing
          // (unless the pod's phase became one of the finished ones, which the odd values never are).
          expect(failureOf(observation).message).toBe(NOT_FOUND_STATUS);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads odd events without throwing, and ignores what it cannot use', () => {
    const odd = (changes: Record<string, unknown>) => ({
      ...event(NOT_FOUND_EVENT, { container: 'app' }),
      ...changes,
    });
    expect(podEventFacts(odd({ type: null, count: null, series: null, involvedObject: null }))).toMatchObject(
      {
        kind: 'pull-error',
        count: 1,
        container: undefined,
      },
    );
    expect(podEventFacts(odd({ message: null }))).toBeUndefined();
    expect(
      podEventFacts(odd({ count: 'many', firstTimestamp: 12, lastTimestamp: 'yesterday' })),
    ).toMatchObject({
      count: 1,
    });
    const index = new PodEventIndex();
    expect(index.upsert(odd({ metadata: null, involvedObject: { uid: null } }))).toBeUndefined();
    expect(() => projectEvent(odd({ metadata: null, involvedObject: null }))).not.toThrow();
  });
});

describe('CRI-O signature policy at container creation', () => {
  // CRI-O verifies the policy again when it creates a container from an image already on the node;
  // the kubelet reports CreateContainerError with the runtime's message, and an `Error: …` event.
  const REJECTED =
    'SignatureValidationFailed: Source image rejected: A signature was required, but no signature exists';

  it('ships CreateContainerError with "Source image rejected" as a failure of the image', () => {
    const failure = failureOf(observe(pod({ app: waiting('CreateContainerError', REJECTED) })));
    expect(failure).toMatchObject({ reason: 'CreateContainerError', message: REJECTED, informative: true });
  });

  it('leaves other container-creation errors alone', () => {
    const state = observe(
      pod({
        app: waiting('CreateContainerError', 'failed to create containerd task: exec: "/app": not found'),
      }),
    ).containers[0]?.condition.state;
    expect(state).toBe('other');
  });

  it("indexes the kubelet's `Error: …Source image rejected` event, with the same fingerprint as the status", () => {
    const facts = podEventFacts(event(`Error: ${REJECTED}`, { container: 'app' }));
    expect(facts).toMatchObject({ kind: 'pull-error', container: 'app' });
    expect(podEventFacts(event('Error: ErrImagePull', { container: 'app' }))).toBeUndefined();
    expect(failureFingerprint('CreateContainerError', `Error: ${REJECTED}`)).toBe(
      failureFingerprint('CreateContainerError', REJECTED),
    );
  });
});

describe('image volumes (KEP-4639)', () => {
  const MODELS = 'registry.example.com/models:v3';
  const MODELS_NOT_FOUND = `rpc error: code = NotFound desc = failed to pull and unpack image "${MODELS}": not found`;
  const MODELS_EVENT = `Failed to pull image "${MODELS}": ${MODELS_NOT_FOUND}`;

  /** The app container mounts the image volume `models`; its own image is registry.example.com/web:1.2. */
  const withVolume = (app?: State, mounted = true): PodLike => {
    const base = pod(app === undefined ? {} : { app });
    const container = {
      ...base.spec?.containers?.[0],
      ...(mounted ? { volumeMounts: [{ name: 'models', mountPath: '/models' }] } : {}),
    };
    return {
      ...base,
      spec: {
        ...base.spec,
        containers: [container],
        volumes: [
          { name: 'config', configMap: { name: 'x' } } as never,
          { name: 'models', image: { reference: MODELS, pullPolicy: 'IfNotPresent' } },
        ],
      },
    };
  };
  /** The kubelet pulls image volumes for the pod: its events name the pod, not a container. */
  const podLevel = (message: string, at?: string) => event(message, at === undefined ? {} : { at });
  const member = (observation: ReturnType<typeof observe>, name: string) =>
    observation.containers.find((c) => c.name === name);

  it('is a member of the pod of its own, volume:<name>, failing with the error the container reports (1.33+)', () => {
    const observation = observe(
      withVolume(waiting('ErrImagePull', MODELS_NOT_FOUND)),
      podLevel(MODELS_EVENT),
    );
    expect(member(observation, 'volume:models')).toMatchObject({
      type: 'volume',
      image: MODELS,
      condition: { state: 'failing', failure: { reason: 'ErrImagePull', message: MODELS_NOT_FOUND } },
    });
    // The container fails only because of the volume: not reported twice, nor with the wrong image.
    expect(member(observation, 'app')?.condition.state).toBe('other');
    expect(observation.containers.map((c) => c.name)).toEqual(['app', 'volume:models']);
  });

  it("takes the pod's event text over a bare back-off line", () => {
    const observation = observe(
      withVolume(waiting('ImagePullBackOff', `Back-off pulling image "${MODELS}"`)),
      podLevel(MODELS_EVENT),
    );
    expect(failureOf(observation, 'volume:models')).toMatchObject({
      reason: 'ImagePullBackOff',
      message: MODELS_EVENT,
      informative: true,
    });
  });

  it('fails from the pod-level event alone while the containers wait to be created (older kubelets)', () => {
    const observation = observe(withVolume(waiting('ContainerCreating')), podLevel(MODELS_EVENT));
    expect(failureOf(observation, 'volume:models')).toMatchObject({
      reason: 'ErrImagePull',
      message: MODELS_EVENT,
    });
    expect(member(observation, 'app')?.condition.state).toBe('other');
  });

  it('has recovered once a container that mounts it has started, whatever old events say', () => {
    const observation = observe(withVolume(running), podLevel(MODELS_EVENT));
    expect(member(observation, 'volume:models')?.condition.state).toBe('started');
  });

  it("does not take the container's own pull failure for the volume's", () => {
    const observation = observe(withVolume(waiting('ErrImagePull', NOT_FOUND_STATUS)));
    expect(failureOf(observation, 'app').message).toBe(NOT_FOUND_STATUS);
    expect(member(observation, 'volume:models')?.condition.state).toBe('other');
  });

  it('holds every container when none names it in a mount (the kubelet stops the pod at the volume)', () => {
    const observation = observe(withVolume(waiting('ContainerCreating'), false), podLevel(MODELS_EVENT));
    expect(failureOf(observation, 'volume:models').message).toBe(MODELS_EVENT);
    expect(
      member(observe(withVolume(running, false), podLevel(MODELS_EVENT)), 'volume:models')?.condition.state,
    ).toBe('started');
  });

  it('keeps what observing image volumes needs in the projection', () => {
    const subject = withVolume(waiting('ErrImagePull', MODELS_NOT_FOUND));
    const events = [podLevel(MODELS_EVENT)];
    expect(observe(projectPod(subject), ...events)).toEqual(observe(subject, ...events));
  });
});
