/**
 * The rows of an incident's containers (see incident-table.ts), read whole: for a full timeline.
 * A fold reads only the rows it needs (incident-store.ts).
 */
import type { TrackedContainer } from '#shared/incident';
import { INCIDENT_TABLE } from './incident-table';
import type { TableReader } from './table-client';
import { type GenerationRef, ROW_SHARDS, containerIdOfRowSk, rowsPk } from './table-keys';

/**
 * Every register of an incident: all its rows (every shard, every page), overlaid with the journal
 * of its head. For a full timeline; a fold reads only the rows it needs.
 */
/** A register as a row or journal stores it: without its pod UID (the container id holds it). */
export type CompactRegister = Omit<TrackedContainer, 'podUid'>;
export type StoredJournal = Record<string, CompactRegister>;

export const compactRegisters = (registers: Record<string, TrackedContainer>): StoredJournal =>
  Object.fromEntries(
    Object.entries(registers).map(([id, { podUid: _podUid, ...register }]) => [id, register]),
  );

/** The register stored for a container id (`<podUid>/<container>`). */
export const registerOf = (containerId: string, stored: CompactRegister): TrackedContainer => ({
  ...stored,
  podUid: containerId.slice(0, containerId.lastIndexOf('/')),
});

export const journalRegisters = (journal: StoredJournal | undefined): Record<string, TrackedContainer> =>
  Object.fromEntries(Object.entries(journal ?? {}).map(([id, stored]) => [id, registerOf(id, stored)]));

export const readAllRegisters = async (
  table: TableReader,
  ref: GenerationRef,
  journal: Record<string, TrackedContainer>,
): Promise<Record<string, TrackedContainer>> => {
  const registers: Record<string, TrackedContainer> = {};
  for (let shard = 0; shard < ROW_SHARDS; shard++) {
    for (const row of await table.partition(rowsPk(ref, shard))) {
      const id = containerIdOfRowSk(String(row[INCIDENT_TABLE.sortKey]));
      registers[id] = registerOf(id, row.register as CompactRegister);
    }
  }
  return { ...registers, ...journal };
};
