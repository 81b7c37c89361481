/** The cause ids are a public contract: incidents, queries and docs use them verbatim. */
export const CAUSE_IDS = [
  'image-not-found',
  'repo-not-found-or-unauthorized',
  'registry-auth',
  'pull-secret-missing',
  'rate-limited',
  'invalid-image-name',
  'dns-resolution',
  'network-timeout',
  'connection-refused',
  'tls-error',
  'platform-mismatch',
  'registry-unavailable',
  'disk-pressure',
  'never-pull',
  'policy-rejected',
  'unsupported-manifest',
  'unknown',
] as const;

export type CauseId = (typeof CAUSE_IDS)[number];

export const isCauseId = (value: string): value is CauseId =>
  (CAUSE_IDS as readonly string[]).includes(value);
