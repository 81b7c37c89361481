/**
 * The fix templates per sub-case: what the message says decides the runtime, the TLS/DNS/network
 * sub-case and the values filled in. Messages are the runtimes' own wording (see the corpora).
 */
import { type DiagnosisInput, diagnose } from '#shared/diagnosis/diagnose';

const commandsOf = (input: DiagnosisInput): string =>
  diagnose(input)
    .fix.steps.map((step) => step.command ?? '')
    .join('\n');
const textOf = (input: DiagnosisInput): string => {
  const verdict = diagnose(input);
  return [verdict.summary, ...verdict.fix.steps.map((step) => step.text)].join('\n');
};

const unknownCa = (wrapper: string) =>
  `${wrapper}: Get "https://registry.corp.example:5443/v2/": x509: certificate signed by unknown authority`;

describe('node steps follow the runtime named by the wording', () => {
  it.each([
    ['Error response from daemon', '/etc/docker/certs.d/registry.corp.example:5443/ca.crt', 'docker pull'],
    [
      'initializing source docker://registry.corp.example:5443/app:1: pinging container registry registry.corp.example:5443',
      '/etc/containers/certs.d/registry.corp.example:5443/ca.crt',
      'crictl pull',
    ],
    [
      'failed to pull and unpack image "registry.corp.example:5443/app:1": failed to resolve reference "registry.corp.example:5443/app:1": failed to do request: Head',
      '/etc/containerd/certs.d/registry.corp.example:5443/hosts.toml',
      'crictl pull',
    ],
  ])('%s', (wrapper, path, client) => {
    const commands = commandsOf({ message: unknownCa(wrapper), image: 'registry.corp.example:5443/app:1' });
    expect(commands).toContain(path);
    expect(commands).toContain(client);
    const others = ['/etc/docker/', '/etc/containers/', '/etc/containerd/'].filter(
      (dir) => !path.startsWith(dir),
    );
    for (const other of others) expect(commands).not.toContain(other);
  });

  it('names containerd’s config_path, which certs.d needs, and the old CRI keys 2.x ignores', () => {
    const text = textOf({
      message: unknownCa('failed to pull and unpack image "x/y:1": failed to resolve reference "x/y:1"'),
    });
    expect(text).toContain('config_path');
    expect(text).toContain('ignored by containerd 2.x');
  });

  it('checks the proxy settings of the runtime’s own systemd unit', () => {
    const message =
      'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp 10.0.0.1:443: connect: connection refused';
    expect(commandsOf({ message })).toContain('systemctl show docker --property=Environment');
  });
});

describe('one template per TLS sub-case', () => {
  const tls = (tail: string) =>
    diagnose({ message: `failed to do request: Head "https://reg.example.com/v2/a/manifests/1": ${tail}` });

  it('an expired certificate is renewed on the server, not trusted', () => {
    const verdict = tls(
      'tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-08-13T05:50:29Z is after 2026-08-13T04:59:29Z',
    );
    expect(verdict.summary).toContain('its certificate has expired');
    const all = verdict.fix.steps.map((step) => `${step.text} ${step.command ?? ''}`).join('\n');
    expect(all).toContain('Renew the certificate on reg.example.com');
    expect(all).not.toContain('ca.crt');
  });

  it('a certificate not valid yet points at the node’s clock', () => {
    const verdict = tls(
      'x509: certificate has expired or is not yet valid: current time 2020-01-01T00:00:00Z is before 2026-01-01T00:00:00Z',
    );
    expect(verdict.fix.steps[0]!.command).toContain('timedatectl');
  });

  it('a name mismatch is reissued or intercepted', () => {
    const verdict = tls('x509: certificate is valid for *.corp.example, not reg.example.com');
    expect(verdict.fix.steps.map((step) => step.text).join('\n')).toContain('subjectAltName');
  });

  it('a required client certificate gets a client pair in hosts.toml', () => {
    const commands = tls('remote error: tls: certificate required')
      .fix.steps.map((step) => step.command ?? '')
      .join('\n');
    expect(commands).toContain('client = [[');
  });

  it('a plain-HTTP registry has no certificate to inspect', () => {
    const verdict = tls('http: server gave HTTP response to HTTPS client');
    const commands = verdict.fix.steps.map((step) => step.command ?? '').join('\n');
    expect(commands).not.toContain('openssl');
    expect(commands).toContain('http://reg.example.com/v2/');
    expect(verdict.fix.steps.map((step) => step.text).join('\n')).toMatch(/unencrypted/);
  });
});

describe('DNS and network sub-cases', () => {
  it('a misbehaving resolver is not a missing name', () => {
    const message = 'dial tcp: lookup index.docker.io on 192.168.65.1:53: server misbehaving';
    expect(diagnose({ message }).summary).toBe(
      'The DNS resolver of the node failed while looking up index.docker.io.',
    );
    expect(textOf({ message })).not.toContain('typos');
  });

  it('a proxy whose own name does not resolve is the proxy’s problem', () => {
    const message =
      'Get "https://registry-1.docker.io/v2/": proxyconnect tcp: dial tcp: lookup proxy.corp.local: no such host';
    const verdict = diagnose({ message });
    expect(verdict.cause).toBe('dns-resolution');
    expect(verdict.summary).toContain('the proxy proxy.corp.local');
    expect(commandsOf({ message })).toContain('getent hosts proxy.corp.local');
  });

  it('tests the host, port and scheme that failed: a redirect to blob storage, not the registry', () => {
    const message =
      'failed to copy: httpReadSeeker: failed open: failed to do request: Get "https://prod-registry-k8s-io-eu-west-1.s3.dualstack.eu-west-1.amazonaws.com/containers/images/sha256:abc": dial tcp 52.218.1.1:443: i/o timeout';
    const commands = commandsOf({ message, image: 'registry.k8s.io/pause:3.9' });
    expect(commands).toContain(
      'https://prod-registry-k8s-io-eu-west-1.s3.dualstack.eu-west-1.amazonaws.com/v2/',
    );
  });

  it('a stalled transfer (image_pull_progress_timeout) is a timeout with its own advice', () => {
    const message =
      'Failed to pull image "big/model:1": rpc error: code = Canceled desc = failed to pull and unpack image "docker.io/big/model:1": failed to copy: httpReadSeeker: failed open: cancel pulling image docker.io/big/model:1 because of no progress';
    const verdict = diagnose({ message });
    expect(verdict.cause).toBe('network-timeout');
    expect(verdict.fix.steps[0]!.text).toContain('image_pull_progress_timeout');
  });
});

describe('values the message gives are filled in', () => {
  it.each([
    ['secret "regcred" not found', 'regcred'],
    ['secrets "regcred-2" not found', 'regcred-2'],
    [
      'Unable to retrieve pull secret team/harbor-creds for team/api-0 due to secret "harbor-creds" not found',
      'harbor-creds',
    ],
  ])('the secret name in %s', (message, name) => {
    expect(commandsOf({ message, namespace: 'team' })).toContain(
      `kubectl create secret docker-registry ${name} -n team`,
    );
  });

  it('keeps an ECR host whose account is redacted, with its region', () => {
    const verdict = diagnose({
      message: 'no basic auth credentials',
      image: 'REDACTED.dkr.ecr.us-east-2.amazonaws.com/test:latest',
    });
    expect(verdict.registry).toMatchObject({ kind: 'ecr', ecr: { accountId: '', region: 'us-east-2' } });
    expect(
      commandsOf({
        message: 'no basic auth credentials',
        image: 'REDACTED.dkr.ecr.us-east-2.amazonaws.com/test:latest',
      }),
    ).toContain('--registry-id <account-id> --region us-east-2');
  });

  it('never capitalises an identifier at the start of a summary', () => {
    const verdict = diagnose({
      message:
        'Error response from daemon: Get "https://ghcr.io/v2/": net/http: request canceled while waiting for connection',
      image: 'ghcr.io/org/app:1',
    });
    expect(verdict.summary).not.toMatch(/^Ghcr/);
    expect(
      diagnose({ message: 'unauthorized: authentication required', image: 'quay.io/org/app:1' }).summary,
    ).toMatch(/^Quay/);
  });

  it('quotes evidence without the wrapper around it', () => {
    const message =
      'Failed to pull image "10.78.0.228:5000/monitorms": Error response from daemon: {"message":"Get https://10.78.0.228:5000/v1/_ping: x509: certificate signed by unknown authority"}';
    const { evidence } = diagnose({ message });
    expect(message).toContain(evidence);
    expect(evidence).toBe(
      'Get https://10.78.0.228:5000/v1/_ping: x509: certificate signed by unknown authority',
    );
  });
});

describe('2024–26 runtime texts', () => {
  it('reads the previous error in a Kubernetes 1.32+ back-off line, with a trailing reason', () => {
    const verdict = diagnose({
      reason: 'ImagePullBackOff',
      message:
        'Back-off pulling image "registry.k8s.io/nginx-slim:0.8": ErrImagePull: failed to pull and unpack image "registry.k8s.io/nginx-slim:0.8": failed to get converter for "registry.k8s.io/nginx-slim:0.8": Pulling Schema 1 images have been deprecated and disabled by default since containerd v2.0. As a workaround you may set an environment variable `CONTAINERD_ENABLE_DEPRECATED_PULL_SCHEMA_1_IMAGE=1`, but this will be completely removed in containerd v2.1.: ImagePullBackOff',
    });
    expect(verdict.cause).toBe('unsupported-manifest');
    expect(verdict.image).toBe('registry.k8s.io/nginx-slim:0.8');
  });

  it('diagnoses CRI-O’s signature rejection at container creation', () => {
    const verdict = diagnose({
      reason: 'CreateContainerError',
      message: 'Source image rejected: A signature was required, but no signature exists',
      image: 'quay.io/crio/unsigned:latest',
    });
    expect(verdict.cause).toBe('policy-rejected');
  });

  it('sends an ECR pull-through cache refused upstream to the rule, its prefix and its credentials', () => {
    const message =
      "Error response from daemon: pull access denied for 123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/percona/percona-xtradb-cluster-operator, repository does not exist or may require 'docker login': denied: The authentication to the upstream registry failed.";
    const verdict = diagnose({ message });
    expect(verdict.cause).toBe('registry-auth');
    const first = verdict.fix.steps[0]!;
    expect(first.text).toContain('library/');
    expect(first.text).toContain('ecr-pullthroughcache/');
    expect(first.command).toBe(
      'aws ecr validate-pull-through-cache-rule --region eu-west-1 --ecr-repository-prefix <prefix>',
    );
  });

  it('explains a Never pod whose cached image the kubelet no longer trusts (KEP-2535)', () => {
    const text = textOf({
      reason: 'ErrImageNeverPull',
      message: 'Container image "registry.corp/app:1" is not present with pull policy of Never',
    });
    expect(text).toContain('KEP-2535');
    // The kubelet reports a cached image the pod may not use with the same reason and text as a missing one.
    expect(text).toContain('reported with this very message');
    expect(text).toContain('preloadedImagesVerificationAllowlist');
  });
});
