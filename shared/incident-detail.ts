/**
 * dedupe's step: the detail of an incident event (the contract's IncidentDetail, in
 * shared/incident-events.ts), built from the incident as a change left it. Kept out of the contract
 * because it names each cause in plain words (the diagnosis catalogue).
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */
import { ruleFor } from '#shared/diagnosis/catalogue';
import {
  type Incident,
  type IncidentChange,
  type IncidentWindows,
  figuresOf,
  incidentIdOfIncident,
} from '#shared/incident';
import { type IncidentDetail, PIPELINE_SCHEMA_VERSION } from '#shared/incident-events';

const isoOf = (ms: number | undefined): string | undefined =>
  ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();

/**
 * The detail of an incident event: the incident as of `version` (after the change). An event
 * published late (after a crash, by a later write) keeps the id it was written with
 * (`eventVersion`), so consumers still drop repeats, and shows the incident as it is now.
 */
export const incidentDetailOf = (
  incident: Incident,
  version: number,
  change: IncidentChange,
  windows: IncidentWindows,
  eventVersion = version,
): IncidentDetail => {
  const figures = figuresOf(incident, windows);
  const verdict = incident.latest?.verdict;
  const incidentId = incidentIdOfIncident(incident);
  const firstSeen = isoOf(figures.firstSeen);
  const lastSeen = isoOf(figures.lastSeen);
  const resolvedAt = incident.status === 'resolved' ? isoOf(incident.resolvedAt) : undefined;
  return {
    schemaVersion: PIPELINE_SCHEMA_VERSION,
    eventId: `${incidentId}@${eventVersion}:${change}`,
    incidentId,
    keyId: incident.keyId,
    generation: incident.generation,
    version,
    status: incident.status === 'resolved' ? 'resolved' : 'open',
    cluster: incident.key.cluster,
    namespace: incident.key.namespace,
    workload: incident.key.workload,
    container: incident.key.container,
    image: incident.key.image,
    cause: incident.key.cause,
    title: verdict?.title ?? ruleFor(incident.key.cause).title,
    summary: verdict?.summary ?? ruleFor(incident.key.cause).meaning,
    registry: verdict
      ? {
          host: verdict.registry.host,
          kind: verdict.registry.kind,
          displayName: verdict.registry.displayName,
        }
      : { host: '', kind: 'other', displayName: 'the registry' },
    occurrences: figures.occurrences,
    affectedPods: figures.affectedPods,
    failingContainers: figures.failingContainers,
    ...(firstSeen === undefined ? {} : { firstSeen }),
    ...(lastSeen === undefined ? {} : { lastSeen }),
    ...(resolvedAt === undefined ? {} : { resolvedAt }),
    reopenCount: incident.reopenCount,
    causeChanges: figures.causeChanges.map((move) => ({
      cause: move.cause,
      incidentId: move.incidentId,
      at: new Date(move.at).toISOString(),
    })),
    ...(incident.latest?.registryCheck === undefined ? {} : { registryCheck: incident.latest.registryCheck }),
  };
};
