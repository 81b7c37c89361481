/**
 * The parts of the OCI distribution protocol a registry check reads: the `WWW-Authenticate` challenge
 * (Docker's token protocol, as Docker Hub, GHCR, Quay, Artifact Registry, ACR and Harbor speak it), the
 * `Link` header of `tags/list`, the manifest media types, and an index's platforms. Pure parsing.
 */
import { z } from 'zod';

/** Every manifest type a runtime pulls, so a HEAD answers for indexes and single manifests alike. */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
] as const;

export const INDEX_MEDIA_TYPES: readonly string[] = MANIFEST_MEDIA_TYPES.slice(0, 2);

export type Challenge =
  | { scheme: 'bearer'; realm: string; service?: string; scope?: string }
  | { scheme: 'basic'; realm?: string }
  | { scheme: 'other'; name: string };

/** auth-param = token "=" ( token / quoted-string ), as RFC 7235 writes them. */
const PARAM = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y;

/** The first challenge of a `WWW-Authenticate` header, or undefined when there is none. */
export const parseChallenge = (header: string | undefined): Challenge | undefined => {
  if (header === undefined) return undefined;
  const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)/.exec(header);
  if (!match?.[1]) return undefined;
  const scheme = match[1].toLowerCase();
  const params = new Map<string, string>();
  PARAM.lastIndex = match[0].length;
  for (let found = PARAM.exec(header); found; found = PARAM.exec(header)) {
    params.set((found[1] ?? '').toLowerCase(), (found[2] ?? found[3] ?? '').replace(/\\(.)/g, '$1'));
    if (PARAM.lastIndex >= header.length) break;
  }
  if (scheme === 'bearer') {
    const realm = params.get('realm');
    if (realm === undefined || realm === '') return { scheme: 'other', name: 'Bearer without a realm' };
    const service = params.get('service');
    const scope = params.get('scope');
    return {
      scheme: 'bearer',
      realm,
      ...(service === undefined ? {} : { service }),
      ...(scope === undefined ? {} : { scope }),
    };
  }
  if (scheme === 'basic') {
    const realm = params.get('realm');
    return realm === undefined ? { scheme: 'basic' } : { scheme: 'basic', realm };
  }
  return { scheme: 'other', name: match[1] };
};

/** The token request for one repository's pull scope, as the realm expects it. */
export const tokenUrl = (challenge: { realm: string; service?: string }, repositoryPath: string): URL => {
  const url = new URL(challenge.realm);
  if (challenge.service !== undefined) url.searchParams.set('service', challenge.service);
  url.searchParams.set('scope', `repository:${repositoryPath}:pull`);
  return url;
};

const TokenAnswer = z
  .object({ token: z.string().min(1) })
  .or(
    z.object({ access_token: z.string().min(1) }).transform(({ access_token }) => ({ token: access_token })),
  );

/** The bearer token from a realm's JSON answer (`token`, or OAuth's `access_token`). */
export const parseTokenAnswer = (body: string): string | undefined => {
  try {
    const parsed = TokenAnswer.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data.token : undefined;
  } catch {
    return undefined;
  }
};

/** The `rel="next"` target of a `Link` header (`</v2/x/tags/list?n=2&last=b>; rel="next"`). */
export const nextLink = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined;
  for (const part of header.split(',')) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (match?.[1] !== undefined && /(?:^|;)\s*rel\s*=\s*"?next"?\s*(?:;|$)/i.test(match[2] ?? '')) {
      return match[1];
    }
  }
  return undefined;
};

const TagList = z.object({ tags: z.array(z.string()).nullable().optional() });

export const parseTagList = (body: string): string[] | undefined => {
  try {
    const parsed = TagList.safeParse(JSON.parse(body));
    return parsed.success ? (parsed.data.tags ?? []) : undefined;
  } catch {
    return undefined;
  }
};

const Index = z.object({
  manifests: z.array(
    z.object({
      platform: z
        .object({ os: z.string(), architecture: z.string(), variant: z.string().optional() })
        .optional(),
    }),
  ),
});

/**
 * The platforms an index offers, in its order, without attestation entries (`unknown/unknown`); an
 * empty list for a single-platform manifest; undefined when the body is not a manifest at all.
 */
export const indexPlatforms = (mediaType: string | undefined, body: string): string[] | undefined => {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return undefined;
  }
  const declared =
    mediaType?.split(';')[0]?.trim() ?? (document as { mediaType?: string } | null)?.mediaType ?? '';
  const isIndex =
    INDEX_MEDIA_TYPES.includes(declared) || (declared === '' && Index.safeParse(document).success);
  if (!isIndex) return (MANIFEST_MEDIA_TYPES as readonly string[]).includes(declared) ? [] : undefined;
  const parsed = Index.safeParse(document);
  if (!parsed.success) return undefined;
  const platforms = parsed.data.manifests.flatMap(({ platform }) =>
    platform && platform.os !== 'unknown'
      ? [[platform.os, platform.architecture, platform.variant].filter(Boolean).join('/')]
      : [],
  );
  return [...new Set(platforms)];
};

/** The Docker Hub API host behind `docker.io` references. */
export const apiHostOf = (registry: string): string =>
  registry === 'docker.io' ? 'registry-1.docker.io' : registry;
