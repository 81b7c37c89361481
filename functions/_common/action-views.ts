/**
 * notify's side of the actions people take from Slack (shared/incident-actions.ts): the controls on
 * each message and the lines saying who acknowledged and snoozed it; and the silences:
 * - a muted workload (stored mute, until unmuted): nothing is posted about it, like the annotation;
 * - a snoozed incident: no update and no reply until the snooze ends (its timer in the `renderDue`
 *   index brings notify back then); when it ends by itself while the incident is open, one reply
 *   says so with the current state;
 * - a snoozed workload: a new incident of it (not posted yet) is held until the snooze ends;
 * - a snoozed roll-up: no update of it, and no post of its members (new ones included), until the
 *   snooze ends; then one reply in its thread says so. Its Mute mutes the workloads it lists.
 * Without an action store (interactivity not configured) messages have no controls and nothing is
 * silenced but by annotation.
 */
import type { Incident } from '#shared/incident';
import {
  type ActionState,
  type ActionSubject,
  type Snooze,
  type WorkloadRef,
  activeSnooze,
  endedSnooze,
  silenceAt,
  subjectIdOf,
  workloadRefText,
} from '#shared/incident-actions';
import type { StormRef, StormView } from '#shared/incident-storm';
import { type ControlsView, withControls } from '#shared/slack-controls';
import { type SlackMessage } from '#shared/slack-message';
import type { IncidentActions, WorkloadSilences } from './incident-actions-store';
import type { IncidentRef } from './incident-store';

export interface ActionDeps {
  actions?: IncidentActions & WorkloadSilences;
  now: () => Date;
}

/** How long a held new incident waits before it looks again at an "until resolved" snooze. */
const RECHECK_UNTIL_RESOLVED_MS = 5 * 60_000;

export const snoozeEndedPostId = (seq: number): string => `snooze-ended-${seq}`;

export type IncidentSilence =
  | { kind: 'none' }
  | { kind: 'muted' }
  /** Hold everything until `until` (the timer brings notify back). */
  | { kind: 'snoozed'; until: number };

export interface IncidentActionsView {
  controls: ControlsView;
  silence: IncidentSilence;
  /** The incident's snooze ended by itself while it is open: the reply to post (once). */
  endedSnooze?: Snooze;
  state: ActionState;
}

export const incidentSubject = (ref: IncidentRef): ActionSubject => ({
  kind: 'incident',
  keyId: ref.keyId,
  generation: ref.generation,
});

export const workloadOf = (incident: Incident) => ({
  cluster: incident.key.cluster,
  namespace: incident.key.namespace,
  kind: incident.key.workload.kind,
  name: incident.key.workload.name,
});

/** What an incident's message shows of its actions, and whether notify must keep quiet about it. */
export const incidentActions = async (
  deps: ActionDeps,
  ref: IncidentRef,
  incident: Incident,
  posted: boolean,
): Promise<IncidentActionsView | undefined> => {
  if (deps.actions === undefined) return undefined;
  const now = deps.now().getTime();
  const subject = incidentSubject(ref);
  const workload = workloadOf(incident);
  const [state, silence] = await Promise.all([
    deps.actions.getActions(subject),
    deps.actions.getSilence(workload),
  ]);
  const resolved = incident.status === 'resolved';
  const snooze = activeSnooze(state, now, resolved);
  const workloadSilence = silenceAt(silence, now);
  const controls: ControlsView = {
    subject,
    acks: state.acks,
    ...(snooze === undefined ? {} : { snooze }),
    ...(silence.mute === undefined ? {} : { mutedBy: silence.mute }),
    resolved,
  };
  // "Until resolved" ends with the incident: the workload is free again.
  if (resolved && state.snooze?.untilResolved && silence.snooze?.subjectId === subjectIdOf(subject))
    await deps.actions.clearSnooze(workload, subjectIdOf(subject));

  let incidentSilence: IncidentSilence = { kind: 'none' };
  if (workloadSilence.silenced && workloadSilence.by === 'mute') incidentSilence = { kind: 'muted' };
  else if (snooze !== undefined) incidentSilence = { kind: 'snoozed', until: snooze.until };
  else if (!posted && workloadSilence.silenced && workloadSilence.by === 'snooze') {
    const { snooze: other } = workloadSilence;
    incidentSilence = {
      kind: 'snoozed',
      until: other.untilResolved ? Math.min(other.until, now + RECHECK_UNTIL_RESOLVED_MS) : other.until,
    };
  }
  const ended = endedSnooze(state, now, resolved);
  return {
    controls,
    silence: incidentSilence,
    ...(ended === undefined ? {} : { endedSnooze: ended }),
    state,
  };
};

/** The message with its controls, when there are any. */
export const withIncidentControls = (
  message: SlackMessage,
  actions: IncidentActionsView | undefined,
): SlackMessage => (actions === undefined ? message : withControls(message, actions.controls));

/** A roll-up's subject. */
export const stormSubject = (ref: StormRef): ActionSubject => ({
  kind: 'storm',
  groupId: ref.groupId,
  seq: ref.seq,
});

/** The workloads a roll-up lists (what its Mute mutes). */
export const stormWorkloadsOf = (view: StormView): WorkloadRef[] => {
  const workloads = new Map<string, WorkloadRef>();
  for (const member of view.members) {
    const workload = {
      cluster: view.group.cluster,
      namespace: member.namespace,
      kind: member.workload.kind,
      name: member.workload.name,
    };
    workloads.set(workloadRefText(workload), workload);
  }
  return [...workloads.values()];
};

/** The workloads a roll-up's mute at `at` muted: those it listed then (a retry mutes the same ones). */
export const workloadsMutedFrom = (view: StormView, at: number): WorkloadRef[] =>
  stormWorkloadsOf({ ...view, members: view.members.filter((member) => member.joinedAt <= at) });

export interface StormActionsView {
  controls: ControlsView;
  /** The roll-up is snoozed: no update until then (the timer brings notify back). */
  heldUntil?: number;
  /** Its snooze ended by itself while the storm is open: the reply to post (once). */
  endedSnooze?: Snooze;
}

/**
 * What a roll-up shows of its actions, and whether it is snoozed. Its Mute is offered again when
 * workloads joined after the last mute from it (those are not muted).
 */
export const stormActions = async (
  deps: ActionDeps,
  ref: StormRef,
  view: StormView,
): Promise<StormActionsView | undefined> => {
  if (deps.actions === undefined) return undefined;
  const now = deps.now().getTime();
  const subject = stormSubject(ref);
  const state = await deps.actions.getActions(subject);
  const resolved = view.status === 'resolved';
  const snooze = activeSnooze(state, now, resolved);
  const muted = state.timeline.findLast((record) => record.kind === 'muted');
  const mutedWorkloads = muted === undefined ? 0 : workloadsMutedFrom(view, muted.at).length;
  const controls: ControlsView = {
    subject,
    acks: state.acks,
    ...(snooze === undefined ? {} : { snooze }),
    ...(muted === undefined
      ? {}
      : {
          mutedBy: { userName: muted.userName, at: muted.at, workloads: mutedWorkloads },
          offerMute: view.members.some((member) => member.joinedAt > muted.at),
        }),
    resolved,
  };
  const ended = endedSnooze(state, now, resolved);
  return {
    controls,
    ...(snooze === undefined ? {} : { heldUntil: heldUntil(snooze, now) }),
    ...(ended === undefined ? {} : { endedSnooze: ended }),
  };
};

/** When to look again at a snooze: its end, or soon for "until resolved" (the storm may resolve). */
export const heldUntil = (snooze: Pick<Snooze, 'until' | 'untilResolved'>, now: number): number =>
  snooze.untilResolved ? Math.min(snooze.until, now + RECHECK_UNTIL_RESOLVED_MS) : snooze.until;

/** A roll-up's snooze in force (its "until resolved" is the caller's to end: it knows the members). */
export const activeStormSnooze = async (deps: ActionDeps, ref: StormRef): Promise<Snooze | undefined> => {
  if (deps.actions === undefined) return undefined;
  return activeSnooze(await deps.actions.getActions(stormSubject(ref)), deps.now().getTime());
};

export const withStormControls = (
  message: SlackMessage,
  actions: StormActionsView | undefined,
): SlackMessage => (actions === undefined ? message : withControls(message, actions.controls));
