/**
 * Image references as the kubelet and containerd read them (github.com/distribution/reference,
 * ParseNormalizedNamed): `[registry/]path[:tag][@digest]`.
 *
 * The parser scans each part once with plain character checks, so it runs in linear time on any input.
 * It reports the first problem it finds and says where the problem is and why.
 */

export type ImageRefPart = 'whole' | 'registry' | 'port' | 'path' | 'tag' | 'digest';

export interface ImageRefProblem {
  part: ImageRefPart;
  /** 0-based offset in the input where the reference went wrong; may equal the input's length. */
  index: number;
  /** The offending character (a whole code point), when there is one. */
  char?: string;
  message: string;
}

export interface ImageReference {
  original: string;
  /** host[:port]; 'docker.io' when the reference names no registry. */
  registry: string;
  /** The host without the port; IPv6 addresses keep their brackets, as in a URL. */
  registryHost: string;
  port?: number;
  /** True when the input named the registry, even if it was normalised (index.docker.io becomes docker.io). */
  registryExplicit: boolean;
  /** The repository path after Docker Hub normalisation, e.g. 'library/nginx'. */
  path: string;
  tag?: string;
  /** algorithm:hex, e.g. 'sha256:…'. */
  digest?: string;
  /** registry/path[:tag][@digest], with ':latest' added only when there is neither tag nor digest. */
  canonical: string;
  /** registry/path. */
  repository: string;
}

export type ImageRefResult = { ok: true; ref: ImageReference } | { ok: false; problem: ImageRefProblem };

export const MAX_NAME_LENGTH = 255;
export const MAX_TAG_LENGTH = 128;

export const DOCKER_HUB_REGISTRY = 'docker.io';
const LEGACY_DOCKER_HUB_REGISTRY = 'index.docker.io';
const OFFICIAL_IMAGES_NAMESPACE = 'library/';
const DEFAULT_TAG = 'latest';

/** go-digest knows only these algorithms; anything else is "unsupported" to containerd. */
const DIGEST_HEX_LENGTHS: ReadonlyMap<string, number> = new Map([
  ['sha256', 64],
  ['sha384', 96],
  ['sha512', 128],
]);
const MIN_DIGEST_HEX_LENGTH = 32;

/** Quoted strings in messages are cut short so a hostile 1 MiB input cannot make a 1 MiB message. */
const QUOTE_LIMIT = 64;

export const parseImageRef = (input: string): ImageRefResult => {
  const problem = findWholeInputProblem(input);
  if (problem) return { ok: false, problem };
  return scanReference(input);
};

// --- the scan ---------------------------------------------------------------------------------------------

const scanReference = (input: string): ImageRefResult => {
  const atSign = input.indexOf('@');
  const nameAndTagEnd = atSign === -1 ? input.length : atSign;

  // Like splitDockerDomain: the first component is a registry only if it looks like a host.
  const firstSlash = input.indexOf('/');
  const hasRegistry =
    firstSlash !== -1 && firstSlash < nameAndTagEnd && looksLikeRegistry(input.slice(0, firstSlash));
  let registry = DOCKER_HUB_REGISTRY;
  let registryHost = DOCKER_HUB_REGISTRY;
  let port: number | undefined;
  let pathStart = 0;
  if (hasRegistry) {
    const scanned = scanRegistry(input, firstSlash);
    if ('problem' in scanned) return { ok: false, problem: scanned.problem };
    registry = input.slice(0, firstSlash);
    registryHost = scanned.host;
    port = scanned.port;
    pathStart = firstSlash + 1;
    if (registry === LEGACY_DOCKER_HUB_REGISTRY) {
      registry = DOCKER_HUB_REGISTRY;
      registryHost = DOCKER_HUB_REGISTRY;
    }
  }

  const colon = input.indexOf(':', pathStart);
  const pathEnd = colon !== -1 && colon < nameAndTagEnd ? colon : nameAndTagEnd;
  const pathProblem = scanPath(input, pathStart, pathEnd);
  if (pathProblem) return { ok: false, problem: pathProblem };

  let tag: string | undefined;
  if (pathEnd < nameAndTagEnd) {
    const tagProblem = scanTag(input, pathEnd, nameAndTagEnd);
    if (tagProblem) return { ok: false, problem: tagProblem };
    tag = input.slice(pathEnd + 1, nameAndTagEnd);
  }

  let digest: string | undefined;
  if (atSign !== -1) {
    const digestProblem = scanDigest(input, atSign);
    if (digestProblem) return { ok: false, problem: digestProblem };
    digest = input.slice(atSign + 1);
  }

  let path = input.slice(pathStart, pathEnd);
  if (registry === DOCKER_HUB_REGISTRY && !path.includes('/')) path = OFFICIAL_IMAGES_NAMESPACE + path;
  const repository = `${registry}/${path}`;

  // Measured on the normalised name, as distribution/reference does; the grammar is checked first.
  if (repository.length > MAX_NAME_LENGTH) {
    const addedByNormalising = repository.length - pathEnd;
    const index = clamp(MAX_NAME_LENGTH - addedByNormalising, 0, pathEnd);
    const problem = problemAt(
      'path',
      index,
      charAt(input, index),
      `name is longer than ${MAX_NAME_LENGTH} characters: ${quote(repository)} has ${repository.length}`,
    );
    return { ok: false, problem };
  }

  const canonicalTag = tag ?? (digest === undefined ? DEFAULT_TAG : undefined);
  const ref: ImageReference = {
    original: input,
    registry,
    registryHost,
    registryExplicit: hasRegistry,
    path,
    canonical:
      repository +
      (canonicalTag === undefined ? '' : `:${canonicalTag}`) +
      (digest === undefined ? '' : `@${digest}`),
    repository,
  };
  if (port !== undefined) ref.port = port;
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return { ok: true, ref };
};

/** Problems that concern the whole string, reported before any part is read. */
const findWholeInputProblem = (input: string): ImageRefProblem | undefined => {
  if (input.length === 0) return problemAt('whole', 0, undefined, 'empty image reference');
  if (isWhitespace(input.charCodeAt(0))) {
    return problemAt(
      'whole',
      0,
      charAt(input, 0),
      `image reference starts with whitespace (${quoteChar(charAt(input, 0))} at position 0): remove leading spaces`,
    );
  }
  const last = input.length - 1;
  if (isWhitespace(input.charCodeAt(last))) {
    let index = last;
    while (index > 0 && isWhitespace(input.charCodeAt(index - 1))) index--;
    return problemAt(
      'whole',
      index,
      charAt(input, index),
      `image reference ends with whitespace (${quoteChar(charAt(input, index))} at position ${index}): ` +
        'remove trailing whitespace, often a stray newline from a template or secret',
    );
  }
  const schemeEnd = input.indexOf('://');
  if (schemeEnd > 0 && isScheme(input, schemeEnd)) {
    const withoutScheme = input.slice(schemeEnd + 3);
    return problemAt(
      'registry',
      0,
      undefined,
      `image reference starts with the scheme ${quote(input.slice(0, schemeEnd + 3))}: ` +
        `registries are named without a scheme, e.g. ${quote(withoutScheme)}`,
    );
  }
  if (isImageIdShaped(input)) {
    return problemAt(
      'path',
      0,
      undefined,
      'image reference is a 64-character hex string, which is reserved for image IDs and cannot name a repository',
    );
  }
  return undefined;
};

// As distribution/reference's splitDockerDomain: an uppercase first component is a host, not a path.
const looksLikeRegistry = (firstComponent: string): boolean =>
  firstComponent === 'localhost' ||
  firstComponent.includes('.') ||
  firstComponent.includes(':') ||
  firstComponent !== firstComponent.toLowerCase();

type ScannedRegistry = { host: string; port?: number } | { problem: ImageRefProblem };

/** Reads `host[:port]` in input[0, end). */
const scanRegistry = (input: string, end: number): ScannedRegistry => {
  const registry = input.slice(0, end);
  const hostEnd =
    input.charCodeAt(0) === CHAR.openBracket ? scanIpv6Host(input, end) : scanDnsHost(input, end);
  if (typeof hostEnd !== 'number') return { problem: hostEnd };
  const host = input.slice(0, hostEnd);
  if (hostEnd === end) return { host };

  // scanIpv6Host and scanDnsHost stop only at the end or at ':'.
  const portStart = hostEnd + 1;
  if (portStart === end) {
    return {
      problem: problemAt(
        'port',
        hostEnd,
        ':',
        `registry ${quote(registry)} has ":" at position ${hostEnd} but no port number after it`,
      ),
    };
  }
  for (let i = portStart; i < end; i++) {
    if (!isDigit(input.charCodeAt(i))) {
      const char = charAt(input, i);
      return {
        problem: problemAt(
          'port',
          i,
          char,
          `registry port ${quote(input.slice(portStart, end))} contains ${quoteChar(char)} at position ${i}: ` +
            'a port is digits only',
        ),
      };
    }
  }
  const port = Number(input.slice(portStart, end));
  if (port < 1 || port > 65535) {
    return {
      problem: problemAt(
        'port',
        portStart,
        charAt(input, portStart),
        `registry port ${quote(input.slice(portStart, end))} at position ${portStart} is not between 1 and 65535`,
      ),
    };
  }
  return { host, port };
};

/** Dot-separated labels of letters, digits and inner '-'. Returns where the host ends (at ':' or end). */
const scanDnsHost = (input: string, end: number): number | ImageRefProblem => {
  const registry = input.slice(0, end);
  let i = 0;
  for (;;) {
    const labelStart = i;
    while (i < end && (isAlphanumeric(input.charCodeAt(i)) || input.charCodeAt(i) === CHAR.hyphen)) i++;
    if (i === labelStart) {
      if (i === end) {
        // Only reached after a '.', since the registry is never empty.
        return problemAt(
          'registry',
          i - 1,
          '.',
          `registry ${quote(registry)} ends with "." at position ${i - 1}: remove the trailing "."`,
        );
      }
      const char = charAt(input, i);
      if (i === 0 && char === ':') {
        return problemAt('registry', 0, ':', `registry ${quote(registry)} has no host name before ":"`);
      }
      if (char === '.' || char === ':') {
        return problemAt(
          'registry',
          i,
          char,
          `registry ${quote(registry)} has an empty host label at position ${i}: ` +
            'host names are labels joined by single "." characters',
        );
      }
      return invalidRegistryChar(input, registry, i);
    }
    if (input.charCodeAt(labelStart) === CHAR.hyphen || input.charCodeAt(i - 1) === CHAR.hyphen) {
      const index = input.charCodeAt(labelStart) === CHAR.hyphen ? labelStart : i - 1;
      return problemAt(
        'registry',
        index,
        '-',
        `registry ${quote(registry)} has a host label that ${index === labelStart ? 'starts' : 'ends'} ` +
          `with "-" at position ${index}: labels must start and end with a letter or digit`,
      );
    }
    if (i === end || input.charCodeAt(i) === CHAR.colon) return i;
    if (input.charCodeAt(i) !== CHAR.dot) return invalidRegistryChar(input, registry, i);
    i++;
  }
};

/** '[' hex and ':' ']' — the bracketed form distribution/reference accepts. */
const scanIpv6Host = (input: string, end: number): number | ImageRefProblem => {
  const registry = input.slice(0, end);
  let i = 1;
  while (i < end && (isHexDigit(input.charCodeAt(i)) || input.charCodeAt(i) === CHAR.colon)) i++;
  if (i === end) {
    return problemAt('registry', end, undefined, `registry ${quote(registry)} has no closing "]"`);
  }
  if (input.charCodeAt(i) !== CHAR.closeBracket) {
    const char = charAt(input, i);
    return problemAt(
      'registry',
      i,
      char,
      `registry ${quote(registry)} contains ${quoteChar(char)} at position ${i}: ` +
        'an IPv6 address in brackets may only contain hex digits and ":"',
    );
  }
  if (i === 1) return problemAt('registry', 1, ']', `registry ${quote(registry)} has an empty IPv6 address`);
  i++;
  if (i === end || input.charCodeAt(i) === CHAR.colon) return i;
  return invalidRegistryChar(input, registry, i);
};

const invalidRegistryChar = (input: string, registry: string, index: number): ImageRefProblem => {
  const char = charAt(input, index);
  return problemAt(
    'registry',
    index,
    char,
    `registry ${quote(registry)} contains ${quoteChar(char)} at position ${index}: ` +
      'registry hosts may only contain letters, digits, "-" and ".", with an optional ":port"',
  );
};

/**
 * Components of lowercase letters and digits joined by '/'; inside a component, runs are separated by
 * one '.', one or two '_', or any number of '-'.
 */
const scanPath = (input: string, start: number, end: number): ImageRefProblem | undefined => {
  const path = input.slice(start, end);
  if (start === end) {
    const char = charAt(input, start);
    return problemAt(
      'path',
      start,
      char,
      char === undefined
        ? `repository path is missing after the registry`
        : `repository name is missing before ${quote(char)} at position ${start}`,
    );
  }
  // Checked first, as ParseNormalizedNamed does, because it is the commonest mistake.
  for (let i = start; i < end; i++) {
    if (isUppercase(input.charCodeAt(i))) {
      return problemAt(
        'path',
        i,
        input.charAt(i),
        `repository path ${quote(path)} has uppercase letter ${quote(input.charAt(i))} at position ${i}: ` +
          'repository names must be lowercase',
      );
    }
  }

  let i = start;
  for (;;) {
    const componentStart = i;
    const componentProblem = scanPathComponent(input, path, i, end);
    if (typeof componentProblem !== 'number') return componentProblem;
    i = componentProblem;
    if (i === end) return undefined;
    // input[i] is '/'.
    if (i + 1 === end || input.charCodeAt(i + 1) === CHAR.slash || componentStart === i) {
      const index = componentStart === i ? i : i + 1 === end ? i : i + 1;
      const where =
        index === start
          ? 'starts with "/"'
          : index === end - 1
            ? 'ends with "/"'
            : 'has an empty component ("//")';
      return problemAt(
        'path',
        index,
        '/',
        `repository path ${quote(path)} ${where} at position ${index}: components are separated by a single "/"`,
      );
    }
    i++;
  }
};

/** Returns where the component ends (at '/' or end), or the problem. */
const scanPathComponent = (
  input: string,
  path: string,
  start: number,
  end: number,
): number | ImageRefProblem => {
  if (input.charCodeAt(start) === CHAR.slash) return start; // empty; the caller names it.
  if (isPathSeparator(input.charCodeAt(start))) {
    return problemAt(
      'path',
      start,
      input.charAt(start),
      `repository path ${quote(path)} has a component starting with ${quote(input.charAt(start))} ` +
        `at position ${start}: components must start with a lowercase letter or digit`,
    );
  }
  let i = start;
  for (;;) {
    const runStart = i;
    while (i < end && isLowerAlphanumeric(input.charCodeAt(i))) i++;
    if (i === runStart) return invalidPathChar(input, path, i);
    if (i === end || input.charCodeAt(i) === CHAR.slash) return i;

    const separatorAt = i;
    const separator = input.charCodeAt(i);
    if (separator === CHAR.dot) i++;
    else if (separator === CHAR.underscore)
      i += i + 1 < end && input.charCodeAt(i + 1) === CHAR.underscore ? 2 : 1;
    else if (separator === CHAR.hyphen) while (i < end && input.charCodeAt(i) === CHAR.hyphen) i++;
    else return invalidPathChar(input, path, i);

    if (i === end || input.charCodeAt(i) === CHAR.slash) {
      return problemAt(
        'path',
        i - 1,
        input.charAt(i - 1),
        `repository path ${quote(path)} has a component ending with ${quote(input.charAt(i - 1))} ` +
          `at position ${i - 1}: components must end with a lowercase letter or digit`,
      );
    }
    if (isPathSeparator(input.charCodeAt(i))) {
      return problemAt(
        'path',
        i,
        input.charAt(i),
        `repository path ${quote(path)} has ${quote(input.charAt(i))} at position ${i} right after ` +
          `${quote(input.slice(separatorAt, i))}: separators are one ".", one or two "_", or one or more "-"`,
      );
    }
  }
};

const invalidPathChar = (input: string, path: string, index: number): ImageRefProblem => {
  const char = charAt(input, index);
  return problemAt(
    'path',
    index,
    char,
    `repository path ${quote(path)} contains ${quoteChar(char)} at position ${index}: ` +
      'paths may only contain lowercase letters, digits, "/" and the separators ".", "_", "__" and "-"',
  );
};

/** input[colon] is ':'; the tag runs to end. */
const scanTag = (input: string, colon: number, end: number): ImageRefProblem | undefined => {
  const start = colon + 1;
  if (start === end) {
    return problemAt(
      'tag',
      colon,
      ':',
      `":" at position ${colon} is not followed by a tag: remove the ":" or add a tag such as ":latest"`,
    );
  }
  const tag = input.slice(start, end);
  const first = input.charCodeAt(start);
  if (!isWordChar(first)) {
    const char = charAt(input, start);
    return problemAt(
      'tag',
      start,
      char,
      first === CHAR.dot || first === CHAR.hyphen
        ? `tag ${quote(tag)} starts with ${quoteChar(char)} at position ${start}: ` +
            'tags must start with a letter, digit or "_"'
        : invalidTagCharMessage(tag, char, start),
    );
  }
  for (let i = start + 1; i < end; i++) {
    const code = input.charCodeAt(i);
    if (!isWordChar(code) && code !== CHAR.dot && code !== CHAR.hyphen) {
      const char = charAt(input, i);
      return problemAt('tag', i, char, invalidTagCharMessage(tag, char, i));
    }
  }
  if (end - start > MAX_TAG_LENGTH) {
    const index = start + MAX_TAG_LENGTH;
    return problemAt(
      'tag',
      index,
      charAt(input, index),
      `tag ${quote(tag)} is ${end - start} characters long: tags are at most ${MAX_TAG_LENGTH} characters`,
    );
  }
  return undefined;
};

const invalidTagCharMessage = (tag: string, char: string | undefined, index: number): string =>
  `tag ${quote(tag)} contains ${quoteChar(char)} at position ${index}: ` +
  'tags may only contain letters, digits, "_", "." and "-" and must not start with "." or "-"';

/** input[atSign] is '@'; the digest runs to the end of the input. */
const scanDigest = (input: string, atSign: number): ImageRefProblem | undefined => {
  const start = atSign + 1;
  const end = input.length;
  if (start === end) {
    return problemAt(
      'digest',
      atSign,
      '@',
      `"@" at position ${atSign} is not followed by a digest: expected "@sha256:" and 64 hex characters`,
    );
  }
  const digest = input.slice(start, end);

  // algorithm := component ([+._-] component)*, component := [a-z0-9]+
  let i = start;
  for (;;) {
    const componentStart = i;
    while (i < end && isLowerAlphanumeric(input.charCodeAt(i))) i++;
    if (i === componentStart) {
      const char = charAt(input, i);
      if (i === start && char === ':') {
        return problemAt(
          'digest',
          i,
          ':',
          `digest ${quote(digest)} has no algorithm before ":" (e.g. "sha256")`,
        );
      }
      if (i > start && (char === undefined || char === ':')) {
        // Only reached after a separator was consumed.
        return problemAt(
          'digest',
          i - 1,
          input.charAt(i - 1),
          `digest algorithm ${quote(input.slice(start, i))} ends with ${quote(input.charAt(i - 1))} ` +
            `at position ${i - 1}: algorithm names end with a lowercase letter or digit`,
        );
      }
      return invalidAlgorithmChar(input, digest, i);
    }
    if (i === end) {
      return problemAt(
        'digest',
        end,
        undefined,
        `digest ${quote(digest)} has no ":": a digest looks like "sha256:" and 64 hex characters ` +
          '(a tag is written after ":", not "@")',
      );
    }
    const code = input.charCodeAt(i);
    if (code === CHAR.colon) break;
    if (!isDigestAlgorithmSeparator(code)) return invalidAlgorithmChar(input, digest, i);
    i++;
  }
  const algorithm = input.slice(start, i);
  const hexStart = i + 1;
  if (hexStart === end) {
    return problemAt('digest', end, undefined, `digest ${quote(digest)} has no hex value after ":"`);
  }
  for (let j = hexStart; j < end; j++) {
    if (!isHexDigit(input.charCodeAt(j))) {
      const char = charAt(input, j);
      return problemAt(
        'digest',
        j,
        char,
        `digest ${quote(digest)} contains ${quoteChar(char)} at position ${j}: ` +
          'the value after ":" must be hexadecimal (0-9, a-f)',
      );
    }
  }
  const hexLength = end - hexStart;
  const expectedLength = DIGEST_HEX_LENGTHS.get(algorithm);
  if (expectedLength === undefined) {
    if (hexLength < MIN_DIGEST_HEX_LENGTH) {
      return problemAt(
        'digest',
        end,
        undefined,
        `digest ${quote(digest)} has ${hexLength} hex characters: a digest has at least ${MIN_DIGEST_HEX_LENGTH}`,
      );
    }
    return problemAt(
      'digest',
      start,
      charAt(input, start),
      `digest algorithm ${quote(algorithm)} is not supported: use sha256, sha384 or sha512`,
    );
  }
  for (let j = hexStart; j < end; j++) {
    if (isUppercase(input.charCodeAt(j))) {
      return problemAt(
        'digest',
        j,
        input.charAt(j),
        `digest ${quote(digest)} has uppercase ${quote(input.charAt(j))} at position ${j}: ` +
          `${algorithm} digests are lowercase hex`,
      );
    }
  }
  if (hexLength !== expectedLength) {
    const index = hexLength < expectedLength ? end : hexStart + expectedLength;
    return problemAt(
      'digest',
      index,
      charAt(input, index),
      `digest ${quote(digest)} is not ${expectedLength} hex characters (it has ${hexLength})`,
    );
  }
  return undefined;
};

const invalidAlgorithmChar = (input: string, digest: string, index: number): ImageRefProblem => {
  const char = charAt(input, index);
  const uppercase = isUppercase(input.charCodeAt(index));
  return problemAt(
    'digest',
    index,
    char,
    `digest ${quote(digest)} contains ${quoteChar(char)} at position ${index}: ` +
      (uppercase
        ? 'digest algorithms are lowercase, e.g. "sha256"'
        : 'a digest is a lowercase algorithm such as "sha256", ":", and hex characters'),
  );
};

// --- characters -------------------------------------------------------------------------------------------

const CHAR = {
  hyphen: 0x2d,
  dot: 0x2e,
  slash: 0x2f,
  colon: 0x3a,
  openBracket: 0x5b,
  closeBracket: 0x5d,
  underscore: 0x5f,
  plus: 0x2b,
} as const;

// charCodeAt returns NaN past the end, which fails every range check below.
const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;
const isLowercase = (code: number): boolean => code >= 0x61 && code <= 0x7a;
const isUppercase = (code: number): boolean => code >= 0x41 && code <= 0x5a;
const isLowerAlphanumeric = (code: number): boolean => isDigit(code) || isLowercase(code);
const isAlphanumeric = (code: number): boolean => isLowerAlphanumeric(code) || isUppercase(code);
const isWordChar = (code: number): boolean => isAlphanumeric(code) || code === CHAR.underscore;
const isHexDigit = (code: number): boolean =>
  isDigit(code) || (code >= 0x61 && code <= 0x66) || (code >= 0x41 && code <= 0x46);
const isPathSeparator = (code: number): boolean =>
  code === CHAR.dot || code === CHAR.underscore || code === CHAR.hyphen;
const isDigestAlgorithmSeparator = (code: number): boolean => isPathSeparator(code) || code === CHAR.plus;
const isWhitespace = (code: number): boolean => /\s/.test(String.fromCharCode(code));

/** scheme := letter (letter | digit | "+" | "-" | ".")*, ending at input[end]. */
const isScheme = (input: string, end: number): boolean => {
  if (!isAlphanumeric(input.charCodeAt(0)) || isDigit(input.charCodeAt(0))) return false;
  for (let i = 1; i < end; i++) {
    const code = input.charCodeAt(i);
    if (!isAlphanumeric(code) && code !== CHAR.plus && code !== CHAR.hyphen && code !== CHAR.dot)
      return false;
  }
  return true;
};

const isImageIdShaped = (input: string): boolean => {
  if (input.length !== 64) return false;
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i);
    if (!isDigit(code) && !(code >= 0x61 && code <= 0x66)) return false;
  }
  return true;
};

/** The whole code point at index, so an emoji is reported as itself rather than half a surrogate pair. */
const charAt = (input: string, index: number): string | undefined => {
  const codePoint = input.codePointAt(index);
  return codePoint === undefined ? undefined : String.fromCodePoint(codePoint);
};

const quote = (text: string): string =>
  JSON.stringify(text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT - 1)}…` : text);

const quoteChar = (char: string | undefined): string =>
  char === undefined ? 'the end' : JSON.stringify(char);

const clamp = (value: number, min: number, max: number): number => Math.min(Math.max(value, min), max);

const problemAt = (
  part: ImageRefPart,
  index: number,
  char: string | undefined,
  message: string,
): ImageRefProblem => (char === undefined ? { part, index, message } : { part, index, char, message });
