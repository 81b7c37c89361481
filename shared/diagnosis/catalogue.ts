/**
 * The cause catalogue: for each cause, the phrases that reveal it (evidence), the explanation
 * and the fix, kept together. The README's cause table is generated from this file.
 *
 * Signal weights decide between causes when a message holds several phrases: the most
 * specific phrase wins (e.g. "TLS handshake timeout" over "tls:"), and among equals the
 * one nearest the end, because Go wraps errors outside-in and the root cause comes last.
 */
import type { CauseId } from './causes';
import {
  type FixContext,
  type FixStep,
  nsFlag,
  onNode,
  pathOf,
  repositoryOf,
  shellQuote as q,
  tagOf,
} from './fix-context';
import {
  TLS_CASE_WORDS,
  corruptDownloadSteps,
  isCorruptDownload,
  dnsCaseOf,
  dnsSteps,
  egressCheck,
  loadImageSteps,
  pullOnNode,
  runtimeEnvironment,
  tlsCaseOf,
  tlsDocs,
  tlsSteps,
} from './node-steps';
import {
  DOCS,
  accessDocs,
  grantPull,
  inspectSecret,
  createPullSecret,
  ecrUpstreamAuthStep,
  listTags,
  pullSecretSteps,
  rateLimitDocs,
  registryQuotaSteps,
} from './registry-steps';
import {
  EXISTING_TAG_PLACEHOLDER,
  isObjectName,
  nodeSelectorSteps,
  pullPolicySteps,
  setImageSteps,
} from './workload-steps';

export interface Signal {
  /** Matched case-insensitively anywhere in the message. */
  text: string;
  weight: number;
  wholeWord?: boolean;
}

export interface CauseRule {
  id: CauseId;
  /** The cause in plain words, for a header. */
  title: string;
  /** What the cause means, for the catalogue. */
  meaning: string;
  signals: readonly Signal[];
  /** One sentence a person reads first. */
  summary: (ctx: FixContext) => string;
  fix: (ctx: FixContext) => FixStep[];
  docs: (ctx: FixContext) => string;
}

const s = (weight: number, ...texts: string[]): Signal[] => texts.map((text) => ({ text, weight }));
const word = (weight: number, ...texts: string[]): Signal[] =>
  texts.map((text) => ({ text, weight, wholeWord: true }));

const describePod = (ctx: FixContext): FixStep => ({
  text: 'Read the pod’s status and events for the full error text:',
  command: `kubectl describe pod ${q(ctx.pod)} ${nsFlag(ctx)}`,
});

/** CRI-O's refusal of an unqualified name (the reference itself parses). */
const isShortName = (ctx: FixContext): boolean =>
  ctx.evidence.includes('did not resolve to an alias') ||
  ctx.evidence.includes('unqualified-search') ||
  ctx.evidence.includes('no registries configured');

const ecrNetworkHint = (ctx: FixContext): FixStep[] =>
  ctx.registry.kind === 'ecr'
    ? [
        {
          text: 'In private subnets without NAT, ECR needs the com.amazonaws.<region>.ecr.api and .ecr.dkr interface endpoints and the S3 gateway endpoint (layers are served from S3):',
          command: `aws ec2 describe-vpc-endpoints --filters Name=vpc-id,Values=<vpc-id> --query 'VpcEndpoints[].ServiceName'`,
        },
      ]
    : [];

export const CATALOGUE: readonly CauseRule[] = [
  {
    id: 'never-pull',
    title: 'Image not on the node and pull policy is Never',
    meaning:
      'imagePullPolicy is Never and the image is not in the node’s local store, so the kubelet will not pull it.',
    signals: [...s(100, 'pull policy of never', 'errimageneverpull', 'imagepullpolicy: never')],
    summary: (ctx) =>
      `${ctx.say.image} is not present on ${ctx.say.node} and the pull policy Never forbids pulling it.`,
    fix: (ctx) => [
      // KEP-2535 (kubelet image_manager.go, imageNotPresentOnNeverPolicyError): an image on the node that the
      // pod's credentials may not use is reported exactly like a missing one, so as not to reveal it.
      {
        text: `See whether the image is in the runtime’s store on ${ctx.say.node}. If it is listed, the kubelet refused it on purpose: from Kubernetes 1.35 (KEP-2535, beta and on by default) an image the kubelet once pulled with credentials is re-checked against this pod’s own, and one the pod may not use is reported with this very message, so as not to reveal that it is there. Give the pod (or its service account) a pull secret that can read the image, or exempt the image in the kubelet configuration: imagePullCredentialsVerificationPolicy: NeverVerifyAllowlistedImages with the repository in preloadedImagesVerificationAllowlist.`,
        command: onNode(ctx, `crictl images | grep -F ${q(repositoryOf(ctx))}`),
      },
      // A registry image may simply be pulled; a local-only one must be loaded onto the node.
      ...(ctx.ref?.registryExplicit
        ? [...pullPolicySteps(ctx, 'IfNotPresent'), ...loadImageSteps(ctx)]
        : [
            ...loadImageSteps(ctx),
            {
              text: `Do not switch a local-only image to IfNotPresent: the kubelet would then pull ${ctx.ref ? ctx.ref.canonical : 'it'} from Docker Hub instead. If it is meant to come from a registry, name the registry in the image and push it there.`,
            },
          ]),
    ],
    docs: () => DOCS.pullPolicy,
  },
  {
    id: 'invalid-image-name',
    title: 'Invalid image reference',
    meaning: 'The image string does not follow the reference grammar, so nothing is pulled at all.',
    signals: [
      ...s(
        95,
        'invalid reference format',
        "couldn't parse image",
        'could not parse image',
        'failed to apply default image tag',
        'invalidimagename',
        'must be lowercase',
        'invalid image name',
        'invalid repository name',
        'invalid tag format',
        'invalid checksum digest',
        'failed to parse image',
        'invalid reference',
        'must have at least one component',
        'repository name must be canonical',
      ),
      // containers/image (CRI-O) refuses an unqualified name when no search registry is configured.
      ...s(96, 'did not resolve to an alias', 'no unqualified-search registries', 'no registries configured'),
    ],
    summary: (ctx) =>
      isShortName(ctx)
        ? `The short image name ${ctx.say.image} names no registry, and the node’s runtime has none to search.`
        : ctx.refProblem
          ? `The image reference ${ctx.say.image} is invalid: ${ctx.refProblem.message}.`
          : `The image reference ${ctx.say.image} is not a valid image name.`,
    fix: (ctx) =>
      isShortName(ctx)
        ? [
            ...setImageSteps(ctx, ctx.ref?.canonical ?? '<registry>/<repository>:<tag>'),
            {
              text: 'Or let CRI-O resolve short names: set unqualified-search-registries in /etc/containers/registries.conf on every node, then restart crio (short names are ambiguous across registries: a fully qualified name is safer):',
              command: onNode(
                ctx,
                "grep -n 'unqualified-search-registries' /etc/containers/registries.conf /etc/containers/registries.conf.d/* 2>/dev/null",
              ),
            },
          ]
        : [
            {
              text: ctx.suggestedImage
                ? `Fix the reference: ${ctx.refProblem?.message ?? 'it does not parse'}. It was most likely meant as ${ctx.suggestedImage}.`
                : ctx.refProblem
                  ? `Fix the reference: ${ctx.refProblem.message}. The grammar is [registry[:port]/]path[:tag][@digest], with a lowercase path.`
                  : 'Fix the reference. The grammar is [registry[:port]/]path[:tag][@digest]: the path is lowercase, the tag at most 128 of [A-Za-z0-9_.-], the digest algorithm:hex.',
            },
            {
              text: 'Look for templating left unrendered (empty variables, "${…}", spaces or quotes) in the manifest:',
              command: `kubectl get ${ctx.owner ? ctx.workload : `pod/${q(ctx.pod)}`} ${nsFlag(ctx)} -o jsonpath='{..image}'`,
            },
            ...setImageSteps(ctx, ctx.suggestedImage ?? '<registry>/<repository>:<tag>'),
          ],
    docs: () => DOCS.referenceGrammar,
  },
  {
    id: 'policy-rejected',
    title: 'Image rejected by signature or policy',
    meaning: 'A signature or image policy on the node or in the cluster refused the image.',
    signals: [
      ...s(
        90,
        'source image rejected',
        'signaturevalidationfailed',
        'signature validation failed',
        'a signature was required',
        'rejected by policy',
        'no signature exists',
        'not signed',
        'signature verification failed',
        'failed to verify signature',
        'no matching signatures',
        'image policy',
        'policy denied',
        'denied by policy',
        'insecureacceptanything',
        'image verification failed',
        'failed to verify image',
        'signed digest',
        'failed verification',
        'image verifier',
        'policy.json: no such file',
      ),
      ...word(80, 'unsigned'),
      ...word(45, 'signature', 'signatures', 'cosign', 'notation'),
    ],
    summary: (ctx) => `A signature or image policy rejected ${ctx.say.image}.`,
    fix: (ctx) =>
      ctx.evidence.includes('policy.json: no such file')
        ? [
            {
              text: 'The node has no /etc/containers/policy.json, which containers/image (CRI-O, podman, skopeo) needs before any pull. Restore the distribution’s default (from the containers-common package) on every node; the minimal default below accepts any image, so put your own signature rules back if you had them:',
              command: onNode(
                ctx,
                `test -f /etc/containers/policy.json || printf '%s\\n' '{"default":[{"type":"insecureAcceptAnything"}]}' > /etc/containers/policy.json`,
              ),
            },
          ]
        : ctx.evidence.includes('verifier')
          ? [
              {
                text: 'containerd’s image verifier plugin (bindir: the executables in its bin_dir) refused the image. Read what the verifier said in containerd’s log, then sign or allow the image in the verifier’s own rules:',
                command: onNode(
                  ctx,
                  'journalctl -u containerd --since -1h --no-pager | grep -i verif | tail -n 20',
                ),
              },
            ]
          : [
              {
                text: 'Check whether the image carries a valid signature for the key or identity your policy requires:',
                command: `cosign verify ${q(ctx.image)} --key <public-key>`,
              },
              {
                text: 'Read the policy that applies: CRI-O/containers policy.json on the node, or the cluster’s admission policy (e.g. sigstore ClusterImagePolicy):',
                command: onNode(ctx, 'cat /etc/containers/policy.json'),
              },
              { text: 'Sign the image in your pipeline, or deploy a signed digest instead of a tag.' },
            ],
    docs: () => DOCS.sigstorePolicy,
  },
  {
    id: 'unsupported-manifest',
    title: 'Image in a manifest format the runtime refuses',
    meaning:
      'The image is published in the deprecated Docker schema 1 format, which containerd 2.x and current Docker refuse to pull.',
    signals: [
      ...s(
        95,
        'pulling schema 1 images have been deprecated',
        'schema 1 support is disabled',
        'schema 1 support has been removed',
        'conversion from schema 1',
      ),
      ...s(90, 'manifest.v1+prettyjws', 'schema 1 images'),
    ],
    summary: (ctx) =>
      `${ctx.say.image} is published in the deprecated Docker schema 1 format, which the node’s runtime no longer pulls.`,
    fix: (ctx) => [
      {
        text: 'Confirm the format the registry serves (schemaVersion 1 is the refused one):',
        command: `skopeo inspect --raw docker://${q(ctx.image)} | jq '{schemaVersion, mediaType}'`,
      },
      {
        text: `Use a newer tag of ${repositoryOf(ctx)} published as Docker schema 2 or OCI (images pushed by any Docker since 1.10 are), or ask its publisher for one.`,
      },
      {
        text: 'Or convert it into a registry you control (a copy under your own name, never pushed over the publisher’s image), then point the workload at the copy:',
        command: `skopeo copy --format v2s2 docker://${q(ctx.image)} docker://<your-registry>/<repository>:<tag>`,
      },
      {
        text: 'Do not rely on CONTAINERD_ENABLE_DEPRECATED_PULL_SCHEMA_1_IMAGE=1: it works only in containerd 2.0 and is gone in 2.1 (EKS AL2023 nodes run 2.1).',
      },
    ],
    docs: () => 'https://docs.docker.com/go/deprecated-image-specs/',
  },
  {
    id: 'disk-pressure',
    title: 'Node out of disk space for images',
    meaning: 'The node has no room left to download or unpack the image layers.',
    signals: [
      ...s(
        90,
        'no space left on device',
        'disk quota exceeded',
        'diskpressure',
        'disk pressure',
        'failed to garbage collect',
        'not enough space',
        'insufficient disk',
        'enospc',
        'low on resource: ephemeral-storage',
      ),
    ],
    summary: (ctx) => `${ctx.say.node} ran out of disk space while pulling ${ctx.say.image}.`,
    fix: (ctx) => [
      {
        text: 'Confirm the node’s DiskPressure condition and how full the runtime’s disk is:',
        command: `kubectl describe node ${q(ctx.node)} | grep -A2 -i pressure; ${onNode(ctx, 'df -h /var/lib/containerd /var/lib/containers /var/lib/docker 2>/dev/null')}`,
      },
      {
        text: 'Free space by removing unused images:',
        command: onNode(ctx, ctx.runtime.id === 'docker' ? 'docker image prune -a -f' : 'crictl rmi --prune'),
      },
      {
        text: 'Then give nodes bigger root volumes, or lower the kubelet’s imageGCHighThresholdPercent so images are collected earlier.',
      },
    ],
    docs: () => DOCS.nodePressure,
  },
  {
    id: 'platform-mismatch',
    title: 'No image for this node’s platform',
    meaning: 'The image exists, but not for the operating system or CPU architecture of the node.',
    signals: [
      ...s(
        88,
        'no match for platform',
        'does not match the specified platform',
        'no matching manifest',
        'cannot be used on this platform',
        'platform mismatch',
        'not supported on this platform',
        'does not provide the specified platform',
        'choosing image instance',
        'no image found in manifest list for architecture',
        'no image found in image index for architecture',
        'does not match the host operating system',
      ),
    ],
    summary: (ctx) => `${ctx.say.image} has no variant for the OS/architecture of ${ctx.say.node}.`,
    fix: (ctx) => [
      {
        text: 'See which platforms the image provides:',
        command: `skopeo inspect --raw docker://${q(ctx.image)} | jq '.manifests[]?.platform'`,
      },
      {
        text: 'Compare with the node’s platform:',
        command: `kubectl get node ${q(ctx.node)} -o jsonpath='{.status.nodeInfo.operatingSystem}/{.status.nodeInfo.architecture}'`,
      },
      {
        text: 'Choose a tag (or an index digest) of the image that has a build for the node’s platform; the publisher’s other tags or an -arm64/-amd64 variant often do.',
      },
      ...nodeSelectorSteps(ctx),
      {
        text: 'If the image is your own, have its pipeline build every platform your nodes run (docker buildx build --platform linux/amd64,linux/arm64). Never rebuild and push over another publisher’s image.',
      },
    ],
    docs: () => DOCS.multiPlatform,
  },
  {
    id: 'rate-limited',
    title: 'Registry rate limit reached',
    meaning: 'The registry (or the kubelet’s own pull QPS limit) is throttling pulls.',
    signals: [
      ...s(
        85,
        'toomanyrequests',
        'too many requests',
        'rate limit',
        'ratelimit',
        'rate exceeded',
        'rate-limit',
        'throttl',
        'qps exceeded',
        'request limit exceeded',
        'quota exceeded',
      ),
      ...word(80, '429'),
    ],
    summary: (ctx) =>
      ctx.registry.kind === 'dockerhub'
        ? `Docker Hub refused to serve ${ctx.say.image}: the pull rate limit for this node’s address or account is used up.`
        : `${ctx.say.registry} is rate-limiting pulls of ${ctx.say.image}.`,
    fix: (ctx) =>
      ctx.registry.kind === 'dockerhub'
        ? [
            {
              text: 'Check the remaining anonymous quota from the node’s egress address (Docker’s documented check):',
              command: `TOKEN=$(curl -s "https://auth.docker.io/token?service=registry.docker.io&scope=repository:ratelimitpreview/test:pull" | jq -r .token) && curl -sI -H "Authorization: Bearer $TOKEN" https://registry-1.docker.io/v2/ratelimitpreview/test/manifests/latest | grep -i ratelimit`,
            },
            ...pullSecretSteps(
              ctx,
              'Authenticate pulls (authenticated accounts get a higher limit): create a pull secret',
            ),
            {
              text: `For the whole fleet, pull through a cache instead: an ECR pull-through cache rule for Docker Hub, whose upstream credentials must be a Secrets Manager secret named ecr-pullthroughcache/… (username and access token). The image then becomes <account-id>.dkr.ecr.<region>.amazonaws.com/docker-hub/${pathOf(ctx)}${ctx.ref?.tag ? `:${ctx.ref.tag}` : ''} (official images keep their library/ segment); a containerd mirror in hosts.toml works too:`,
              command:
                'aws ecr create-pull-through-cache-rule --ecr-repository-prefix docker-hub --upstream-registry-url registry-1.docker.io --credential-arn arn:aws:secretsmanager:<region>:<account-id>:secret:ecr-pullthroughcache/docker-hub',
            },
          ]
        : [
            ...registryQuotaSteps(ctx),
            {
              text: `Spread or slow down pulls: stagger rollouts, use imagePullPolicy IfNotPresent with immutable tags, and check the kubelet's registryPullQPS/registryBurst if the text mentions QPS.`,
            },
            {
              text: `Mirror or cache ${repositoryOf(ctx)} close to the cluster (a pull-through cache or a containerd mirror), or ask ${ctx.registry.displayName} for a higher quota.`,
            },
            pullOnNode(ctx),
          ],
    docs: rateLimitDocs,
  },
  {
    id: 'repo-not-found-or-unauthorized',
    title: 'Repository missing or access denied',
    meaning:
      'The registry answers the same way for a repository that does not exist and one you may not read (Docker Hub’s "may require authorization").',
    signals: [
      ...s(
        80,
        'repository does not exist or may require',
        'does not exist or may require',
        'pull access denied',
        "may require 'docker login'",
        'insufficient_scope',
        'requested access to the resource is denied',
        'no pull access',
        'exists and you have permission',
      ),
      // The old kubelet's hint: it explains a bare "not found", but an explicit 401/403 or network error wins.
      ...s(52, 'there are no credentials on this request'),
    ],
    summary: (ctx) =>
      `${ctx.say.registry} says ${ctx.say.repository} does not exist or may not be read with the credentials the node used.`,
    fix: (ctx) => [
      {
        text: `Check the repository name for typos (organisation, path, and the implicit docker.io/library/ prefix): the node asked for ${repositoryOf(ctx)}.`,
      },
      {
        text: 'Try the pull with the credentials you expect the node to use:',
        command: `skopeo inspect --creds <user>:<token> docker://${q(ctx.image)}`,
      },
      ...(ctx.pullSecrets.length > 0 ? [inspectSecret(ctx)] : pullSecretSteps(ctx)),
    ],
    docs: accessDocs,
  },
  {
    id: 'pull-secret-missing',
    title: 'Image pull secret missing',
    meaning:
      'The pod names an imagePullSecret that does not exist in its namespace, so the pull goes without credentials.',
    signals: [
      ...s(
        72,
        'unable to retrieve some image pull secrets',
        'failedtoretrieveimagepullsecret',
        'attempting to pull the image may not succeed',
        'unable to retrieve pull secret',
        'image pull may not succeed',
        'secrets "',
        'secret "',
      ),
    ],
    summary: (ctx) =>
      `The pull secret ${ctx.secret} that the pod names does not exist in ${ctx.say.namespace}, so ${ctx.say.image} is pulled without credentials.`,
    fix: (ctx) =>
      ctx.secret !== '<secret>' && !isObjectName(ctx.secret)
        ? [
            {
              text: `The pod names the pull secret "${ctx.secret}", which is not a valid secret name (templating left unrendered?): fix imagePullSecrets in ${ctx.owner ? `${ctx.owner.kind} ${ctx.owner.name}’s` : 'the workload’s'} manifest and re-apply it. It now says:`,
              command: `kubectl get ${ctx.owner ? ctx.workload : `pod/${q(ctx.pod)}`} ${nsFlag(ctx)} -o jsonpath='{..imagePullSecrets}'`,
            },
          ]
        : [
            {
              text: `Confirm that the secret ${ctx.secret} is missing from ${ctx.say.namespace} (secrets are not shared across namespaces):`,
              command: `kubectl get secret ${q(ctx.secret)} ${nsFlag(ctx)}`,
            },
            createPullSecret(
              ctx,
              `Create it under exactly that name, since the pod already references it, with credentials that can read ${repositoryOf(ctx)}:`,
            ),
            {
              text: 'Or, if the secret exists in another namespace, copy it (the kubelet reads the secret at its next pull attempt; no restart is needed):',
              command: `kubectl get secret ${q(ctx.secret)} -n <source-namespace> -o json | jq '{apiVersion, kind, type, data, metadata: {name: .metadata.name}}' | kubectl apply ${nsFlag(ctx)} -f -`,
            },
          ],
    docs: () => DOCS.pullSecret,
  },
  {
    id: 'tls-error',
    title: 'TLS failure talking to the registry',
    meaning:
      'The TLS connection to the registry failed: an untrusted, expired or mismatched certificate, or HTTP where HTTPS was expected.',
    signals: [
      ...s(
        75,
        'x509',
        'certificate signed by unknown authority',
        'certificate is valid for',
        'certificate has expired',
        'certificate is not valid',
        'http response to https client',
        'tls: failed to verify',
        'does not look like a tls handshake',
        'tls: handshake failure',
        'unknown authority',
        'self signed certificate',
        'self-signed certificate',
        'certificate verify failed',
        'tls: ',
        'ssl routines',
        'bad certificate',
        'certificate required',
      ),
      ...s(55, 'certificate'),
    ],
    summary: (ctx) =>
      `The TLS connection to ${ctx.endpoint.authority === '<registry>' ? ctx.say.host : ctx.endpoint.authority} failed (${TLS_CASE_WORDS[tlsCaseOf(ctx)]}), so ${ctx.say.image} could not be pulled.`,
    fix: tlsSteps,
    docs: tlsDocs,
  },
  {
    id: 'dns-resolution',
    title: 'Registry hostname does not resolve',
    meaning: 'The node could not resolve the registry’s hostname.',
    signals: [
      ...s(
        76,
        'no such host',
        'server misbehaving',
        'temporary failure in name resolution',
        'name or service not known',
        'could not resolve host',
        'enotfound',
        'eai_again',
        'nodename nor servname',
        'name resolution',
        'no address associated with hostname',
        'hostname resolution',
        'getaddrinfow',
      ),
      ...s(74, 'dial tcp: lookup', ':53: '),
    ],
    summary: (ctx) =>
      dnsCaseOf(ctx) === 'missing-name'
        ? `${ctx.say.node} could not resolve ${ctx.lookupName ?? ctx.say.host}.`
        : dnsCaseOf(ctx) === 'proxy'
          ? `${ctx.say.node} could not resolve the proxy ${ctx.lookupName ?? ''} it uses to reach ${ctx.say.host}.`.replace(
              '  ',
              ' ',
            )
          : `The DNS resolver of ${ctx.say.node} failed while looking up ${ctx.lookupName ?? ctx.say.host}.`,
    fix: dnsSteps,
    docs: () => DOCS.dnsDebugging,
  },
  {
    id: 'connection-refused',
    title: 'Connection to the registry refused or dropped',
    meaning:
      'The TCP connection to the registry was refused, reset or cut short (no route, unexpected EOF): nothing listens there, or a firewall or proxy dropped it.',
    signals: [
      ...s(
        70,
        'connection refused',
        'connection reset',
        'reset by peer',
        'no route to host',
        'network is unreachable',
        'host is unreachable',
        'unexpected eof',
        'broken pipe',
        'connection closed',
        'server closed',
        'goaway',
        'forcibly closed',
        'econnrefused',
        'econnreset',
        'ehostunreach',
        'enetunreach',
        'connection aborted',
        'connection lost',
        'short read',
        'cannot assign requested address',
        'use of closed network connection',
        'actively refused',
      ),
      ...word(55, 'eof'),
    ],
    summary: (ctx) =>
      `The connection to ${ctx.say.host} was refused or dropped while pulling ${ctx.say.image}.`,
    fix: (ctx) => [egressCheck(ctx), runtimeEnvironment(ctx), ...ecrNetworkHint(ctx)],
    docs: (ctx) => (ctx.registry.kind === 'ecr' ? DOCS.ecrVpcEndpoints : DOCS.containerdHosts),
  },
  {
    id: 'registry-unavailable',
    title: 'Registry error (5xx)',
    meaning:
      'The registry answered with a server error (5xx), or served content that does not match its digest: the fault is on the registry’s side or a proxy or mirror in front of it.',
    signals: [
      ...s(
        72,
        '500 internal server error',
        '502 bad gateway',
        '503 service unavailable',
        '504 gateway time',
        'gateway timeout',
        'gateway time-out',
      ),
      ...s(68, 'internal server error', 'bad gateway', 'service unavailable', 'registryunavailable'),
      // docker's API says "(HTTP code 500) server error" around any registry refusal, so it stays weak.
      ...s(50, 'server error'),
      ...word(55, '500', '502', '503', '504'),
      // containerd and docker verify every blob against its digest; a mismatch is a corrupt transfer.
      ...s(
        80,
        'unexpected commit digest',
        'unexpected commit size',
        'manifest verification failed for digest',
        'digest did not match',
      ),
      ...s(74, 'digest mismatch'),
    ],
    summary: (ctx) =>
      isCorruptDownload(ctx)
        ? `A layer of ${ctx.say.image} arrived corrupted (its content does not match its digest).`
        : `${ctx.say.registry} answered with a server error while serving ${ctx.say.image}.`,
    fix: (ctx) =>
      isCorruptDownload(ctx)
        ? corruptDownloadSteps(ctx)
        : [
            {
              text: `Check ${ctx.registry.displayName}'s status page or your registry's health; the kubelet retries with back-off, so a brief outage heals by itself.`,
            },
            egressCheck(ctx),
            {
              text: 'If a proxy or pull-through cache sits in front of the registry, check its logs: it may be the one failing.',
            },
          ],
    docs: (ctx) => (isCorruptDownload(ctx) ? DOCS.containerdHosts : DOCS.debugPods),
  },
  {
    id: 'network-timeout',
    title: 'Timed out reaching the registry',
    meaning: 'The connection or the request to the registry timed out.',
    signals: [
      ...s(78, 'tls handshake timeout'),
      ...s(
        65,
        'i/o timeout',
        'deadline exceeded',
        'timeout exceeded',
        'awaiting headers',
        'timed out',
        'request canceled',
        'no progress',
        'etimedout',
        'timeout awaiting',
        'did not properly respond',
      ),
      ...s(40, 'code = deadlineexceeded'),
      ...s(45, 'timeout', 'context canceled'),
    ],
    summary: (ctx) => `Requests to ${ctx.say.host} timed out while pulling ${ctx.say.image}.`,
    fix: (ctx) => [
      ...(ctx.evidence.includes('no progress')
        ? [
            {
              text: `The transfer started but stalled: containerd cancels a pull that moves no bytes for image_pull_progress_timeout (5m by default). Look for a slow or stalled link, proxy or mirror; for very large images on slow links, raise image_pull_progress_timeout in the CRI images config and restart containerd.`,
            },
          ]
        : []),
      egressCheck(ctx),
      runtimeEnvironment(ctx),
      ...ecrNetworkHint(ctx),
      {
        text: 'Check the route out (a NAT gateway or proxy for public registries). For very large images on slow links, containerd’s image_pull_progress_timeout or the kubelet’s runtime request timeout may need raising.',
      },
    ],
    docs: (ctx) => (ctx.registry.kind === 'ecr' ? DOCS.ecrVpcEndpoints : DOCS.debugPods),
  },
  {
    id: 'registry-auth',
    title: 'Registry refused the credentials',
    meaning:
      'The registry requires credentials the node did not have, or refused those it sent (401/403, expired token, missing permission).',
    signals: [
      // Specific refusals outrank docker's generic "pull access denied … may require 'docker login'" wrapper.
      ...s(
        85,
        'token has expired',
        'no basic auth credentials',
        // ECR's pull-through cache, refused by the upstream registry (its rule's credentials, or no such upstream path).
        'authentication to the upstream registry failed',
        'invalid username/password',
        'incorrect username or password',
        'ecr:batchgetimage',
        'ecr:getdownloadurlforlayer',
        'ecr:getauthorizationtoken',
        'artifactregistry.repositories.downloadartifacts',
        'permission_denied',
      ),
      ...s(
        62,
        '401 unauthorized',
        '403 forbidden',
        'authentication required',
        'not authorized',
        'access denied',
        'unauthorized',
        'forbidden',
        'unauthenticated',
        'does not match bearer token',
        'authentication failed',
        'authorization failed',
        'bad credentials',
        'invalid credentials',
        'login required',
        'authentication is required',
        'authorization is required',
        'credential provider',
        'credentialprovider',
        'credential from provider',
        'does not have permission',
        'token exchange failed',
        'is not allowed access',
        'unable to parse json key',
        'invalid_token',
      ),
      ...word(55, '401', '403', 'denied', 'permission denied'),
      ...s(
        40,
        'code = permissiondenied',
        'code = unauthenticated',
        'failed to authorize',
        'failed to fetch oauth token',
        'failed to fetch anonymous token',
      ),
    ],
    summary: (ctx) =>
      `${ctx.say.registry} refused access to ${ctx.say.repository}: the node has no valid credentials or permission for it.`,
    fix: (ctx) => [
      ...(ctx.evidence.includes('upstream registry') ? [ecrUpstreamAuthStep(ctx)] : []),
      ...(ctx.pullSecrets.length > 0 ? [inspectSecret(ctx)] : []),
      ...grantPull(ctx),
      {
        text: 'If the image is already on the node, this refusal is still real: from Kubernetes 1.33 (KEP-2535, on by default from 1.35) the kubelet re-checks a cached image against this pod’s own credentials before it may use it.',
      },
      pullOnNode(ctx),
    ],
    docs: accessDocs,
  },
  {
    id: 'image-not-found',
    title: 'Image tag or digest not found',
    meaning: 'The registry has no manifest for this tag or digest (or no such repository).',
    signals: [
      // A registry says "manifest unknown" only after accepting the credentials, so it outranks "unauthorized".
      ...s(64, 'manifest unknown', 'manifest_unknown'),
      ...s(
        60,
        'name unknown',
        'name_unknown',
        'not known to registry',
        'no such image',
        'blob unknown',
        'image not found',
        'tag does not exist',
        'unknown blob',
        'image not known',
      ),
      ...s(
        70,
        'does not exist in the registry',
        'does not exist within the repository',
        'repositorynotfoundexception',
        'imagenotfoundexception',
      ),
      ...s(50, 'not found'),
      ...s(40, 'code = notfound'),
      ...word(45, '404'),
    ],
    summary: (ctx) =>
      ctx.ref?.digest
        ? `The digest ${ctx.ref.digest} of ${ctx.say.repository} does not exist in ${ctx.say.registryName}.`
        : `The tag "${tagOf(ctx)}" of ${ctx.say.repository} does not exist in ${ctx.say.registryName} (or the repository itself is missing).`,
    fix: (ctx) => [
      listTags(ctx),
      {
        text: 'Check whether the CI pipeline that builds this image pushed the tag (a failed or pending build is the usual reason).',
      },
      ...setImageSteps(ctx, `${repositoryOf(ctx)}:${EXISTING_TAG_PLACEHOLDER}`),
    ],
    docs: () => DOCS.images,
  },
  {
    id: 'unknown',
    title: 'Image pull failing, cause not stated',
    meaning:
      'The text does not say why (e.g. a bare "Back-off pulling image"); the registry’s answer is in an earlier event.',
    signals: [],
    summary: (ctx) =>
      `The kubelet cannot pull ${ctx.say.image}, but this message does not say why; the registry's answer is in the pod's earlier events.`,
    fix: (ctx) => [
      { text: 'See the pod’s state:', command: `kubectl get pod ${q(ctx.pod)} ${nsFlag(ctx)} -o wide` },
      describePod(ctx),
      {
        text: 'List the warning events for the pod, newest last; the "Failed to pull image" one carries the registry’s answer:',
        command: `kubectl get events ${nsFlag(ctx)} --field-selector involvedObject.name=${q(ctx.pod)},type=Warning --sort-by=.lastTimestamp`,
      },
      pullOnNode(ctx),
    ],
    docs: () => DOCS.debugPods,
  },
];

const BY_ID = new Map(CATALOGUE.map((rule) => [rule.id, rule]));

export const ruleFor = (cause: CauseId): CauseRule => {
  const rule = BY_ID.get(cause);
  if (!rule) throw new Error(`no catalogue entry for cause ${cause}`);
  return rule;
};
