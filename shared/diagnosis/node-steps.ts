/**
 * Fix steps that run on the node: the container runtime, not the pod, pulls the image, so its own
 * configuration files, systemd unit and client apply. The runtime is read from the message's
 * wording (dockerd, containerd and containers/image each wrap errors their own way).
 */
import { type FixContext, type FixStep, onNode, shellQuote as q } from './fix-context';

export type RuntimeId = 'containerd' | 'cri-o' | 'docker';

export interface NodeRuntime {
  id: RuntimeId;
  /** "containerd", "CRI-O", "dockerd" */
  name: string;
  /** The systemd unit. */
  unit: string;
  /** Whether the message's wording named the runtime, or it is the default guess. */
  inferred: boolean;
}

const RUNTIMES: Record<RuntimeId, Omit<NodeRuntime, 'inferred'>> = {
  containerd: { id: 'containerd', name: 'containerd', unit: 'containerd' },
  'cri-o': { id: 'cri-o', name: 'CRI-O', unit: 'crio' },
  docker: { id: 'docker', name: 'dockerd', unit: 'docker' },
};

/**
 * Each runtime's own wrapping, as it appears in kubelet events. The engine's one scan of the message
 * finds these with the cause phrases; the earliest is the outermost wrapper, i.e. the runtime.
 */
export const RUNTIME_WORDING: ReadonlyArray<{ text: string; runtime: RuntimeId }> = [
  { text: 'error response from daemon', runtime: 'docker' },
  { text: 'initializing source docker://', runtime: 'cri-o' },
  { text: 'pinging container registry', runtime: 'cri-o' },
  { text: 'reading manifest ', runtime: 'cri-o' },
  { text: 'source image rejected', runtime: 'cri-o' },
  { text: '/etc/containers/', runtime: 'cri-o' },
  { text: 'failed to pull and unpack image', runtime: 'containerd' },
  { text: 'failed to resolve reference', runtime: 'containerd' },
  { text: 'failed to resolve image', runtime: 'containerd' },
  { text: 'failed commit on ref', runtime: 'containerd' },
  { text: 'failed to get converter', runtime: 'containerd' },
];

/** The runtime the wording named; containerd, the common default, when it named none. */
export const runtimeNamed = (id: RuntimeId | undefined): NodeRuntime => (id ? NAMED[id] : DEFAULT_RUNTIME);

const NAMED: Record<RuntimeId, NodeRuntime> = {
  containerd: { ...RUNTIMES.containerd, inferred: true },
  'cri-o': { ...RUNTIMES['cri-o'], inferred: true },
  docker: { ...RUNTIMES.docker, inferred: true },
};
const DEFAULT_RUNTIME: NodeRuntime = { ...RUNTIMES.containerd, inferred: false };

/** The directory each runtime reads per-registry certificates (and containerd its hosts.toml) from. */
export const certsDirOf = (runtime: NodeRuntime, host: string): string =>
  runtime.id === 'docker'
    ? `/etc/docker/certs.d/${host}`
    : runtime.id === 'cri-o'
      ? `/etc/containers/certs.d/${host}`
      : `/etc/containerd/certs.d/${host}`;

const hostOf = (endpoint: string): string => endpoint.replace(/:\d+$/, '');

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';

/** The runtime service's proxy settings (HTTP(S)_PROXY / NO_PROXY live in the unit's environment). */
export const runtimeEnvironment = (ctx: FixContext): FixStep => ({
  text: `Check the firewall, security groups or network ACLs for egress to ${ctx.endpoint.authority}, and the HTTP(S)_PROXY and NO_PROXY settings of ${ctx.runtime.name} (the ${ctx.runtime.unit} unit):`,
  command: onNode(ctx, `systemctl show ${ctx.runtime.unit} --property=Environment`),
});

/** Test the exact host, port and scheme that failed, from the node. */
export const egressCheck = (ctx: FixContext): FixStep => {
  const { scheme, authority } = ctx.endpoint;
  const loopback = isLoopback(hostOf(authority));
  return {
    text: loopback
      ? `The runtime dialled ${authority} on the node itself: localhost on a node is the node, not a pod or a Service. Check that something listens there on ${ctx.say.node} (a registry or mirror must run on every node that uses it), or use an address the node can reach:`
      : `Test ${scheme}://${authority} from the node, where the pull runs (not from a pod: the pod’s network and DNS differ):`,
    command: onNode(
      ctx,
      `curl -sS -o /dev/null -w '%{http_code} %{remote_ip}\\n' --max-time 10 ${q(`${scheme}://${authority}/v2/`)}`,
    ),
  };
};

/** Pull by hand from the node, with the runtime's own client, to confirm the fix. */
export const pullOnNode = (ctx: FixContext): FixStep => ({
  text: `Confirm from the node itself, with ${ctx.runtime.name}’s client:`,
  command: onNode(ctx, `${ctx.runtime.id === 'docker' ? 'docker pull' : 'crictl pull'} ${q(ctx.image)}`),
});

/** A heredoc-free file write for `sh -c`: printf of each line. */
const writeFile = (path: string, lines: readonly string[]): string =>
  `mkdir -p ${q(path.slice(0, path.lastIndexOf('/')))} && printf '%s\\n' ${lines.map(q).join(' ')} > ${q(path)}`;

/** containerd reads certs.d only when config_path points there (the 1.x CRI and 2.x images plugins). */
const containerdConfigPath = (ctx: FixContext): FixStep => ({
  text: 'containerd reads certs.d only when the CRI registry config_path points there (1.x: [plugins."io.containerd.grpc.v1.cri".registry]; 2.x: [plugins."io.containerd.cri.v1.images".registry]); registry settings under the old mirrors/configs keys are ignored by containerd 2.x. Check it, and restart containerd after changing it:',
  command: onNode(
    ctx,
    "grep -n 'config_path\\|registry.mirrors\\|registry.configs' /etc/containerd/config.toml",
  ),
});

/** Trust a private CA for one registry, in this runtime's own place. */
export const trustCaSteps = (ctx: FixContext): FixStep[] => {
  const host = ctx.endpoint.authority;
  const dir = certsDirOf(ctx.runtime, host);
  const ca = `${dir}/ca.crt`;
  const put = {
    text: `Put the CA certificate that signed ${host}’s certificate at ${ca} on every node (in the node image or bootstrap, so new nodes get it too); ${ctx.runtime.name} reads it at the next pull:`,
    command: onNode(ctx, `ls -l ${q(dir)}/ && openssl x509 -noout -subject -enddate -in ${q(ca)}`),
  };
  if (ctx.runtime.id !== 'containerd') return [put];
  return [
    put,
    {
      text: `Point containerd at it in ${dir}/hosts.toml:`,
      command: onNode(
        ctx,
        writeFile(`${dir}/hosts.toml`, [
          `server = "https://${host}"`,
          `[host."https://${host}"]`,
          `  ca = "${ca}"`,
        ]),
      ),
    },
    containerdConfigPath(ctx),
  ];
};

/** Declare a registry that speaks plain HTTP, per runtime. */
export const plainHttpSteps = (ctx: FixContext): FixStep[] => {
  const host = ctx.endpoint.authority;
  const caveat =
    'Only as a stopgap on a trusted network: images and credentials then travel unencrypted and unauthenticated. The lasting fix is to serve the registry over TLS.';
  switch (ctx.runtime.id) {
    case 'docker':
      return [
        {
          text: `${host} answers in plain HTTP. ${caveat} To declare it plain-HTTP for dockerd, add it to "insecure-registries" in /etc/docker/daemon.json on every node, then restart docker:`,
          command: onNode(ctx, 'cat /etc/docker/daemon.json; systemctl restart docker'),
        },
      ];
    case 'cri-o':
      return [
        {
          text: `${host} answers in plain HTTP. ${caveat} To declare it plain-HTTP for CRI-O, add a [[registry]] entry with location = "${host}" and insecure = true to /etc/containers/registries.conf (or a file in registries.conf.d) on every node, then restart crio:`,
          command: onNode(
            ctx,
            "grep -n -A3 '\\[\\[registry\\]\\]' /etc/containers/registries.conf; systemctl restart crio",
          ),
        },
      ];
    default: {
      const dir = certsDirOf(ctx.runtime, host);
      return [
        {
          text: `${host} answers in plain HTTP. ${caveat} To declare it plain-HTTP for containerd, write ${dir}/hosts.toml on every node:`,
          command: onNode(
            ctx,
            writeFile(`${dir}/hosts.toml`, [
              `server = "http://${host}"`,
              `[host."http://${host}"]`,
              '  capabilities = ["pull", "resolve"]',
            ]),
          ),
        },
        containerdConfigPath(ctx),
      ];
    }
  }
};

/** Give the runtime a client certificate for a registry that requires one (mutual TLS). */
export const clientCertSteps = (ctx: FixContext): FixStep[] => {
  const host = ctx.endpoint.authority;
  const dir = certsDirOf(ctx.runtime, host);
  if (ctx.runtime.id !== 'containerd') {
    return [
      {
        text: `${host} requires a client certificate. Put it and its key in ${dir}/ as client.cert and client.key (${ctx.runtime.name} pairs a .cert with the .key of the same name) on every node:`,
        command: onNode(ctx, `ls -l ${q(dir)}/`),
      },
    ];
  }
  return [
    {
      text: `${host} requires a client certificate. Give containerd one in ${dir}/hosts.toml on every node:`,
      command: onNode(
        ctx,
        writeFile(`${dir}/hosts.toml`, [
          `server = "https://${host}"`,
          `[host."https://${host}"]`,
          `  client = [["${dir}/client.crt", "${dir}/client.key"]]`,
        ]),
      ),
    },
    containerdConfigPath(ctx),
  ];
};

// kind names its nodes <cluster>-control-plane, <cluster>-worker, <cluster>-worker2…
const KIND_NODE = /^(.+)-(?:control-plane\d*|worker\d*)$/;
// minikube names them minikube, minikube-m02… (or <profile>, <profile>-m02 for other profiles).
const MINIKUBE_NODE = /^minikube(?:-m\d+)?$/;

/** Load a locally built image into the node's image store, with the tool of the cluster. */
export const loadImageSteps = (ctx: FixContext): FixStep[] => {
  const image = q(ctx.image);
  const kind = KIND_NODE.exec(ctx.node);
  const kindStep: FixStep = {
    text: 'On kind, load it from your local Docker into the node:',
    command: `kind load docker-image ${image} --name ${q(kind?.[1] ?? '<cluster>')}${kind ? ` --nodes ${q(ctx.node)}` : ''}`,
  };
  const minikubeStep: FixStep = {
    text: 'On minikube, load it into the cluster’s runtime:',
    command: `minikube image load ${image}`,
  };
  const importStep: FixStep = {
    text: `On other clusters, copy an export of the image to ${ctx.say.node} and import it into the namespace the kubelet uses (k8s.io) for containerd; on CRI-O nodes, use podman load -i instead:`,
    command: `docker save ${image} -o image.tar && scp image.tar ${q(ctx.node)}:/tmp/image.tar && ssh ${q(ctx.node)} sudo ctr -n k8s.io images import /tmp/image.tar`,
  };
  if (kind) return [kindStep];
  if (MINIKUBE_NODE.test(ctx.node)) return [minikubeStep];
  return ctx.node === '<node>' ? [kindStep, minikubeStep, importStep] : [importStep];
};

export type TlsCase =
  'plain-http' | 'expired' | 'not-yet-valid' | 'name-mismatch' | 'client-cert' | 'unknown-ca' | 'other';

/** Which TLS failure the deciding excerpt describes: each needs a different fix. */
export const tlsCaseOf = (ctx: FixContext): TlsCase => {
  const e = ctx.evidence;
  if (e.includes('http response to https client') || e.includes('does not look like a tls handshake')) {
    return 'plain-http';
  }
  if (e.includes('expired') || e.includes('not yet valid'))
    return e.includes(' is before ') ? 'not-yet-valid' : 'expired';
  if (
    e.includes('is valid for') ||
    e.includes('not valid for any names') ||
    e.includes("doesn't contain any ip sans") ||
    e.includes('cannot validate certificate for')
  ) {
    return 'name-mismatch';
  }
  if (e.includes('certificate required') || e.includes('bad certificate')) return 'client-cert';
  if (
    e.includes('unknown authority') ||
    e.includes('self signed') ||
    e.includes('self-signed') ||
    e.includes('local issuer') ||
    e.includes('verify failed')
  ) {
    return 'unknown-ca';
  }
  return 'other';
};

export const TLS_CASE_WORDS: Record<TlsCase, string> = {
  'plain-http': 'the registry answered in plain HTTP',
  expired: 'its certificate has expired',
  'not-yet-valid': 'its certificate is not valid yet by the node’s clock',
  'name-mismatch': 'its certificate does not name that host',
  'client-cert': 'it requires a client certificate',
  'unknown-ca': 'its certificate is not signed by a CA the node trusts',
  other: 'the handshake failed',
};

const inspectCertificate = (ctx: FixContext): FixStep => {
  const authority = ctx.endpoint.authority;
  const connect = /:\d+$/.test(authority) ? authority : `${authority}:443`;
  return {
    text: `See the certificate ${authority} presents (issuer, names, dates):`,
    command: `openssl s_client -connect ${q(connect)} -servername ${q(hostOf(authority))} </dev/null 2>/dev/null | openssl x509 -noout -issuer -subject -ext subjectAltName -dates`,
  };
};

/** One template per TLS failure. */
export const tlsSteps = (ctx: FixContext): FixStep[] => {
  const host = ctx.endpoint.authority;
  switch (tlsCaseOf(ctx)) {
    case 'plain-http':
      return [
        {
          text: `Confirm that ${host} speaks plain HTTP (there is no certificate to inspect):`,
          command: onNode(
            ctx,
            `curl -sS -o /dev/null -w '%{http_code}\\n' --max-time 10 ${q(`http://${host}/v2/`)}`,
          ),
        },
        { text: `Serve the registry over TLS (a certificate for ${hostOf(host)}), the lasting fix.` },
        ...plainHttpSteps(ctx),
        pullOnNode(ctx),
      ];
    case 'expired':
      return [
        inspectCertificate(ctx),
        {
          text: `Renew the certificate on ${host} (or on the proxy or CDN that serves it). Trusting a CA cannot help: an expired certificate is refused whoever signed it.`,
        },
      ];
    case 'not-yet-valid':
      return [
        {
          text: `The node’s clock is before the certificate’s start date: fix time synchronisation on ${ctx.say.node}:`,
          command: onNode(ctx, 'date -u; timedatectl status'),
        },
        inspectCertificate(ctx),
      ];
    case 'name-mismatch':
      return [
        inspectCertificate(ctx),
        {
          text: `Reissue the certificate with ${hostOf(host)} in its subjectAltName, or pull through a name the certificate has. A certificate for an unrelated domain means a proxy or gateway intercepts the connection: exempt the registry in NO_PROXY or trust the proxy’s CA.`,
        },
      ];
    case 'client-cert':
      return [inspectCertificate(ctx), ...clientCertSteps(ctx), pullOnNode(ctx)];
    case 'unknown-ca':
      return [
        inspectCertificate(ctx),
        {
          text: 'If the issuer is a public CA, the server is probably not sending its intermediate certificate: fix the chain on the server. If the issuer is your proxy, it intercepts TLS: trust its CA as below, or exempt the registry with NO_PROXY. For a private CA:',
        },
        ...trustCaSteps(ctx),
        pullOnNode(ctx),
      ];
    default:
      return [inspectCertificate(ctx), ...trustCaSteps(ctx), pullOnNode(ctx)];
  }
};

export const tlsDocs = (ctx: FixContext): string => {
  const plain = tlsCaseOf(ctx) === 'plain-http';
  switch (ctx.runtime.id) {
    case 'docker':
      return plain
        ? 'https://docs.docker.com/reference/cli/dockerd/#insecure-registries'
        : 'https://docs.docker.com/engine/security/certificates/';
    case 'cri-o':
      return plain
        ? 'https://github.com/containers/image/blob/main/docs/containers-registries.conf.5.md'
        : 'https://github.com/containers/image/blob/main/docs/containers-certs.d.5.md';
    default:
      return 'https://github.com/containerd/containerd/blob/main/docs/hosts.md';
  }
};

export type DnsCase = 'proxy' | 'resolver' | 'missing-name';

export const dnsCaseOf = (ctx: FixContext): DnsCase => {
  const e = ctx.evidence;
  if (ctx.viaProxy || e.includes('proxyconnect')) return 'proxy';
  if (
    e.includes('server misbehaving') ||
    e.includes('temporary failure') ||
    e.includes('eai_again') ||
    (e.includes(':53: ') && (e.includes('timeout') || e.includes('refused') || e.includes('unreachable')))
  ) {
    return 'resolver';
  }
  return 'missing-name';
};

/** A resolver failure is not a missing name: each gets its own steps. */
export const dnsSteps = (ctx: FixContext): FixStep[] => {
  const name = ctx.lookupName ?? hostOf(ctx.registry.host);
  const resolve: FixStep = {
    text: `Resolve ${name} on the node: the runtime uses the node’s resolver (/etc/resolv.conf), not cluster DNS:`,
    command: onNode(ctx, `cat /etc/resolv.conf; getent hosts ${q(name)}`),
  };
  switch (dnsCaseOf(ctx)) {
    case 'proxy':
      return [
        {
          text: `The proxy’s own name, ${name}, did not resolve: check the HTTPS_PROXY that ${ctx.runtime.name} uses (the ${ctx.runtime.unit} unit’s environment):`,
          command: onNode(ctx, `systemctl show ${ctx.runtime.unit} --property=Environment`),
        },
        resolve,
      ];
    case 'resolver':
      return [
        {
          text: `The node’s DNS resolver failed (it answered with an error or not at all); the name itself may be right. Check that the nameservers in /etc/resolv.conf answer from ${ctx.say.node} (the VPC resolver, systemd-resolved, security groups and NACLs for port 53):`,
          command: onNode(
            ctx,
            `cat /etc/resolv.conf; getent hosts ${q(name)}; systemctl status systemd-resolved --no-pager 2>/dev/null | head -n 5`,
          ),
        },
      ];
    default:
      return [
        { text: `Check the hostname for typos: the node looked up ${name}.` },
        resolve,
        {
          text: 'For private registries, check that the private DNS zone is associated with the nodes’ VPC (a Route 53 private hosted zone, or a VPC endpoint’s private DNS).',
        },
      ];
  }
};

/** A blob whose content does not match its digest: a corrupt transfer, not a missing image. */
export const isCorruptDownload = (ctx: FixContext): boolean =>
  ctx.evidence.includes('commit digest') ||
  ctx.evidence.includes('commit size') ||
  ctx.evidence.includes('digest mismatch') ||
  ctx.evidence.includes('verification failed for digest') ||
  ctx.evidence.includes('digest did not match');

const EXPECTED_DIGEST = /expected (sha256:[0-9a-f]{64})/;

export const corruptDownloadSteps = (ctx: FixContext): FixStep[] => {
  const digest = EXPECTED_DIGEST.exec(ctx.evidence)?.[1];
  return [
    {
      text: 'Retry: the kubelet does so with back-off, and a one-off corrupt transfer heals by itself. If it repeats, something in the path serves bad bytes: a proxy, a mirror or pull-through cache (check its stored copy of the blob), or a flaky link.',
    },
    ctx.runtime.id === 'containerd'
      ? {
          text: `Clear containerd’s partial download${digest ? ` of ${digest}` : ''} on ${ctx.say.node}, so the next pull fetches it afresh:`,
          command: onNode(
            ctx,
            digest
              ? `ctr -n k8s.io content active; ctr -n k8s.io content rm ${digest}`
              : 'ctr -n k8s.io content active',
          ),
        }
      : {
          text: `Remove the partly pulled image on ${ctx.say.node}, so the next pull fetches it afresh:`,
          command: onNode(
            ctx,
            `${ctx.runtime.id === 'docker' ? 'docker rmi' : 'crictl rmi'} ${q(ctx.image)}`,
          ),
        },
    pullOnNode(ctx),
  ];
};
