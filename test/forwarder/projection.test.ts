import type { EventLike } from '../../forwarder/kube-objects';
import { podEventFacts } from '../../forwarder/event-index';
import { projectEvent, projectPod } from '../../forwarder/projection';
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
