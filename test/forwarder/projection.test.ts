import { podEventFacts } from '../../forwarder/event-index';
import type { EventLike, PodLike } from '../../forwarder/kube-objects';
import { Pool, projectEvent, projectPod } from '../../forwarder/projection';
import { resolveWorkload } from '../../forwarder/workload-resolution';
import { realisticPod } from './realistic-pod';
import { BACK_OFF, NOT_FOUND_EVENT, event, observe, pod, running, waiting } from './pods';

describe('projections', () => {
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

describe('the pod projection on a realistic pod', () => {
  const real = () =>
    realisticPod({
      name: 'web-6b7d9f8c5-x2x9z',
      namespace: 'shop',
      image: 'registry.example.com/web:1.2',
      node: 'node-a',
      replicaSet: { name: 'web-6b7d9f8c5', hash: '6b7d9f8c5' },
      bytes: 8000,
    }) as PodLike;

  it('keeps about a tenth of the object, and observes it the same', () => {
    const original = real();
    const projected = projectPod(original);
    expect(JSON.stringify(original).length).toBeGreaterThanOrEqual(8000);
    expect(JSON.stringify(projected).length).toBeLessThan(1000);
    expect(observe(projected)).toEqual(observe(original));
    expect(resolveWorkload(projected, () => undefined)).toEqual(resolveWorkload(original, () => undefined));
  });

  it('shares one frozen copy of what pods have alike: containers, owners, running states', () => {
    const [a, b] = [projectPod(real()), projectPod(real())];
    const stateOf = (pod: PodLike, index: number) => pod.status?.containerStatuses?.[index]?.state;
    expect(stateOf(a, 0)).toBe(stateOf(b, 1));
    expect(Object.isFrozen(stateOf(a, 0))).toBe(true);
    expect(a.spec?.containers).toBe(b.spec?.containers);
    expect(a.metadata?.ownerReferences).toBe(b.metadata?.ownerReferences);
    expect(a.status?.containerStatuses).toBe(b.status?.containerStatuses);
    expect(Object.isFrozen(a.spec?.containers?.[0])).toBe(true);
    // What differs per pod is not shared.
    expect(a.metadata).not.toBe(b.metadata);
  });

  it('drops the waiting message where nothing reads it, and keeps it for pull failures', () => {
    const crashing = pod({
      app: waiting('CrashLoopBackOff', 'back-off 5m0s restarting failed container=app'),
    });
    expect(projectPod(crashing).status?.containerStatuses?.[0]?.state).toEqual({
      waiting: { reason: 'CrashLoopBackOff' },
    });
    const failing = pod({ app: waiting('ErrImagePull', 'not found') });
    expect(projectPod(failing).status?.containerStatuses?.[0]?.state).toEqual({
      waiting: { reason: 'ErrImagePull', message: 'not found' },
    });
  });

  it('keeps only the keys of an event that says nothing about pulls', () => {
    const unrelated = event('Error: failed to create containerd task', { container: 'app' });
    expect(projectEvent(unrelated)).not.toHaveProperty('message');
    expect(projectEvent(unrelated).metadata?.name).toBe(unrelated.metadata?.name);
  });
});

describe('the pool of shared values', () => {
  it('returns the first value for a key, keeps one entry per key up to its bound, and still answers past it', () => {
    const pool = new Pool<object>(2);
    const first = { image: 'registry' };
    expect(pool.intern('registry', first)).toBe(first);
    expect(pool.intern('registry', { image: 'registry' })).toBe(first);
    expect(pool.size).toBe(1);
    pool.intern('a', {});
    const past = { image: 'b' };
    expect(pool.intern('b', past)).toBe(past);
    expect(pool.size).toBe(2);
  });
});
