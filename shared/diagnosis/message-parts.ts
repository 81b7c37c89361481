/** Facts read from a message's wrapping: the image it names, a registry URL, a secret name. */

const MAX_NAME = 512;

const quotedAfter = (text: string, marker: string): string | undefined => {
  const at = text.indexOf(marker);
  if (at === -1) return undefined;
  const from = at + marker.length;
  const close = text.indexOf('"', from);
  if (close === -1 || close - from > MAX_NAME) return undefined;
  return text.slice(from, close);
};

// The kubelet, containerd and CRI-O all quote the image after one of these.
const IMAGE_MARKERS = [
  'pull image "',
  'pulling image "',
  'image "',
  'reference "',
  'Image "',
  'image name "',
  'image="',
] as const;

/** The image the message is about, as the kubelet quoted it. */
export const imageInMessage = (text: string): string | undefined => {
  for (const marker of IMAGE_MARKERS) {
    const image = quotedAfter(text, marker);
    if (image !== undefined && image.length > 0) return image;
  }
  // docker: "pull access denied for foo/bar, repository does not exist…"
  const denied = text.indexOf('pull access denied for ');
  if (denied !== -1) {
    const from = denied + 'pull access denied for '.length;
    const comma = text.indexOf(',', from);
    if (comma !== -1 && comma - from <= MAX_NAME) return text.slice(from, comma);
  }
  return undefined;
};

const isHostChar = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 45 || c === 58;

/** The host[:port] right after `marker`, e.g. after "https://" or "lookup ". */
const hostAfter = (text: string, marker: string): string | undefined => {
  const at = text.indexOf(marker);
  if (at === -1) return undefined;
  const from = at + marker.length;
  let end = from;
  while (end < text.length && end - from < 255 && isHostChar(text.charCodeAt(end))) end++;
  const host = text.slice(from, end).replace(/:+$/, '');
  return host.length > 0 ? host.toLowerCase() : undefined;
};

/**
 * The registry host the message talks to: a request URL first, then a DNS lookup, then a TCP dial
 * (which may be only an address).
 */
export const hostInMessage = (text: string): string | undefined =>
  hostAfter(text, 'https://') ??
  hostAfter(text, 'http://') ??
  hostAfter(text, 'lookup ') ??
  hostAfter(text, 'pinging container registry ') ??
  hostAfter(text, 'dial tcp ');

/** The name a failed DNS lookup asked for. */
export const lookupInMessage = (text: string): string | undefined => hostAfter(text, 'lookup ');

const isNameChar = (c: number): boolean => isHostChar(c) && c !== 58; // host characters but ':'

/** The name after "pull secret <namespace>/" in the kubelet's "Unable to retrieve pull secret ns/x for ns/pod". */
const secretAfterNamespace = (text: string): string | undefined => {
  const at = text.indexOf('pull secret ');
  if (at === -1) return undefined;
  const from = at + 'pull secret '.length;
  let end = from;
  while (
    end < text.length &&
    end - from < MAX_NAME &&
    (isNameChar(text.charCodeAt(end)) || text.charCodeAt(end) === 47)
  )
    end++;
  const slash = text.lastIndexOf('/', end - 1);
  const name = text.slice(slash >= from ? slash + 1 : from, end).replace(/\.+$/, '');
  return name.length > 0 ? name : undefined;
};

/**
 * Secret names in every wording the kubelet uses: "Unable to retrieve some image pull secrets (a, b)",
 * `secrets "a" not found`, `secret "a" not found`, "Unable to retrieve pull secret ns/a for ns/pod".
 */
export const secretsInMessage = (text: string): string[] => {
  // Every wording below says "secret": one native search rules out most messages.
  if (!text.includes('secret')) return [];
  const list = text.indexOf('image pull secrets (');
  if (list !== -1) {
    const from = list + 'image pull secrets ('.length;
    const close = text.indexOf(')', from);
    if (close !== -1 && close - from <= MAX_NAME) {
      return text
        .slice(from, close)
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name.length > 0);
    }
  }
  const single =
    quotedAfter(text, 'secrets "') ?? quotedAfter(text, 'secret "') ?? secretAfterNamespace(text);
  return single ? [single] : [];
};

const isIamNameChar = (c: number): boolean =>
  isNameChar(c) || c === 95 || c === 43 || c === 61 || c === 44 || c === 64; // _ + = , @

/** The IAM role in a denied ARN: "…:assumed-role/<role>/<session>" or "…:role/<path>/<role>". */
export const awsRoleInMessage = (text: string): string | undefined => {
  const assumed = text.indexOf(':assumed-role/');
  const role = assumed === -1 ? text.indexOf(':role/') : -1;
  if (assumed === -1 && role === -1) return undefined;
  const from = assumed !== -1 ? assumed + ':assumed-role/'.length : role + ':role/'.length;
  let end = from;
  while (
    end < text.length &&
    end - from < 512 &&
    (isIamNameChar(text.charCodeAt(end)) || (assumed === -1 && text.charCodeAt(end) === 47))
  )
    end++;
  const name = text.slice(from, end);
  // An assumed role stops at the session; a role ARN's path comes before the name.
  const last = assumed !== -1 ? name : name.slice(name.lastIndexOf('/') + 1);
  return last.length > 0 ? last : undefined;
};

const isAuthorityChar = (c: number): boolean => isHostChar(c) || c === 91 || c === 93; // [ ] of IPv6

const authorityAt = (text: string, from: number): string => {
  let end = from;
  while (end < text.length && end - from < 255 && isAuthorityChar(text.charCodeAt(end))) end++;
  return text.slice(from, end).replace(/:+$/, '').toLowerCase();
};

/**
 * The endpoint of the request that failed: the last URL in the message (Go wraps errors outside-in,
 * so the innermost request, e.g. a redirect to blob storage, comes last), else the last TCP dial.
 */
export const endpointInMessage = (
  text: string,
): { scheme: 'https' | 'http'; authority: string } | undefined => {
  const https = text.lastIndexOf('https://');
  const http = text.lastIndexOf('http://');
  if (https !== -1 || http !== -1) {
    const secure = https > http;
    const authority = authorityAt(text, (secure ? https : http) + (secure ? 8 : 7));
    if (authority.length > 0) return { scheme: secure ? 'https' : 'http', authority };
  }
  const dial = text.lastIndexOf('dial tcp ');
  if (dial !== -1) {
    const authority = authorityAt(text, dial + 'dial tcp '.length);
    if (authority.length > 0) return { scheme: authority.endsWith(':80') ? 'http' : 'https', authority };
  }
  return undefined;
};
