import { CAUSE_IDS } from '#shared/diagnosis/causes';
import { CATALOGUE } from '#shared/diagnosis/catalogue';
import { diagnose } from '#shared/diagnosis/diagnose';

// containerd 1.6's wording, as captured by test/runtime (see test/fixtures/runtime).
const notFound = (image: string, resolved: string) =>
  `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${resolved}": failed to resolve reference "${resolved}": ${resolved}: not found`;

describe('the catalogue', () => {
  it('has exactly one rule per cause id', () => {
    expect(CATALOGUE.map((rule) => rule.id).sort()).toEqual([...CAUSE_IDS].sort());
  });

  it('gives every cause a title, a meaning and a docs link', () => {
    for (const rule of CATALOGUE) {
      expect(rule.title.length).toBeGreaterThan(5);
      expect(rule.title.length).toBeLessThanOrEqual(150);
      expect(rule.meaning).toMatch(/\.$/);
    }
  });
});

describe('diagnose', () => {
  it('quotes the deciding clause verbatim', () => {
    const message = notFound('nginx:nope', 'docker.io/library/nginx:nope');
    const verdict = diagnose({ reason: 'ErrImagePull', message });
    expect(verdict.cause).toBe('image-not-found');
    expect(message).toContain(verdict.evidence);
    expect(verdict.evidence).toBe('docker.io/library/nginx:nope: not found');
    expect(verdict.image).toBe('nginx:nope');
    expect(verdict.registry).toMatchObject({ host: 'docker.io', kind: 'dockerhub' });
  });

  it('fills the real names into the fix commands', () => {
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:v2';
    const verdict = diagnose({
      message: notFound(image, image),
      image,
      namespace: 'payments',
      pod: 'api-7d9f-abcde',
      container: 'api',
      workload: { kind: 'Deployment', name: 'api' },
    });
    const commands = verdict.fix.steps.map((step) => step.command ?? '').join('\n');
    expect(commands).toContain(
      'aws ecr describe-images --registry-id 123456789012 --region eu-west-1 --repository-name team/api',
    );
    expect(commands).toContain('kubectl set image deployment/api api=');
    expect(commands).toContain('-n payments');
    expect(verdict.summary).toContain('"v2"');
  });

  it('prefers the most specific phrase: a TLS handshake timeout is a timeout', () => {
    const verdict = diagnose({
      message:
        'Failed to pull image "quay.io/org/app:1": rpc error: code = Unknown desc = failed to pull and unpack image "quay.io/org/app:1": failed to resolve reference "quay.io/org/app:1": failed to do request: Head "https://quay.io/v2/org/app/manifests/1": net/http: TLS handshake timeout',
    });
    expect(verdict.cause).toBe('network-timeout');
    expect(verdict.registry.kind).toBe('quay');
  });

  it('treats a failed DNS lookup as DNS even when the resolver timed out', () => {
    const verdict = diagnose({
      message:
        'Failed to pull image "ghcr.io/org/app:1": rpc error: code = Unknown desc = failed to pull and unpack image "ghcr.io/org/app:1": failed to resolve reference "ghcr.io/org/app:1": failed to do request: Head "https://ghcr.io/v2/org/app/manifests/1": dial tcp: lookup ghcr.io on 10.0.0.2:53: read udp 10.0.1.5:41000->10.0.0.2:53: i/o timeout',
    });
    expect(verdict.cause).toBe('dns-resolution');
  });

  it('says honestly when a bare back-off line carries no cause, with the kubectl playbook', () => {
    const verdict = diagnose({
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "nginx:1.25"',
      namespace: 'web',
      pod: 'web-0',
    });
    expect(verdict.cause).toBe('unknown');
    expect(verdict.evidence).toBe('Back-off pulling image "nginx:1.25"');
    const commands = verdict.fix.steps.map((step) => step.command).join('\n');
    expect(commands).toContain('kubectl get pod web-0 -n web');
    expect(commands).toContain('kubectl describe pod web-0 -n web');
    expect(commands).toContain('kubectl get events -n web --field-selector involvedObject.name=web-0');
  });

  it('reads the cause a newer kubelet appends to the back-off line', () => {
    const verdict = diagnose({
      reason: 'ImagePullBackOff',
      message:
        'Back-off pulling image "nginx:nope": ErrImagePull: failed to pull and unpack image "docker.io/library/nginx:nope": failed to resolve reference "docker.io/library/nginx:nope": docker.io/library/nginx:nope: not found',
    });
    expect(verdict.cause).toBe('image-not-found');
  });

  it('blames a missing pull secret for an authorization refusal', () => {
    const verdict = diagnose({
      message:
        'Failed to pull image "registry.example.com/team/app:1": rpc error: code = Unknown desc = failed to pull and unpack image "registry.example.com/team/app:1": failed to resolve reference "registry.example.com/team/app:1": unexpected status from HEAD request to https://registry.example.com/v2/team/app/manifests/1: 401 Unauthorized',
      pullSecretWarning:
        'Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.',
      namespace: 'team',
    });
    expect(verdict.cause).toBe('pull-secret-missing');
    expect(verdict.fix.steps[0]?.command).toBe('kubectl get secret regcred -n team');
  });

  it('does not blame the pull secret for a tag that is missing anyway', () => {
    const verdict = diagnose({
      message: notFound('nginx:nope', 'docker.io/library/nginx:nope'),
      pullSecretWarning:
        'Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.',
    });
    expect(verdict.cause).toBe('image-not-found');
  });

  it('lets decisive kubelet reasons win', () => {
    expect(diagnose({ reason: 'ErrImageNeverPull', message: 'Error: ErrImageNeverPull' }).cause).toBe(
      'never-pull',
    );
    expect(diagnose({ reason: 'InvalidImageName', message: '' }).cause).toBe('invalid-image-name');
  });

  it('explains which part of an invalid reference is wrong', () => {
    const verdict = diagnose({
      reason: 'InvalidImageName',
      image: 'Registry.Example.com/Team/App:v1',
      message:
        'Failed to apply default image tag "Registry.Example.com/Team/App:v1": couldn\'t parse image name "Registry.Example.com/Team/App:v1": invalid reference format: repository name (Team/App) must be lowercase',
    });
    expect(verdict.cause).toBe('invalid-image-name');
    expect(verdict.summary).toMatch(/lowercase/);
  });

  it('finds the registry in the message when the image is unknown, and writes plain words otherwise', () => {
    const dns = diagnose({ message: 'dial tcp: lookup registry-1.docker.io on 10.0.0.2:53: no such host' });
    expect(dns.registry).toMatchObject({ host: 'registry-1.docker.io', kind: 'dockerhub' });
    expect(dns.summary).toBe('The node could not resolve registry-1.docker.io.');
    const bare = diagnose({ message: 'unauthorized: authentication required' });
    expect(bare.summary).toBe(
      'The registry refused access to the image: the node has no valid credentials or permission for it.',
    );
  });

  it('handles empty and whitespace input', () => {
    expect(diagnose({ message: '' }).cause).toBe('unknown');
    expect(diagnose({ message: '   \n\t' }).evidence).toBe('');
  });

  it('returns a verdict for a 1 MiB hostile message, with bounded evidence', () => {
    const message = `${'a: '.repeat(300_000)}not found${' x'.repeat(50_000)}`;
    const verdict = diagnose({ message });
    expect(verdict.cause).toBe('image-not-found');
    expect(verdict.evidence.length).toBeLessThanOrEqual(300);
    expect(message).toContain(verdict.evidence);
  });

  it('gives steps that fit the registry', () => {
    const denied = (image: string) =>
      diagnose({
        image,
        message: `Failed to pull image "${image}": rpc error: code = Unknown desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": unexpected status from HEAD request: 403 Forbidden`,
      });
    const allCommands = (image: string) =>
      denied(image)
        .fix.steps.map((step) => `${step.text}\n${step.command ?? ''}`)
        .join('\n');
    expect(denied('us-docker.pkg.dev/p/r/i:1').cause).toBe('registry-auth');
    expect(allCommands('us-docker.pkg.dev/proj/repo/img:1')).toContain('roles/artifactregistry.reader');
    expect(allCommands('us-docker.pkg.dev/proj/repo/img:1')).toContain('--project=proj');
    expect(allCommands('123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1')).toContain('ecr:BatchGetImage');
    expect(allCommands('myacr.azurecr.io/a:1')).toContain('--attach-acr myacr');
    expect(allCommands('ghcr.io/org/a:1')).toContain('read:packages');
  });
});
