import { forwarderDetailOf, forwarderDetailSchema } from '#shared/incident-events';
import { checkSilence, forwarderView, heartbeatArrived, silentAt } from '#shared/watchdog';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const SILENCE = 10 * MIN;
const beat = (minutes: number) => ({
  cluster: 'prod',
  observedAt: new Date(T0 + minutes * MIN).toISOString(),
  failingContainers: 2,
  forwarderVersion: '0.1.0',
});

describe('a forwarder’s liveness', () => {
  it('counts heartbeats by when they are processed, ordered by the forwarder’s own clock', () => {
    const first = heartbeatArrived(undefined, beat(0), T0 + 5_000);
    expect(first).toMatchObject({ changed: true, state: { lastHeartbeatAt: T0 + 5_000, status: 'alive' } });
    // A duplicate, or an older heartbeat delivered late, changes nothing.
    expect(heartbeatArrived(first.state, beat(0), T0 + 9 * MIN).changed).toBe(false);
    expect(heartbeatArrived(first.state, beat(-1), T0 + 9 * MIN).changed).toBe(false);
    const next = heartbeatArrived(first.state, beat(1), T0 + MIN);
    expect(next.state.lastHeartbeatAt).toBe(T0 + MIN);
    expect(silentAt(next.state, SILENCE)).toBe(T0 + 11 * MIN);
  });

  it('is silent once nothing was heard for the window, and back at the next fresh heartbeat', () => {
    const alive = heartbeatArrived(undefined, beat(0), T0).state;
    expect(checkSilence(alive, T0 + SILENCE - 1, SILENCE).changed).toBe(false);
    const silent = checkSilence(alive, T0 + SILENCE + 30_000, SILENCE);
    expect(silent).toMatchObject({
      change: 'silent',
      state: { status: 'silent', silences: 1, silentSince: T0, declaredAt: T0 + SILENCE + 30_000 },
    });
    expect(checkSilence(silent.state, T0 + 20 * MIN, SILENCE).changed).toBe(false);
    expect(heartbeatArrived(silent.state, beat(0), T0 + 20 * MIN).changed).toBe(false);

    const back = heartbeatArrived(silent.state, beat(19), T0 + 20 * MIN);
    expect(back).toMatchObject({
      change: 'back',
      state: { status: 'alive', silences: 1, backAt: T0 + 20 * MIN },
    });
    expect(forwarderView(back.state, SILENCE)).toMatchObject({
      status: 'alive',
      silence: 1,
      backAt: T0 + 20 * MIN,
    });
    expect(forwarderView(alive, SILENCE)).toBeUndefined();

    // The events other teams get, one id per silence and change.
    const silentEvent = forwarderDetailOf(silent.state, 'silent', SILENCE);
    const backEvent = forwarderDetailOf(back.state, 'back', SILENCE);
    expect(forwarderDetailSchema.parse(silentEvent)).toEqual(silentEvent);
    expect([silentEvent.eventId, backEvent.eventId]).toEqual(['prod@silent-1', 'prod@back-1']);
    expect(backEvent.backAt).toBe(new Date(T0 + 20 * MIN).toISOString());
  });
});
