// The image-pull failures the lab reproduces, and the cause each one means.
//
// `expected` is assigned from what the failure IS (the lab built it), never from a classifier's output.
// `evidence` is what the runtime's text must contain for the scenario to count as reproduced: it keeps a
// broken harness (say, DNS that times out instead of answering NXDOMAIN) from passing as a real error.
import type { CauseId } from '#shared/diagnosis/causes';
import { CONTENT, type LabAddresses } from './lab';

export type Runtime = 'containerd' | 'skopeo';

export type KubeletReason = 'ErrImagePull' | 'InvalidImageName';

/** How each runtime reaches the image; also all a control pull needs. */
export interface ContainerdAccess {
  deadlineMs?: number;
  /** Pull with the containerd whose root is a tmpfs smaller than the image. */
  smallDisk?: boolean;
}

export interface SkopeoAccess {
  /** false for a registry the operator declared insecure (plain HTTP); true otherwise. */
  tlsVerify: boolean;
  /** Trust the lab's CA for this registry (what /etc/containers/certs.d/<host>/ does). */
  trustLabCa?: boolean;
  timeoutSeconds?: number;
  /** Copy the whole image onto a tmpfs smaller than the image (instead of reading its manifest). */
  smallDisk?: boolean;
}

export interface RuntimeExpectation {
  evidence: RegExp;
  /** Only where the runtimes' texts carry different meaning. */
  expected?: CauseId;
}

/** A pull the lab makes; a runtime key is present when that runtime takes part. */
export interface PullTarget {
  id: string;
  description: string;
  /** The image exactly as the pod spec names it. */
  image: (lab: LabAddresses) => string;
  /** A pull secret's credentials: the lab's real ones, or a wrong password. */
  credentials?: 'valid' | 'wrong';
  containerd?: ContainerdAccess;
  skopeo?: SkopeoAccess;
}

/**
 * `pull`: the runtime's PullImage error, worded as the kubelet's Failed event.
 * `kubelet-parse`: the kubelet's own reference check (InvalidImageName); the parser's words come from
 * containerd, which vendors the same reference library. `current` is the wording of kubelets built on
 * github.com/distribution/reference (Kubernetes 1.29 and later), `legacy` that of older ones.
 */
export type Stage = { kind: 'pull' } | { kind: 'kubelet-parse'; wording: 'current' | 'legacy' };

export interface Scenario extends PullTarget {
  expected: CauseId;
  stage?: Stage;
  containerd?: ContainerdAccess & RuntimeExpectation;
  /** Absent when CRI-O would never see the request (the kubelet rejects the name first). */
  skopeo?: SkopeoAccess & RuntimeExpectation;
}

const app = (registry: string, tag: string = CONTENT.app.tag): string =>
  `${registry}/${CONTENT.app.repository}:${tag}`;
const fault = (lab: LabAddresses, name: keyof LabAddresses['faults']): string =>
  `${lab.faults[name]}/team/${name}:1.0`;

/** Pulls that must succeed, or the lab is broken and every error below is suspect. */
export const CONTROLS: PullTarget[] = [
  {
    id: 'healthy-pull',
    description: 'existing tag on the open local registry',
    image: (lab) => app(lab.registry),
    containerd: {},
    skopeo: { tlsVerify: false },
  },
  {
    id: 'healthy-pull-with-credentials',
    description: 'existing tag on the htpasswd registry, with the right pull secret',
    image: (lab) => app(lab.authRegistry),
    credentials: 'valid',
    containerd: {},
    skopeo: { tlsVerify: false },
  },
  {
    id: 'healthy-pull-over-tls',
    description: 'existing tag over HTTPS, certificate from the CA the runtime trusts for that host',
    image: (lab) => app(lab.tls),
    containerd: {},
    skopeo: { tlsVerify: true, trustLabCa: true },
  },
];

export const SCENARIOS: Scenario[] = [
  // ---- the image is not there -------------------------------------------------------------------
  {
    id: 'tag-missing',
    description: 'the repository exists, the tag does not',
    image: (lab) => app(lab.registry, 'does-not-exist'),
    expected: 'image-not-found',
    containerd: { evidence: /: not found$/ },
    skopeo: { evidence: /manifest unknown/, tlsVerify: false },
  },
  {
    id: 'repository-missing',
    description: 'no such repository (Distribution answers MANIFEST_UNKNOWN; the texts just say not found)',
    image: (lab) => `${lab.registry}/team/no-such-repository:1.0`,
    expected: 'image-not-found',
    containerd: { evidence: /: not found$/ },
    skopeo: { evidence: /manifest unknown/, tlsVerify: false },
  },
  {
    id: 'digest-missing',
    description: 'the repository exists, the pinned digest does not',
    image: (lab) => `${lab.registry}/${CONTENT.app.repository}@${lab.absentDigest}`,
    expected: 'image-not-found',
    containerd: { evidence: /: not found$/ },
    skopeo: { evidence: /manifest unknown/, tlsVerify: false },
  },
  {
    id: 'platform-mismatch',
    description: 'the tag is an index whose only image is for another architecture',
    image: (lab) => `${lab.registry}/${CONTENT.foreign.repository}:${CONTENT.foreign.tag}`,
    expected: 'platform-mismatch',
    containerd: { evidence: /no match for platform in manifest/ },
    skopeo: { evidence: /no image found in (image index|manifest list) for architecture/, tlsVerify: false },
  },

  // ---- credentials ------------------------------------------------------------------------------
  {
    id: 'auth-required-no-credentials',
    description: 'htpasswd registry, no pull secret',
    image: (lab) => app(lab.authRegistry),
    expected: 'registry-auth',
    containerd: { evidence: /401 Unauthorized/ },
    skopeo: { evidence: /unauthorized: authentication required/, tlsVerify: false },
  },
  {
    id: 'wrong-credentials',
    description: 'htpasswd registry, pull secret with a wrong password',
    image: (lab) => app(lab.authRegistry),
    credentials: 'wrong',
    expected: 'registry-auth',
    containerd: { evidence: /401 Unauthorized/ },
    skopeo: { evidence: /unauthorized: authentication required/, tlsVerify: false },
  },
  {
    id: 'forbidden',
    description: 'the registry answers 403 DENIED to everything',
    image: (lab) => fault(lab, 'forbidden'),
    expected: 'registry-auth',
    containerd: { evidence: /403 Forbidden/ },
    skopeo: { evidence: /403 \(Forbidden\)/, tlsVerify: false },
  },
  {
    id: 'hub-style-access-denied',
    description:
      "Docker Hub's answer for a missing or private repository: anonymous token, then insufficient_scope",
    image: (lab) => fault(lab, 'hub-denied'),
    expected: 'repo-not-found-or-unauthorized',
    containerd: { evidence: /repository does not exist or may require authorization/ },
    skopeo: { evidence: /requested access to the resource is denied/, tlsVerify: false },
  },

  // ---- throttling and server errors ---------------------------------------------------------------
  {
    id: 'rate-limited',
    description: 'every request gets 429 Too Many Requests with Retry-After',
    image: (lab) => fault(lab, 'rate-limited'),
    expected: 'rate-limited',
    containerd: { evidence: /429 Too Many Requests/ },
    skopeo: { evidence: /too many requests/i, tlsVerify: false, timeoutSeconds: 60 },
  },
  {
    id: 'rate-limited-manifest',
    description: "Docker Hub's pattern: the HEAD succeeds, the manifest GET gets 429 toomanyrequests",
    image: (lab) => fault(lab, 'rate-limited-manifest'),
    expected: 'rate-limited',
    containerd: { evidence: /429 Too Many Requests - Server message: toomanyrequests/ },
    skopeo: { evidence: /toomanyrequests/, tlsVerify: false, timeoutSeconds: 60 },
  },
  {
    id: 'internal-server-error',
    description: 'the registry answers 500',
    image: (lab) => fault(lab, 'internal-error'),
    expected: 'registry-unavailable',
    containerd: { evidence: /500 Internal Server Error/ },
    skopeo: { evidence: /500 \(Internal Server Error\)/, tlsVerify: false },
  },
  {
    id: 'bad-gateway',
    description: 'a proxy in front of the registry answers 502',
    image: (lab) => fault(lab, 'bad-gateway'),
    expected: 'registry-unavailable',
    containerd: { evidence: /502 Bad Gateway/ },
    skopeo: { evidence: /502 \(Bad Gateway\)/, tlsVerify: false },
  },
  {
    id: 'service-unavailable',
    description: 'the registry answers 503',
    image: (lab) => fault(lab, 'service-unavailable'),
    expected: 'registry-unavailable',
    containerd: { evidence: /503 Service Unavailable/ },
    skopeo: { evidence: /503 \(Service Unavailable\)/, tlsVerify: false },
  },

  // ---- the network --------------------------------------------------------------------------------
  {
    id: 'connection-refused',
    description: 'nothing listens on the registry port',
    image: (lab) => app(lab.closed),
    expected: 'connection-refused',
    containerd: { evidence: /connect: connection refused/ },
    skopeo: { evidence: /connect: connection refused/, tlsVerify: false },
  },
  {
    id: 'connection-reset',
    description: 'the registry resets the connection (TCP RST) when the request arrives',
    image: (lab) => fault(lab, 'connection-reset'),
    expected: 'connection-refused',
    containerd: { evidence: /connection reset by peer/ },
    skopeo: { evidence: /connection reset by peer/, tlsVerify: false },
  },
  {
    id: 'truncated-response',
    description: 'the connection closes half-way through the manifest body',
    image: (lab) => fault(lab, 'truncated-manifest'),
    expected: 'connection-refused',
    containerd: { evidence: /unexpected EOF/ },
    skopeo: { evidence: /unexpected EOF/, tlsVerify: false },
  },
  {
    id: 'dns-no-such-host',
    description: 'the registry name does not resolve (NXDOMAIN)',
    image: () => `nonexistent.invalid/${CONTENT.app.repository}:${CONTENT.app.tag}`,
    expected: 'dns-resolution',
    containerd: { evidence: /lookup nonexistent\.invalid.*no such host/ },
    skopeo: { evidence: /lookup nonexistent\.invalid.*no such host/, tlsVerify: true },
  },
  {
    id: 'registry-never-answers',
    description: 'the registry accepts the connection and never answers; the caller gives up at its deadline',
    image: (lab) => app(lab.silent),
    expected: 'network-timeout',
    containerd: { evidence: /context deadline exceeded$/, deadlineMs: 10_000 },
    // Go reports whichever timer fires first; on a loaded machine that is sometimes the read's.
    skopeo: { evidence: /context deadline exceeded|i\/o timeout/, tlsVerify: false, timeoutSeconds: 10 },
  },
  {
    id: 'tls-handshake-timeout',
    description: 'HTTPS expected; the server accepts the connection and never answers the TLS handshake',
    image: (lab) => app(lab.silentTls),
    expected: 'network-timeout',
    containerd: { evidence: /TLS handshake timeout/, deadlineMs: 30_000 },
    skopeo: { evidence: /TLS handshake timeout/, tlsVerify: true, timeoutSeconds: 30 },
  },

  // ---- TLS -------------------------------------------------------------------------------------------
  {
    id: 'tls-unknown-authority',
    description: 'HTTPS certificate issued by a CA nobody trusts',
    image: (lab) => app(lab.untrustedCa),
    expected: 'tls-error',
    containerd: { evidence: /x509: certificate signed by unknown authority/ },
    skopeo: { evidence: /x509: certificate signed by unknown authority/, tlsVerify: true },
  },
  {
    id: 'tls-hostname-mismatch',
    description: 'trusted HTTPS certificate, issued for another name',
    image: (lab) => app(lab.wrongName),
    expected: 'tls-error',
    containerd: {
      evidence: /x509: certificate is valid for other\.pullwatch\.test, not wrong-name\.pullwatch\.test/,
    },
    skopeo: {
      evidence: /x509: certificate is valid for other\.pullwatch\.test, not wrong-name\.pullwatch\.test/,
      tlsVerify: true,
      trustLabCa: true,
    },
  },
  {
    id: 'http-registry-where-https-expected',
    description: 'the registry speaks plain HTTP, the runtime speaks HTTPS to that name',
    image: (lab) => app(lab.plainHttp),
    expected: 'tls-error',
    containerd: { evidence: /server gave HTTP response to HTTPS client/ },
    skopeo: { evidence: /server gave HTTP response to HTTPS client/, tlsVerify: true },
  },

  // ---- the node ---------------------------------------------------------------------------------------
  {
    id: 'disk-full',
    description: "the image's layer does not fit on the runtime's disk",
    image: (lab) => `${lab.registry}/${CONTENT.large.repository}:${CONTENT.large.tag}`,
    expected: 'disk-pressure',
    containerd: { evidence: /no space left on device/, smallDisk: true },
    skopeo: { evidence: /no space left on device/, tlsVerify: false, smallDisk: true },
  },

  // ---- names the kubelet rejects (InvalidImageName), and what containerd says if asked anyway -----
  {
    id: 'invalid-name-uppercase',
    description: 'uppercase in the repository path, as a current kubelet reports it',
    image: (lab) => `${lab.registry}/team/MyApp:1.0`,
    stage: { kind: 'kubelet-parse', wording: 'current' },
    expected: 'invalid-image-name',
    containerd: { evidence: /must be lowercase/ },
  },
  {
    id: 'invalid-name-uppercase-legacy-kubelet',
    description: 'uppercase in the repository path, as a kubelet before 1.29 reports it',
    image: (lab) => `${lab.registry}/team/MyApp:1.0`,
    stage: { kind: 'kubelet-parse', wording: 'legacy' },
    expected: 'invalid-image-name',
    containerd: { evidence: /must be lowercase/ },
  },
  {
    id: 'invalid-name-uppercase-docker-hub',
    description: 'an uppercase short name (Docker Hub library image)',
    image: () => 'Busybox:1.36',
    stage: { kind: 'kubelet-parse', wording: 'current' },
    expected: 'invalid-image-name',
    containerd: { evidence: /must be lowercase/ },
  },
  {
    id: 'invalid-name-empty-tag',
    description: 'a tag left empty, e.g. "app:${TAG}" with TAG unset',
    image: (lab) => `${lab.registry}/${CONTENT.app.repository}:`,
    stage: { kind: 'kubelet-parse', wording: 'current' },
    expected: 'invalid-image-name',
    containerd: { evidence: /^invalid reference format$/ },
  },
  {
    id: 'invalid-name-bad-tag',
    description: 'a tag starting with "-"',
    image: (lab) => `${lab.registry}/${CONTENT.app.repository}:-rc1`,
    stage: { kind: 'kubelet-parse', wording: 'current' },
    expected: 'invalid-image-name',
    containerd: { evidence: /^invalid reference format$/ },
  },
  {
    id: 'invalid-name-reaches-containerd',
    description:
      "containerd's own answer when asked to pull an uppercase name (CRI clients other than the kubelet)",
    image: (lab) => `${lab.registry}/team/MyApp:1.0`,
    expected: 'invalid-image-name',
    containerd: { evidence: /failed to parse image reference .*invalid reference format/ },
  },
];
