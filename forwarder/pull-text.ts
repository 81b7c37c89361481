/** What counts as an image-pull failure, and which text says most about it. Pure. */
import { parseImageRef } from '#shared/image-ref';

const PULL_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RegistryUnavailable',
  'ImageInspectError',
  'SignatureValidationFailed',
]);

/** A waiting reason that means the image could not be pulled (the list, or any other `*Image*` reason). */
export const isImagePullReason = (reason: unknown): reason is string =>
  typeof reason === 'string' && (PULL_REASONS.has(reason) || reason.includes('Image'));

/**
 * CRI-O verifies the signature policy again when it creates a container from an image already on the
 * node (a policy changed, or a namespace policy stricter than the one it was pulled under). The kubelet
 * reports that as `CreateContainerError` with containers/image's "Source image rejected: …", or with
 * CRI-O's `SignatureValidationFailed` error name, and the image never runs: a pull-policy failure.
 */
const CREATE_CONTAINER_ERROR = 'CreateContainerError';
const SIGNATURE_REJECTED = /Source image rejected|SignatureValidationFailed/;

/** Whether a waiting state (reason and message) means the image cannot be used: pulled or policy-rejected. */
export const isPullFailureState = (reason: unknown, message: unknown): reason is string =>
  isImagePullReason(reason) ||
  (reason === CREATE_CONTAINER_ERROR && typeof message === 'string' && SIGNATURE_REJECTED.test(message));

const BARE_BACK_OFF = /^\s*Back-off pulling image\b/;
const PULL_PREFIX = /^Failed to pull image "([^"]*)": /;
/** The kubelet's container-creation event says `Error: <the runtime's message>`. */
const ERROR_PREFIX = /^Error: /;

/** Whether a text explains a failure (a bare "Back-off pulling image" or nothing at all does not). */
export const isInformative = (text: unknown): boolean =>
  typeof text === 'string' && text.trim().length > 0 && !BARE_BACK_OFF.test(text);

const VOLATILE: ReadonlyArray<[RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?/g, '<time>'],
  [/\[[0-9a-f:.]*:[0-9a-f:.]*\](:\d+)?/gi, '<addr>'],
  [/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<addr>'],
  [/\b(request id|requestid|x-amz-request-id|correlation id)[:=]?\s*[\w-]+/gi, '$1 <id>'],
];

/**
 * What must change for a failure to be shipped again: the error text without the kubelet's
 * `Failed to pull image "…": ` or `Error: ` prefix (the status message lacks it, the event has it), with request
 * IDs, timestamps and IP addresses blanked (a retry that reached another registry replica is not news).
 * ErrImagePull and ImagePullBackOff alternate on every retry, so they count as one reason.
 */
export const failureFingerprint = (reason: string, text: string): string => {
  const reasonClass = reason === 'ErrImagePull' || reason === 'ImagePullBackOff' ? 'pull' : reason;
  let normalised = text.replace(PULL_PREFIX, '').replace(ERROR_PREFIX, '').trim();
  for (const [pattern, replacement] of VOLATILE) normalised = normalised.replace(pattern, replacement);
  return `${reasonClass}\n${normalised}`;
};

/** Whether two image references name the same image (the kubelet adds `:latest` in its messages). */
export const sameImage = (a: string, b: string): boolean => {
  if (a === b) return true;
  const left = parseImageRef(a);
  const right = parseImageRef(b);
  return left.ok && right.ok && left.ref.canonical === right.ref.canonical;
};

/** The image a kubelet `Failed to pull image "…": ` event names, if it does. */
export const imageInEvent = (message: string): string | undefined => PULL_PREFIX.exec(message)?.[1];

/** The kubelet's event about a container it could not create because the image's signature was rejected. */
export const isSignatureRejectionEvent = (message: string): boolean =>
  ERROR_PREFIX.test(message) && SIGNATURE_REJECTED.test(message);

/**
 * Whether a kubelet or runtime message is about this image: it names it quoted (`"ghcr.io/x/y:1"`,
 * also as the runtime's canonical `docker.io/library/…:latest`) or bare (`image pull failed for x …`).
 */
export const namesImage = (message: string, image: string): boolean =>
  image !== '' &&
  message.split(/[\s"',;()]+/).some((word) => word !== '' && sameImage(word.replace(/:$/, ''), image));
