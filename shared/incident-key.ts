/**
 * The incident key: which failures are "the same incident". One Deployment with 40 failing replicas
 * is one incident, so the key names the workload, not the pod:
 *
 *   cluster + namespace + workload kind/name + container + image + cause
 *
 * and a short stable id derived from it, for people (Slack, CLI) and for the store's partition key.
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */
import { createHash } from 'node:crypto';
import type { Workload } from '#shared/contract';
import type { CauseId } from '#shared/diagnosis/causes';

export interface IncidentKey {
  cluster: string;
  namespace: string;
  workload: Workload;
  container: string;
  /** The image reference exactly as the pod spec has it. */
  image: string;
  cause: CauseId;
}

/** The fields of a pull event (failure or recovery) that the key is made of. */
export interface KeyedFields {
  cluster: string;
  namespace: string;
  workload: Workload;
  container: string;
  image: string;
}

export const incidentKeyOf = (fields: KeyedFields, cause: CauseId): IncidentKey => ({
  cluster: fields.cluster,
  namespace: fields.namespace,
  workload: { kind: fields.workload.kind, name: fields.workload.name },
  container: fields.container,
  image: fields.image,
  cause,
});

/**
 * An unambiguous text form of the key: a JSON array, so no separator inside a name (pod names,
 * images and kinds may contain '/', ':' or '#') can make two different keys collide.
 */
export const canonicalKey = (key: IncidentKey): string =>
  JSON.stringify([
    key.cluster,
    key.namespace,
    key.workload.kind,
    key.workload.name,
    key.container,
    key.image,
    key.cause,
  ]);

export const sameKey = (a: IncidentKey, b: IncidentKey): boolean => canonicalKey(a) === canonicalKey(b);

// Crockford's base32 without I, L, O, U: nothing to misread when someone types the id.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const KEY_ID_CHARS = 12; // 60 bits: a collision is not a concern at incident volumes

const base32 = (bytes: Uint8Array, chars: number): string => {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
    if (out.length >= chars) break;
  }
  return out;
};

/** 12 base32 characters of a SHA-256 of `text`: a short id that the same text always gives. */
export const shortHashOf = (text: string): string =>
  base32(createHash('sha256').update(text).digest(), KEY_ID_CHARS);

/** The key's stable id, e.g. `pw-7k3m9q2xa4cd`: the same key always gives the same id. */
export const keyIdOf = (key: IncidentKey): string => `pw-${shortHashOf(canonicalKey(key))}`;

const KEY_ID = /^pw-[0-9a-hjkmnp-tv-z]{12}$/;
export const isKeyId = (value: string): boolean => KEY_ID.test(value);

/**
 * The id people see. A key can have several incidents over time: one that recurs after its reopen
 * window has closed starts a new generation. The first generation is the key id itself; later ones
 * add `.2`, `.3`…
 */
export const incidentIdOf = (keyId: string, generation: number): string =>
  generation <= 1 ? keyId : `${keyId}.${generation}`;

/** Splits an incident id into its key id and generation; undefined if it is not one. */
export const parseIncidentId = (incidentId: string): { keyId: string; generation: number } | undefined => {
  const [keyId = '', generation, ...rest] = incidentId.split('.');
  if (!isKeyId(keyId) || rest.length > 0) return undefined;
  if (generation === undefined) return { keyId, generation: 1 };
  if (!/^[1-9]\d{0,8}$/.test(generation) || generation === '1') return undefined;
  return { keyId, generation: Number(generation) };
};

/** `deployment/web`, as kubectl names a workload. */
export const workloadRef = (workload: Workload): string => `${workload.kind.toLowerCase()}/${workload.name}`;
