import { PodEventIndex } from '../../forwarder/event-index';
import { NOT_FOUND_EVENT, UID, event } from './pods';

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
