/**
 * The parts of Kubernetes objects the forwarder reads. Lists from the API client carry Date
 * objects; watch events carry RFC 3339 strings; both are accepted.
 *
 * Objects come from the API as JSON, where any optional field may be `null` (or missing, or, from an
 * odd client or a recording, of the wrong type). Every field is typed so, and read through the
 * helpers below: one odd field is skipped, never the whole pod.
 */

export type Timestamp = Date | string;

/** An optional JSON field: absent, null, or the value. */
export type Maybe<T> = T | null | undefined;

export interface OwnerReference {
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name?: Maybe<string>;
  namespace?: Maybe<string>;
  uid?: Maybe<string>;
  resourceVersion?: Maybe<string>;
  creationTimestamp?: Maybe<Timestamp>;
  labels?: Maybe<Record<string, Maybe<string>>>;
  annotations?: Maybe<Record<string, Maybe<string>>>;
  ownerReferences?: Maybe<Array<Maybe<Partial<Record<keyof OwnerReference, unknown>>>>>;
}

export interface VolumeMount {
  name?: Maybe<string>;
}

export interface ContainerSpec {
  name?: Maybe<string>;
  image?: Maybe<string>;
  volumeMounts?: Maybe<Array<Maybe<VolumeMount>>>;
}

export interface ContainerState {
  waiting?: Maybe<{ reason?: Maybe<string>; message?: Maybe<string> }>;
  running?: Maybe<{ startedAt?: Maybe<Timestamp> }>;
  terminated?: Maybe<{ reason?: Maybe<string>; exitCode?: Maybe<number> }>;
}

export interface ContainerStatus {
  name?: Maybe<string>;
  image?: Maybe<string>;
  state?: Maybe<ContainerState>;
  lastState?: Maybe<ContainerState>;
}

/** A pod volume; only image volumes (KEP-4639) matter here. */
export interface Volume {
  name?: Maybe<string>;
  image?: Maybe<{ reference?: Maybe<string>; pullPolicy?: Maybe<string> }>;
}

export interface PodLike {
  metadata?: Maybe<ObjectMeta>;
  spec?: Maybe<{
    containers?: Maybe<Array<Maybe<ContainerSpec>>>;
    initContainers?: Maybe<Array<Maybe<ContainerSpec>>>;
    ephemeralContainers?: Maybe<Array<Maybe<ContainerSpec>>>;
    volumes?: Maybe<Array<Maybe<Volume>>>;
    nodeName?: Maybe<string>;
    serviceAccountName?: Maybe<string>;
    imagePullSecrets?: Maybe<Array<Maybe<{ name?: Maybe<string> }>>>;
  }>;
  status?: Maybe<{
    phase?: Maybe<string>;
    containerStatuses?: Maybe<Array<Maybe<ContainerStatus>>>;
    initContainerStatuses?: Maybe<Array<Maybe<ContainerStatus>>>;
    ephemeralContainerStatuses?: Maybe<Array<Maybe<ContainerStatus>>>;
  }>;
}

export interface EventLike {
  metadata?: Maybe<ObjectMeta>;
  involvedObject?: Maybe<{
    kind?: Maybe<string>;
    uid?: Maybe<string>;
    name?: Maybe<string>;
    namespace?: Maybe<string>;
    fieldPath?: Maybe<string>;
  }>;
  type?: Maybe<string>;
  reason?: Maybe<string>;
  message?: Maybe<string>;
  count?: Maybe<number>;
  firstTimestamp?: Maybe<Timestamp>;
  lastTimestamp?: Maybe<Timestamp>;
  eventTime?: Maybe<Timestamp>;
  series?: Maybe<{ count?: Maybe<number>; lastObservedTime?: Maybe<Timestamp> }>;
}

/** A field's value when it is a string; undefined for null, a missing field or another type. */
export const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** A field's value when it is a finite number. */
export const numberOf = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/** The object entries of a list field; null entries, scalars and a field that is not a list are skipped. */
export const objectsIn = <T extends object>(list: Maybe<ReadonlyArray<Maybe<T>>>): T[] =>
  Array.isArray(list)
    ? (list as unknown[]).filter((item): item is T => typeof item === 'object' && item !== null)
    : [];

/** Whether a field holds an object (a state such as `running: {}`), not null or a scalar. */
export const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

export const iso = (value: Maybe<Timestamp>): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (!(value instanceof Date) && typeof value !== 'string' && typeof value !== 'number') return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
};
