import { podEventFacts } from '../../forwarder/event-index';
import type { PodLike } from '../../forwarder/kube-objects';
import {
  BACK_OFF,
  NOT_FOUND_EVENT,
  NOT_FOUND_STATUS,
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
