import {
  ACTION_ID,
  type ActionRequest,
  type ActionState,
  DOUBLE_CLICK_MS,
  EMPTY_ACTION_STATE,
  InvalidAction,
  MUTE_ALLOW_ID,
  UNTIL_RESOLVED_MAX_MS,
  actionRequestsOf,
  activeSnooze,
  applyAction,
  encodeActionValue,
  muteAllowListOf,
  muteAllowance,
  parseWorkloadArgument,
  silenceAt,
  snoozeEnd,
} from '#shared/incident-actions';
import { controlsBlock, controlsLine, inertUser, withControls } from '#shared/slack-controls';

const T = Date.parse('2026-03-01T10:04:00.000Z');
const HOUR = 3_600_000;
const subject = { kind: 'incident' as const, keyId: 'abcdefghjkmn', generation: 1 };

const request = (
  kind: ActionRequest['kind'],
  user = 'U0ALICE',
  extra: Partial<ActionRequest> = {},
): ActionRequest => ({
  kind,
  subject,
  actor: { userId: user, userName: user === 'U0ALICE' ? 'alice' : 'bob' },
  teamId: 'T0TEAM',
  actionTs: `${T / 1000}.${Math.floor(Math.random() * 1e6)}`,
  receivedAt: T,
  ...extra,
});

const applied = (state: ActionState, req: ActionRequest, now: number, resolved = false): ActionState => {
  const outcome = applyAction(state, req, now, resolved);
  if (outcome.kind !== 'applied') throw new Error(`expected applied, got ${outcome.why}`);
  return { ...outcome.state, version: state.version + 1 };
};

describe('applyAction', () => {
  it('acknowledges once per user, and adds a second user', () => {
    const first = applied(EMPTY_ACTION_STATE, request('acknowledge'), T);
    expect(applyAction(first, request('acknowledge'), T + 1000)).toEqual({
      kind: 'unchanged',
      why: 'already',
    });
    const second = applied(first, request('acknowledge', 'U0BOB'), T + 2000);
    expect(second.acks.map((ack) => ack.userName)).toEqual(['alice', 'bob']);
    expect(second.timeline.map((record) => record.kind)).toEqual(['acknowledged', 'acknowledged']);
  });

  it('a retry of one request (same action_ts) is applied once', () => {
    const req = request('snooze', 'U0ALICE', { snooze: '1h' });
    const state = applied(EMPTY_ACTION_STATE, req, T);
    expect(applyAction(state, req, T + 60_000)).toEqual({ kind: 'unchanged', why: 'retry' });
  });

  it('a double click on the same snooze is one snooze; another duration later replaces it', () => {
    const state = applied(EMPTY_ACTION_STATE, request('snooze', 'U0ALICE', { snooze: '4h' }), T);
    expect(state.snooze?.until).toBe(T + 4 * HOUR);
    expect(applyAction(state, request('snooze', 'U0ALICE', { snooze: '4h' }), T + 300).kind).toBe(
      'unchanged',
    );
    const later = applied(state, request('snooze', 'U0ALICE', { snooze: '4h' }), T + DOUBLE_CLICK_MS);
    expect(later.snooze).toMatchObject({ seq: 2, until: T + DOUBLE_CLICK_MS + 4 * HOUR });
  });

  it('snooze ends: by itself, when the incident resolves ("until resolved"), or on unsnooze', () => {
    expect(snoozeEnd('1h', T)).toBe(T + HOUR);
    expect(snoozeEnd('24h', T)).toBe(T + 24 * HOUR);
    expect(snoozeEnd('resolved', T)).toBe(T + UNTIL_RESOLVED_MAX_MS);
    const hour = applied(EMPTY_ACTION_STATE, request('snooze', 'U0ALICE', { snooze: '1h' }), T);
    expect(activeSnooze(hour, T + HOUR - 1)).toBeDefined();
    expect(activeSnooze(hour, T + HOUR)).toBeUndefined();
    const untilResolved = applied(
      EMPTY_ACTION_STATE,
      request('snooze', 'U0ALICE', { snooze: 'resolved' }),
      T,
    );
    expect(activeSnooze(untilResolved, T + 48 * HOUR)).toBeDefined();
    expect(activeSnooze(untilResolved, T + 1, true)).toBeUndefined();
    const unsnoozed = applied(hour, request('unsnooze', 'U0BOB'), T + 1000);
    expect(unsnoozed.snooze).toBeUndefined();
    expect(applyAction(unsnoozed, request('unsnooze', 'U0BOB'), T + 2000)).toEqual({
      kind: 'unchanged',
      why: 'not-snoozed',
    });
    expect(
      applyAction(EMPTY_ACTION_STATE, request('snooze', 'U0ALICE', { snooze: '1h' }), T, true).kind,
    ).toBe('unchanged');
  });
});

describe('silenceAt', () => {
  const workload = { cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'web' };
  const snooze = {
    userId: 'U1',
    userName: 'a',
    at: T,
    until: T + HOUR,
    subjectId: 'x',
    untilResolved: false,
  };
  it('a mute silences at any time; a snooze until it ends', () => {
    expect(silenceAt({}, T).silenced).toBe(false);
    expect(silenceAt({ snooze }, T + HOUR - 1)).toMatchObject({ silenced: true, by: 'snooze' });
    expect(silenceAt({ snooze }, T + HOUR).silenced).toBe(false);
    const mute = { userId: 'U1', userName: 'a', at: T, subjectId: 'x', workload };
    expect(silenceAt({ mute, snooze }, T + 10 * HOUR)).toMatchObject({ silenced: true, by: 'mute' });
  });
  it('parses cluster/namespace/workload', () => {
    expect(parseWorkloadArgument('prod/shop/web')).toEqual({
      cluster: 'prod',
      namespace: 'shop',
      name: 'web',
    });
    expect(parseWorkloadArgument('prod/shop/deployment/web')).toMatchObject({ kind: 'deployment' });
    expect(parseWorkloadArgument('prod//web')).toBeUndefined();
  });
});

describe('block_actions payloads', () => {
  const payload = (
    action: Record<string, unknown>,
    user: Record<string, unknown> = { id: 'U0ALICE', username: 'alice' },
  ) => ({
    type: 'block_actions',
    api_app_id: 'A0APP',
    team: { id: 'T0TEAM' },
    user,
    container: { type: 'message', channel_id: 'C0ALERTS01', message_ts: '1772359200.000100' },
    actions: [{ type: 'button', action_ts: '1772359260.123456', ...action }],
  });

  it('reads the controls pullwatch posted, from their own ids and values', () => {
    const block = controlsBlock({ subject, acks: [], resolved: false });
    const ack = block.elements.find((element) => element.action_id === ACTION_ID.acknowledge)!;
    const select = block.elements.find((element) => element.type === 'static_select')!;
    expect(
      select.type === 'static_select' && select.options.every((option) => option.value.length <= 150),
    ).toBe(true);
    const [parsed] = actionRequestsOf(
      payload({ action_id: ack.action_id, value: ack.type === 'button' ? ack.value : '' }),
      T,
    );
    expect(parsed).toMatchObject({
      kind: 'acknowledge',
      subject,
      actor: { userId: 'U0ALICE', userName: 'alice' },
    });
    const option = select.type === 'static_select' ? select.options[2]! : undefined;
    const [snooze] = actionRequestsOf(
      payload({
        type: 'static_select',
        action_id: ACTION_ID.snooze,
        selected_option: { value: option!.value },
      }),
      T,
    );
    expect(snooze).toMatchObject({ kind: 'snooze', snooze: '24h' });
  });

  it('refuses malformed payloads, foreign values and unknown actions', () => {
    const reason = (input: unknown) => {
      try {
        actionRequestsOf(input, T);
        return 'accepted';
      } catch (error) {
        return error instanceof InvalidAction ? error.reason : String(error);
      }
    };
    expect(reason({ type: 'view_submission' })).toBe('malformed');
    expect(reason(payload({ action_id: ACTION_ID.acknowledge, value: '{"v":2}' }))).toBe('malformed');
    expect(reason(payload({ action_id: ACTION_ID.acknowledge, value: 'not json' }))).toBe('malformed');
    expect(reason(payload({ action_id: 'someone_else', value: encodeActionValue(subject) }))).toBe(
      'unknown-action',
    );
    expect(reason(payload({ action_id: ACTION_ID.snooze, value: encodeActionValue(subject) }))).toBe(
      'malformed',
    );
  });
});

describe('controls in the message', () => {
  const message = { text: 'x', blocks: [{ type: 'divider' as const }, { type: 'divider' as const }] };
  it('says who acknowledged and snoozed, with user names inert', () => {
    const acks = [{ userId: 'U1', userName: '<!channel> @here *bold*', at: T }];
    const snooze = {
      userId: 'U2',
      userName: 'bob',
      at: T,
      until: T + HOUR,
      choice: '1h' as const,
      untilResolved: false,
      seq: 1,
    };
    const out = withControls(message, { subject, acks, snooze, resolved: false });
    const text = JSON.stringify(out.blocks);
    expect(text).toContain('Acknowledged by @&lt;!channel&gt; @\u200bhere *bold* at 10:04 UTC');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('Snoozed by @bob until 11:04 UTC');
    const controls = out.blocks[out.blocks.length - 1]!;
    expect(controls.type === 'actions' && controls.elements.map((element) => element.action_id)).toEqual([
      ACTION_ID.acknowledge,
      ACTION_ID.unsnooze,
      ACTION_ID.mute,
      ACTION_ID.recheck,
    ]);
    expect(controls.type === 'actions' && controlsLine(controls)).toBe(
      '[Acknowledge] [Unsnooze] [Mute workload] [Re-check]',
    );
    expect(inertUser('a\nb')).toBe('@a b');
  });
});

describe('who may mute', () => {
  it('a listed user may; with no group listed, nobody else; with groups, their members (Slack knows)', () => {
    expect(muteAllowance(undefined, 'U0ANY')).toEqual({ kind: 'allowed' });
    const usersOnly = muteAllowListOf(['U0BOB', 'W0ENTERPRISE']);
    expect(muteAllowance(usersOnly, 'U0BOB')).toEqual({ kind: 'allowed' });
    expect(muteAllowance(usersOnly, 'W0ENTERPRISE')).toEqual({ kind: 'allowed' });
    expect(muteAllowance(usersOnly, 'U0CAROL')).toEqual({ kind: 'refused' });
    const withGroups = muteAllowListOf(['U0BOB', 'S0SRE', 'S0LEADS']);
    expect(withGroups).toEqual({ users: ['U0BOB'], groups: ['S0SRE', 'S0LEADS'] });
    expect(muteAllowance(withGroups, 'U0BOB')).toEqual({ kind: 'allowed' });
    expect(muteAllowance(withGroups, 'U0CAROL')).toEqual({ kind: 'if-member', groups: ['S0SRE', 'S0LEADS'] });
    expect(['U0BOB', 'W0X1', 'S0SRE'].every((id) => MUTE_ALLOW_ID.test(id))).toBe(true);
    expect(['C0ALERTS', 'T0TEAM', 'u0bob', 'S'].some((id) => MUTE_ALLOW_ID.test(id))).toBe(false);
  });
});

describe("a roll-up's controls", () => {
  const storm = { kind: 'storm' as const, groupId: 'sg-3m9q2xa4cd7k', seq: 2 };
  it('are the incident controls, Mute naming the workloads; muted, Mute comes back only when offered', () => {
    const open = controlsBlock({ subject: storm, acks: [], resolved: false });
    expect(controlsLine(open)).toBe(
      '[Acknowledge] [Snooze: 1 hour | 4 hours | 24 hours | until resolved] [Mute workloads] [Re-check]',
    );
    const mute = open.elements.find((element) => element.action_id === ACTION_ID.mute)!;
    expect(mute.type === 'button' && mute.confirm?.title.text).toBe('Mute every workload listed?');
    const mutedBy = { userName: 'alice', at: T, workloads: 6 };
    expect(controlsLine(controlsBlock({ subject: storm, acks: [], mutedBy, resolved: false }))).not.toContain(
      'Mute',
    );
    expect(
      controlsLine(controlsBlock({ subject: storm, acks: [], mutedBy, offerMute: true, resolved: false })),
    ).toContain('[Mute workloads]');
    const shown = JSON.stringify(
      withControls({ text: 'storm', blocks: [] }, { subject: storm, acks: [], mutedBy, resolved: false })
        .blocks,
    );
    expect(shown).toContain('6 workloads of this roll-up muted by @alice at 10:04 UTC');
  });
});
