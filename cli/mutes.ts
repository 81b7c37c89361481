/**
 * `pullwatch mutes` and `pullwatch unmute`: the workloads muted from Slack (stored until unmuted),
 * with who muted them and when. A lifted mute is announced on the pipeline's bus (`WorkloadUnmuted`),
 * as its mute was (`WorkloadMuted`), when the source has one.
 */
import { type WorkloadMute, parseWorkloadArgument, workloadRefText } from '#shared/incident-actions';
import { PIPELINE_DETAIL_TYPE, unmutedDetailOf } from '#shared/incident-events';
import { type EventPublisher, publishAll } from '../functions/_common/event-publisher';
import type { WorkloadSilences } from '../functions/_common/incident-actions-store';

export const renderMutes = (mutes: readonly WorkloadMute[], source: string): string => {
  if (mutes.length === 0) return `No muted workloads (${source}).`;
  const rows = [...mutes]
    .sort((a, b) => workloadRefText(a.workload).localeCompare(workloadRefText(b.workload)))
    .map((mute) => [
      workloadRefText(mute.workload),
      `@${mute.userName.replace(/[\r\n\t]+/g, ' ')} (${mute.userId})`,
      new Date(mute.at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ]);
  const header = ['WORKLOAD', 'MUTED BY', 'SINCE'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    ...rows.map(line),
    '',
    `${mutes.length} muted (${source}). Lift one: pullwatch unmute <cluster/namespace/workload>`,
  ].join('\n');
};

export class UnmuteInputError extends Error {
  override readonly name = 'UnmuteInputError';
}

/** Who lifted a mute, as the event says it: the CLI and the local user name. */
export interface UnmutedBy {
  userId: string;
  userName: string;
}

/**
 * Lifts the mutes the argument names (`cluster/namespace/name` matches any kind); what was lifted.
 * With a bus, each lifted mute goes on it as `WorkloadUnmuted` (after the delete: an event never
 * says a mute was lifted that is still there; a failed publish throws, and running again finds
 * nothing to lift, so the operator is told).
 */
export const unmute = async (
  silences: WorkloadSilences,
  argument: string,
  announce?: { publisher: EventPublisher; by: UnmutedBy; now: () => number },
): Promise<WorkloadMute[]> => {
  const target = parseWorkloadArgument(argument);
  if (target === undefined)
    throw new UnmuteInputError(
      `"${argument}" is not cluster/namespace/workload (e.g. prod-eu/shop/web or prod-eu/shop/deployment/web)`,
    );
  const matching = (await silences.listMutes(target.cluster)).filter(
    (mute) =>
      mute.workload.namespace === target.namespace &&
      mute.workload.name === target.name &&
      (target.kind === undefined || mute.workload.kind.toLowerCase() === target.kind.toLowerCase()),
  );
  const lifted: WorkloadMute[] = [];
  for (const mute of matching) {
    const removed = await silences.deleteMute(mute.workload);
    if (removed !== undefined) lifted.push(removed);
  }
  if (announce !== undefined && lifted.length > 0)
    await publishAll(
      announce.publisher,
      lifted.map((mute) => ({
        detailType: PIPELINE_DETAIL_TYPE.unmuted,
        detail: unmutedDetailOf(mute, announce.by, announce.now()),
      })),
    );
  return lifted;
};
