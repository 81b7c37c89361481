import fc from 'fast-check';
import { ContainerTracker } from '../../forwarder/container-tracker';
import { PodEventIndex } from '../../forwarder/event-index';
import { observePod } from '../../forwarder/observe';
import {
  BACK_OFF,
  NOT_FOUND_EVENT,
  NOT_FOUND_STATUS,
  type State,
  UID,
  UNAUTHORIZED_EVENT,
  WORKLOAD,
  at,
  event,
  observe,
  pod,
  running,
  summary,
  waiting,
} from './pods';

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
});
