/**
 * The valid reference an invalid one most likely meant, for the mistakes people make by hand or by
 * templating: surrounding spaces or quotes, a URL scheme, uppercase in the name, a stray separator.
 */
import { MAX_NAME_LENGTH, parseImageRef } from '../image-ref';

// The tag is case-sensitive; everything before it (registry and path) must be lowercase.
const lowercaseName = (reference: string): string => {
  const at = reference.indexOf('@');
  const beforeDigest = at === -1 ? reference : reference.slice(0, at);
  const colon = beforeDigest.lastIndexOf(':');
  const tagStart = colon > beforeDigest.lastIndexOf('/') ? colon : beforeDigest.length;
  return beforeDigest.slice(0, tagStart).toLowerCase() + reference.slice(tagStart);
};

export const suggestedReference = (image: string): string | undefined => {
  if (image.length > MAX_NAME_LENGTH * 2) return undefined;
  let candidate = image
    .trim()
    .replace(/^["']+|["']+$/g, '')
    .trim()
    .replace(/^(?:docker pull\s+)?(?:https?:\/\/)/i, '')
    .replace(/\/{2,}/g, '/')
    .replace(/[:@/]+$/, '');
  candidate = lowercaseName(candidate);
  if (candidate === image || candidate.length === 0) return undefined;
  return parseImageRef(candidate).ok ? candidate : undefined;
};
