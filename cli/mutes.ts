/**
 * `pullwatch mutes` and `pullwatch unmute`: the workloads muted from Slack (stored until unmuted),
 * with who muted them and when.
 */
import { type WorkloadMute, parseWorkloadArgument, workloadRefText } from '#shared/incident-actions';
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

/** Lifts the mutes the argument names (`cluster/namespace/name` matches any kind); what was lifted. */
export const unmute = async (silences: WorkloadSilences, argument: string): Promise<WorkloadMute[]> => {
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
  return lifted;
};
