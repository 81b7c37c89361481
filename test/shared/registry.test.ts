import fc from 'fast-check';
import { REGISTRY_KINDS, detectRegistry, registryOfImage } from '#shared/registry';
import type { RegistryInfo } from '#shared/registry';

describe('detectRegistry', () => {
  it.each<[string, string | undefined, RegistryInfo]>([
    ['docker.io', 'library/nginx', { host: 'docker.io', kind: 'dockerhub', displayName: 'Docker Hub' }],
    ['index.docker.io', undefined, { host: 'index.docker.io', kind: 'dockerhub', displayName: 'Docker Hub' }],
    [
      'registry-1.docker.io',
      'x/y',
      { host: 'registry-1.docker.io', kind: 'dockerhub', displayName: 'Docker Hub' },
    ],
    [
      'registry.hub.docker.com',
      'x/y',
      { host: 'registry.hub.docker.com', kind: 'dockerhub', displayName: 'Docker Hub' },
    ],
    [
      '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      'team/app',
      {
        host: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
        kind: 'ecr',
        displayName: 'Amazon ECR',
        ecr: { accountId: '123456789012', region: 'us-east-1', fips: false },
      },
    ],
    [
      '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com',
      'app',
      {
        host: '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com',
        kind: 'ecr',
        displayName: 'Amazon ECR',
        ecr: { accountId: '123456789012', region: 'us-gov-west-1', fips: true },
      },
    ],
    [
      '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
      'app',
      {
        host: '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
        kind: 'ecr',
        displayName: 'Amazon ECR',
        ecr: { accountId: '123456789012', region: 'cn-north-1', fips: false },
      },
    ],
    [
      '123456789012.dkr-ecr.eu-west-1.on.aws',
      'app',
      {
        host: '123456789012.dkr-ecr.eu-west-1.on.aws',
        kind: 'ecr',
        displayName: 'Amazon ECR',
        ecr: { accountId: '123456789012', region: 'eu-west-1', fips: false },
      },
    ],
    ['public.ecr.aws', 'nginx/nginx', { host: 'public.ecr.aws', kind: 'ecr', displayName: 'Amazon ECR' }],
    [
      'gcr.io',
      'my-project/img',
      {
        host: 'gcr.io',
        kind: 'gcr',
        displayName: 'Google Container Registry',
        gcr: { project: 'my-project' },
      },
    ],
    [
      'eu.gcr.io',
      'my-project/img',
      {
        host: 'eu.gcr.io',
        kind: 'gcr',
        displayName: 'Google Container Registry',
        gcr: { project: 'my-project' },
      },
    ],
    [
      'gcr.io',
      'example.com/my-project/img',
      {
        host: 'gcr.io',
        kind: 'gcr',
        displayName: 'Google Container Registry',
        gcr: { project: 'example.com:my-project' },
      },
    ],
    [
      'asia.gcr.io',
      undefined,
      { host: 'asia.gcr.io', kind: 'gcr', displayName: 'Google Container Registry', gcr: {} },
    ],
    [
      'europe-west1-docker.pkg.dev',
      'proj/repo/img',
      {
        host: 'europe-west1-docker.pkg.dev',
        kind: 'artifact-registry',
        displayName: 'Google Artifact Registry',
        artifactRegistry: { location: 'europe-west1', project: 'proj', repository: 'repo' },
      },
    ],
    [
      'us-docker.pkg.dev',
      'example.com/proj/repo/img',
      {
        host: 'us-docker.pkg.dev',
        kind: 'artifact-registry',
        displayName: 'Google Artifact Registry',
        artifactRegistry: { location: 'us', project: 'example.com:proj', repository: 'repo' },
      },
    ],
    [
      'us-docker.pkg.dev',
      undefined,
      {
        host: 'us-docker.pkg.dev',
        kind: 'artifact-registry',
        displayName: 'Google Artifact Registry',
        artifactRegistry: { location: 'us' },
      },
    ],
    [
      'myreg.azurecr.io',
      'a',
      {
        host: 'myreg.azurecr.io',
        kind: 'acr',
        displayName: 'Azure Container Registry',
        acr: { name: 'myreg' },
      },
    ],
    [
      'contoso.azurecr.cn',
      'a',
      {
        host: 'contoso.azurecr.cn',
        kind: 'acr',
        displayName: 'Azure Container Registry',
        acr: { name: 'contoso' },
      },
    ],
    [
      'gov.azurecr.us',
      'a',
      { host: 'gov.azurecr.us', kind: 'acr', displayName: 'Azure Container Registry', acr: { name: 'gov' } },
    ],
    ['ghcr.io', 'org/app', { host: 'ghcr.io', kind: 'ghcr', displayName: 'GitHub Container Registry' }],
    [
      'docker.pkg.github.com',
      'org/repo/app',
      { host: 'docker.pkg.github.com', kind: 'ghcr', displayName: 'GitHub Container Registry' },
    ],
    ['quay.io', 'org/app', { host: 'quay.io', kind: 'quay', displayName: 'Quay' }],
    [
      'registry.gitlab.com',
      'g/p/img',
      { host: 'registry.gitlab.com', kind: 'gitlab', displayName: 'GitLab Container Registry' },
    ],
    [
      'registry.gitlab.example.com',
      'g/p',
      { host: 'registry.gitlab.example.com', kind: 'gitlab', displayName: 'GitLab Container Registry' },
    ],
    [
      'gitlab.corp.example:5050',
      'g/p',
      { host: 'gitlab.corp.example:5050', kind: 'gitlab', displayName: 'GitLab Container Registry' },
    ],
    ['harbor.example.com', 'lib/app', { host: 'harbor.example.com', kind: 'harbor', displayName: 'Harbor' }],
    [
      'harbor.example.com:8443',
      'lib/app',
      { host: 'harbor.example.com:8443', kind: 'harbor', displayName: 'Harbor' },
    ],
    ['registry.k8s.io', 'pause', { host: 'registry.k8s.io', kind: 'other', displayName: 'registry.k8s.io' }],
    ['localhost:5000', 'a/b', { host: 'localhost:5000', kind: 'other', displayName: 'localhost:5000' }],
    ['[::1]:5000', 'x', { host: '[::1]:5000', kind: 'other', displayName: '[::1]:5000' }],
  ])('%s %s', (host, path, expected) => {
    expect(detectRegistry(host, path)).toEqual(expected);
  });

  it('ignores case and port when matching, and keeps the host as written', () => {
    expect(detectRegistry('GHCR.IO:443')).toEqual({
      host: 'GHCR.IO:443',
      kind: 'ghcr',
      displayName: 'GitHub Container Registry',
    });
    expect(detectRegistry('123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM').ecr).toEqual({
      accountId: '123456789012',
      region: 'eu-west-1',
      fips: false,
    });
  });

  it.each([
    'evilgcr.io',
    'gcr.io.example.com',
    '12345.dkr.ecr.us-east-1.amazonaws.com',
    '123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example',
    'azurecr.io',
    'docker-pkg.dev',
    'quay.io.example.com',
  ])('does not mistake %s for a well-known registry', (host) => {
    expect(detectRegistry(host)).toEqual({ host, kind: 'other', displayName: host });
  });

  it('always returns a known kind, quickly, for any host', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.option(fc.string(), { nil: undefined }), (host, path) => {
        const info = detectRegistry(host, path);
        expect(REGISTRY_KINDS).toContain(info.kind);
        expect(info.host).toBe(host);
      }),
    );
    const started = performance.now();
    detectRegistry(`${'1'.repeat(12)}.dkr.ecr.${'a-'.repeat(1 << 19)}.amazonaws.co`);
    detectRegistry(`${'a-'.repeat(1 << 19)}docker.pkg.de`);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('registryOfImage', () => {
  it.each<[string, RegistryInfo['kind']]>([
    ['nginx', 'dockerhub'],
    ['bitnami/redis:7.2', 'dockerhub'],
    ['index.docker.io/library/nginx', 'dockerhub'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:v1', 'ecr'],
    ['europe-west1-docker.pkg.dev/proj/repo/img:tag', 'artifact-registry'],
    ['gcr.io/proj/img', 'gcr'],
    ['myreg.azurecr.io/a:b', 'acr'],
    ['ghcr.io/org/app', 'ghcr'],
    ['quay.io/org/app', 'quay'],
    ['harbor.example.com/lib/app', 'harbor'],
    ['registry.gitlab.com/g/p/img', 'gitlab'],
    ['localhost:5000/a/b:c', 'other'],
  ])('%s is on %s', (image, kind) => {
    expect(registryOfImage(image)?.kind).toBe(kind);
  });

  it('passes the path on, so project and repository are known', () => {
    expect(registryOfImage('europe-west1-docker.pkg.dev/proj/repo/img:tag')?.artifactRegistry).toEqual({
      location: 'europe-west1',
      project: 'proj',
      repository: 'repo',
    });
    expect(registryOfImage('gcr.io/proj/img')?.gcr).toEqual({ project: 'proj' });
  });

  it('reports the normalised Docker Hub host for implicit references', () => {
    expect(registryOfImage('nginx')?.host).toBe('docker.io');
  });

  it('is undefined when the reference does not parse', () => {
    expect(registryOfImage('https://ghcr.io/org/app')).toBeUndefined();
    expect(registryOfImage('')).toBeUndefined();
  });
});
