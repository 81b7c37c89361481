/** Storm buckets for the renderer and placement tests, as notify's joins would leave them. */
import type { Incident, IncidentWindows } from '#shared/incident';
import {
  type StormBucket,
  newStormBucket,
  stormGroupIdOf,
  stormGroupOf,
  stormMemberOf,
} from '#shared/incident-storm';

/**
 * The bucket the first incident opens at `openedAt` (in `channel`'s group), with the others joined
 * in order, `spacingMs` apart.
 */
export const stormBucketOf = (
  incidents: readonly Incident[],
  options: {
    openedAt: number;
    spacingMs: number;
    windows: Pick<IncidentWindows, 'stormThreshold' | 'stormWindowMs' | 'stormHoldMs'>;
    channel?: string;
  },
): StormBucket => {
  const [first, ...rest] = incidents;
  const group = stormGroupOf(first!, options.channel ?? '#alerts')!;
  let bucket = newStormBucket(
    { groupId: stormGroupIdOf(group), seq: 1 },
    group,
    first!,
    stormMemberOf(first!, 1, options.openedAt),
    options.openedAt,
    options.windows,
  );
  rest.forEach((incident, index) => {
    const member = stormMemberOf(incident, 1, options.openedAt + (index + 1) * options.spacingMs);
    bucket = {
      ...bucket,
      members: { ...bucket.members, [member.incidentId]: member },
      memberCount: bucket.memberCount + 1,
      lastJoinAt: member.joinedAt,
      version: bucket.version + 1,
    };
  });
  return bucket;
};
