import { parseImageRef, type ImageReference } from '#shared/image-ref';
import {
  type RegistryCheck,
  judgeRegistryAnswers,
  questionFor,
  registryCheckLine,
} from '#shared/registry-check/outcome';
import {
  indexPlatforms,
  nextLink,
  parseChallenge,
  parseTokenAnswer,
} from '#shared/registry-check/distribution';

const ref = (image: string): ImageReference => {
  const parsed = parseImageRef(image);
  if (!parsed.ok) throw new Error(parsed.problem.message);
  return parsed.ref;
};

const APP = ref('ghcr.io/acme/node-agent:3.4.1');

describe('what is asked per cause', () => {
  it('asks existence, access, platforms or reachability', () => {
    expect(questionFor('image-not-found')).toBe('existence');
    expect(questionFor('repo-not-found-or-unauthorized')).toBe('existence');
    expect(questionFor('registry-auth')).toBe('access');
    expect(questionFor('pull-secret-missing')).toBe('access');
    expect(questionFor('platform-mismatch')).toBe('platforms');
    expect(questionFor('dns-resolution')).toBe('reachability');
    expect(questionFor('unknown')).toBe('reachability');
  });
});

describe('judgeRegistryAnswers', () => {
  it('confirms a missing tag with the nearest ones', () => {
    const judgement = judgeRegistryAnswers('image-not-found', APP, {
      ping: 401,
      anonymous: 'absent',
      repository: 'present',
      tags: ['3.4.0', '3.4.1-rc1', '3.5.0', 'main'],
    });
    expect(judgement).toEqual({
      outcome: 'confirmed',
      summary: 'ghcr.io/acme/node-agent has no tag 3.4.1; nearest: 3.4.0, 3.4.1-rc1, 3.5.0.',
      suggestedTags: ['3.4.0', '3.4.1-rc1', '3.5.0'],
      public: true,
    });
  });

  it('contradicts a missing tag that exists now, and confirms a missing repository', () => {
    expect(judgeRegistryAnswers('image-not-found', APP, { ping: 200, anonymous: 'present' }).outcome).toBe(
      'contradicted',
    );
    expect(
      judgeRegistryAnswers('repo-not-found-or-unauthorized', APP, {
        ping: 200,
        anonymous: 'absent',
        repository: 'absent',
        tags: [],
      }),
    ).toMatchObject({
      outcome: 'confirmed',
      summary: 'ghcr.io/acme/node-agent does not exist on its registry.',
    });
  });

  it('says the node credentials are the problem when only the given credentials read the image', () => {
    const answers = { ping: 401, anonymous: 'refused', authenticated: 'present' } as const;
    expect(judgeRegistryAnswers('repo-not-found-or-unauthorized', APP, answers)).toMatchObject({
      outcome: 'confirmed',
      public: false,
    });
    expect(judgeRegistryAnswers('registry-auth', APP, answers)).toMatchObject({
      outcome: 'confirmed',
      summary: expect.stringContaining("the node's credentials are the problem"),
    });
  });

  it('contradicts an auth verdict when anonymous reads work, or when the image does not exist', () => {
    expect(judgeRegistryAnswers('registry-auth', APP, { ping: 200, anonymous: 'present' })).toMatchObject({
      outcome: 'contradicted',
      public: true,
    });
    expect(
      judgeRegistryAnswers('pull-secret-missing', APP, {
        ping: 401,
        anonymous: 'refused',
        authenticated: 'absent',
        repository: 'present',
        tags: ['3.4.0'],
      }),
    ).toMatchObject({ outcome: 'contradicted', suggestedTags: ['3.4.0'] });
  });

  it('is inconclusive when the registry refuses every identity about existence', () => {
    expect(judgeRegistryAnswers('image-not-found', APP, { ping: 401, anonymous: 'refused' }).outcome).toBe(
      'inconclusive',
    );
  });

  it('lists the platforms of an index', () => {
    expect(
      judgeRegistryAnswers('platform-mismatch', APP, {
        ping: 200,
        anonymous: 'present',
        platforms: ['linux/amd64', 'linux/arm64/v8'],
      }),
    ).toMatchObject({ outcome: 'confirmed', platforms: ['linux/amd64', 'linux/arm64/v8'] });
  });

  it('probes reachability for other causes', () => {
    expect(judgeRegistryAnswers('registry-unavailable', APP, { ping: 503 }).outcome).toBe('confirmed');
    expect(judgeRegistryAnswers('registry-unavailable', APP, { ping: 401 }).outcome).toBe('contradicted');
    expect(judgeRegistryAnswers('dns-resolution', APP, { ping: 200 })).toMatchObject({
      outcome: 'inconclusive',
      summary: expect.stringContaining("node's network path"),
    });
    expect(judgeRegistryAnswers('image-not-found', APP, { ping: 502 }).outcome).toBe('inconclusive');
  });
});

describe('registryCheckLine', () => {
  it('reads like the Slack line', () => {
    const check: RegistryCheck = {
      outcome: 'confirmed',
      summary: 'ghcr.io/acme/node-agent has no tag 3.4.1; nearest: 3.4.0, 3.4.1-rc1.',
      suggestedTags: ['3.4.0', '3.4.1-rc1'],
      checkedFrom: 'laptop',
      checkedAt: '2026-12-02T10:02:31.000Z',
      durationMs: 40,
    };
    expect(registryCheckLine(check)).toBe(
      '✔ confirmed from laptop at 10:02 UTC: ghcr.io/acme/node-agent has no tag 3.4.1; nearest: 3.4.0, 3.4.1-rc1.',
    );
  });
});

describe('distribution protocol parsing', () => {
  it('reads bearer and basic challenges', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/nginx:pull',
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      realm: 'Registry Realm',
    });
    expect(parseChallenge('Bearer service="x"')).toMatchObject({ scheme: 'other' });
    expect(parseChallenge(undefined)).toBeUndefined();
  });

  it('reads the next page link, tokens, and index platforms without attestations', () => {
    expect(nextLink('</v2/acme/app/tags/list?n=2&last=b>; rel="next"')).toBe(
      '/v2/acme/app/tags/list?n=2&last=b',
    );
    expect(nextLink('</x>; rel="prev"')).toBeUndefined();
    expect(parseTokenAnswer('{"access_token":"abc"}')).toBe('abc');
    expect(parseTokenAnswer('not json')).toBeUndefined();
    const index = JSON.stringify({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { platform: { os: 'linux', architecture: 'amd64' } },
        { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { platform: { os: 'unknown', architecture: 'unknown' } },
      ],
    });
    expect(indexPlatforms('application/vnd.oci.image.index.v1+json', index)).toEqual([
      'linux/amd64',
      'linux/arm64/v8',
    ]);
    expect(indexPlatforms('application/vnd.oci.image.manifest.v1+json', '{"layers":[]}')).toEqual([]);
    expect(indexPlatforms('text/html', '<html>')).toBeUndefined();
  });
});
