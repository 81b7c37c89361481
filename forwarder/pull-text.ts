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
export const isImagePullReason = (reason: string | undefined): reason is string =>
  reason !== undefined && (PULL_REASONS.has(reason) || reason.includes('Image'));

const BARE_BACK_OFF = /^\s*Back-off pulling image\b/;
const PULL_PREFIX = /^Failed to pull image "([^"]*)": /;

/** Whether a text explains a failure (a bare "Back-off pulling image" or nothing at all does not). */
export const isInformative = (text: string | undefined): boolean =>
  text !== undefined && text.trim().length > 0 && !BARE_BACK_OFF.test(text);

const VOLATILE: ReadonlyArray<[RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?/g, '<time>'],
  [/\[[0-9a-f:.]*:[0-9a-f:.]*\](:\d+)?/gi, '<addr>'],
  [/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<addr>'],
  [/\b(request id|requestid|x-amz-request-id|correlation id)[:=]?\s*[\w-]+/gi, '$1 <id>'],
];

/**
 * What must change for a failure to be shipped again: the error text without the kubelet's
 * `Failed to pull image "…": ` prefix (the status message lacks it, the event has it), with request
 * IDs, timestamps and IP addresses blanked (a retry that reached another registry replica is not news).
 * ErrImagePull and ImagePullBackOff alternate on every retry, so they count as one reason.
 */
export const failureFingerprint = (reason: string, text: string): string => {
  const reasonClass = reason === 'ErrImagePull' || reason === 'ImagePullBackOff' ? 'pull' : reason;
  let normalised = text.replace(PULL_PREFIX, '').trim();
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
