/**
 * Which registry an image comes from, recognised from its host name, so that fixes can name the
 * registry's own commands (aws ecr, gcloud artifacts, az acr, …).
 */
import { parseImageRef } from '#shared/image-ref';

export const REGISTRY_KINDS = [
  'dockerhub',
  'ecr',
  'gcr',
  'artifact-registry',
  'acr',
  'ghcr',
  'quay',
  'harbor',
  'gitlab',
  'other',
] as const;
export type RegistryKind = (typeof REGISTRY_KINDS)[number];

export interface RegistryInfo {
  /** host[:port] as written in the image reference. */
  host: string;
  kind: RegistryKind;
  /** e.g. 'Amazon ECR'; the host itself for unrecognised registries. */
  displayName: string;
  /** Private ECR only; ECR Public (public.ecr.aws) has no account or region in its host. accountId is '' when redacted. */
  ecr?: { accountId: string; region: string; fips: boolean };
  artifactRegistry?: { location: string; project?: string; repository?: string };
  gcr?: { project?: string };
  acr?: { name: string };
}

const DISPLAY_NAMES: Record<Exclude<RegistryKind, 'other'>, string> = {
  dockerhub: 'Docker Hub',
  ecr: 'Amazon ECR',
  gcr: 'Google Container Registry',
  'artifact-registry': 'Google Artifact Registry',
  acr: 'Azure Container Registry',
  ghcr: 'GitHub Container Registry',
  quay: 'Quay',
  harbor: 'Harbor',
  gitlab: 'GitLab Container Registry',
};

/** Hosts that are a registry by name alone. */
const KNOWN_HOSTS: ReadonlyMap<string, Exclude<RegistryKind, 'other'>> = new Map([
  ['docker.io', 'dockerhub'],
  ['index.docker.io', 'dockerhub'],
  ['registry-1.docker.io', 'dockerhub'],
  ['registry.hub.docker.com', 'dockerhub'],
  ['public.ecr.aws', 'ecr'],
  ['ghcr.io', 'ghcr'],
  ['docker.pkg.github.com', 'ghcr'],
  ['quay.io', 'quay'],
  ['registry.gitlab.com', 'gitlab'],
]);

// Anchored, with one repeated class each that cannot overlap what follows it, so matching is linear.
/** <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn], or the dual-stack <account>.dkr-ecr[-fips].<region>.on.aws */
// The account is often redacted in shared messages (REDACTED, xxx, ACCOUNT_ID, ***): the host is still ECR's,
// with its region. A redaction has no digits; digits that are not 12 make no ECR host.
const ECR_HOST = /^(\d{12}|[a-z_*-]+)\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;
const ECR_DUAL_STACK_HOST = /^(\d{12}|[a-z_*-]+)\.dkr-ecr(-fips)?\.([a-z0-9-]+)\.on\.aws$/;
const ECR_ACCOUNT = /^\d{12}$/;
const ARTIFACT_REGISTRY_HOST = /^([a-z0-9-]+)-docker\.pkg\.dev$/;
const ACR_HOST = /^([a-z0-9-]+)\.azurecr\.(?:io|cn|us)$/;
/** gcr.io and its regional hosts (us., eu., asia.) and legacy ones such as k8s.gcr.io. */
const GCR_HOST = /^(?:[a-z0-9-]+\.)?gcr\.io$/;

export const detectRegistry = (host: string, path?: string): RegistryInfo => {
  const name = hostWithoutPort(host).toLowerCase();
  const known = KNOWN_HOSTS.get(name);
  if (known) return recognised(host, known);

  const ecr = ECR_HOST.exec(name) ?? ECR_DUAL_STACK_HOST.exec(name);
  if (ecr) {
    const [, account = '', fips, region = ''] = ecr;
    const accountId = ECR_ACCOUNT.test(account) ? account : '';
    return { ...recognised(host, 'ecr'), ecr: { accountId, region, fips: fips !== undefined } };
  }
  if (GCR_HOST.test(name)) return { ...recognised(host, 'gcr'), gcr: gcrProject(path) };

  const artifactRegistry = ARTIFACT_REGISTRY_HOST.exec(name);
  if (artifactRegistry) {
    const [, location = ''] = artifactRegistry;
    return {
      ...recognised(host, 'artifact-registry'),
      artifactRegistry: { location, ...artifactRegistryRepository(path) },
    };
  }
  const acr = ACR_HOST.exec(name);
  if (acr) {
    const [, registryName = ''] = acr;
    return { ...recognised(host, 'acr'), acr: { name: registryName } };
  }
  // Self-hosted GitLab and Harbor are recognised by convention only: most installs put the product in the host.
  if (name.startsWith('registry.gitlab.') || name.includes('gitlab')) return recognised(host, 'gitlab');
  if (name.includes('harbor')) return recognised(host, 'harbor');
  return { host, kind: 'other', displayName: host };
};

/** The registry of an image reference, or undefined if the reference does not parse. */
export const registryOfImage = (image: string): RegistryInfo | undefined => {
  const parsed = parseImageRef(image);
  return parsed.ok ? detectRegistry(parsed.ref.registry, parsed.ref.path) : undefined;
};

const recognised = (host: string, kind: Exclude<RegistryKind, 'other'>): RegistryInfo => ({
  host,
  kind,
  displayName: DISPLAY_NAMES[kind],
});

const hostWithoutPort = (host: string): string => {
  // '[::1]:5000' keeps its brackets; only a ':' after the ']' starts a port.
  const portColon = host.indexOf(':', host.startsWith('[') ? host.indexOf(']') + 1 : 0);
  return portColon === -1 ? host : host.slice(0, portColon);
};

/**
 * The Google Cloud project in a gcr.io or pkg.dev path. Domain-scoped projects ('example.com:my-project')
 * are written with '/' for ':' in image paths, so a first component with a '.' takes the next one with it.
 */
const splitGoogleProject = (path: string | undefined): { project?: string; rest: string[] } => {
  const components = path === undefined || path === '' ? [] : path.split('/');
  const [first, second, ...others] = components;
  if (first === undefined) return { rest: [] };
  if (first.includes('.') && second !== undefined) return { project: `${first}:${second}`, rest: others };
  return { project: first, rest: second === undefined ? others : [second, ...others] };
};

const gcrProject = (path: string | undefined): { project?: string } => {
  const { project } = splitGoogleProject(path);
  return project === undefined ? {} : { project };
};

const artifactRegistryRepository = (path: string | undefined): { project?: string; repository?: string } => {
  const { project, rest } = splitGoogleProject(path);
  const [repository] = rest;
  return {
    ...(project === undefined ? {} : { project }),
    ...(repository === undefined ? {} : { repository }),
  };
};
