/**
 * The latest failure's text (message, annotations, verdict) is the largest part of an incident and
 * rarely new, so the head keeps only its id and the text is an item of its own (see
 * incident-table.ts), written once per distinct text.
 */
import type { Incident, LatestFailure, TrackedContainer } from '#shared/incident';
import { shortHashOf } from '#shared/incident-key';

/** The registry check lives here too: it changes with the text, not with every observation. */
export type LatestText = Pick<LatestFailure, 'message' | 'annotations' | 'verdict' | 'registryCheck'>;
export type StoredLatest = Omit<LatestFailure, keyof LatestText> & { textId: string };
/** An incident as its head stores it: without registers, the latest failure by its text's id. */
export type StoredHead = Omit<Incident, 'containers' | 'latest'> & { latest?: StoredLatest };

const textIdOf = (text: LatestText): string =>
  `t-${shortHashOf(
    JSON.stringify([
      text.message,
      Object.entries(text.annotations).sort(),
      text.verdict,
      ...(text.registryCheck === undefined ? [] : [text.registryCheck]),
    ]),
  )}`;

export const splitLatest = (latest: LatestFailure): { stored: StoredLatest; text: LatestText } => {
  const { message, annotations, verdict, registryCheck, ...rest } = latest;
  const text = { message, annotations, verdict, ...(registryCheck === undefined ? {} : { registryCheck }) };
  return { stored: { ...rest, textId: textIdOf(text) }, text };
};

/** The incident of a head, with the registers given and its latest failure's text (if found). */
export const withLatestText = (
  head: StoredHead,
  containers: Record<string, TrackedContainer>,
  texts: ReadonlyMap<string, LatestText>,
): Incident => {
  const { latest: stored, ...incident } = head;
  if (stored === undefined) return { ...incident, containers };
  const { textId, ...latest } = stored;
  const text = texts.get(textId);
  return text === undefined
    ? { ...incident, containers }
    : { ...incident, containers, latest: { ...latest, ...text } };
};
