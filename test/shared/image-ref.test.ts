import fc from 'fast-check';
import { MAX_NAME_LENGTH, MAX_TAG_LENGTH, parseImageRef } from '#shared/image-ref';
import type { ImageRefPart, ImageReference } from '#shared/image-ref';

const SHA256 = `sha256:${'0123456789abcdef'.repeat(4)}`;
const SHA512 = `sha512:${'fedcba9876543210'.repeat(8)}`;

const parsed = (input: string): ImageReference => {
  const result = parseImageRef(input);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(input)} to parse: ${result.problem.message}`);
  return result.ref;
};

describe('parseImageRef on valid references', () => {
  it.each<[string, Partial<ImageReference>]>([
    [
      'nginx',
      {
        registry: 'docker.io',
        registryHost: 'docker.io',
        registryExplicit: false,
        path: 'library/nginx',
        canonical: 'docker.io/library/nginx:latest',
        repository: 'docker.io/library/nginx',
      },
    ],
    [
      'library/nginx:1.25',
      {
        registry: 'docker.io',
        path: 'library/nginx',
        tag: '1.25',
        canonical: 'docker.io/library/nginx:1.25',
      },
    ],
    ['bitnami/redis:7.2', { registryExplicit: false, path: 'bitnami/redis', tag: '7.2' }],
    ['docker.io/nginx', { registryExplicit: true, path: 'library/nginx' }],
    [
      `docker.io/x/y@${SHA256}`,
      { registry: 'docker.io', path: 'x/y', digest: SHA256, canonical: `docker.io/x/y@${SHA256}` },
    ],
    [
      `nginx:1.25@${SHA256}`,
      { tag: '1.25', digest: SHA256, canonical: `docker.io/library/nginx:1.25@${SHA256}` },
    ],
    [`alpine@${SHA512}`, { digest: SHA512, canonical: `docker.io/library/alpine@${SHA512}` }],
    // containerd folds the legacy Docker Hub name into docker.io.
    ['index.docker.io/nginx', { registry: 'docker.io', registryExplicit: true, path: 'library/nginx' }],
    ['registry-1.docker.io/nginx', { registry: 'registry-1.docker.io', path: 'nginx' }],
    [
      'localhost:5000/a/b:c',
      { registry: 'localhost:5000', registryHost: 'localhost', port: 5000, path: 'a/b', tag: 'c' },
    ],
    ['localhost/app', { registry: 'localhost', registryHost: 'localhost', path: 'app' }],
    ['[::1]:5000/x', { registry: '[::1]:5000', registryHost: '[::1]', port: 5000, path: 'x' }],
    [
      '[2001:db8::1]/team/app:v2',
      { registry: '[2001:db8::1]', registryHost: '[2001:db8::1]', path: 'team/app' },
    ],
    [
      '10.0.0.12:8443/app',
      { registry: '10.0.0.12:8443', registryHost: '10.0.0.12', port: 8443, path: 'app' },
    ],
    [
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:v1',
      {
        registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
        path: 'team/app',
        tag: 'v1',
        repository: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app',
      },
    ],
    [
      'europe-west1-docker.pkg.dev/proj/repo/img:tag',
      { registry: 'europe-west1-docker.pkg.dev', path: 'proj/repo/img', tag: 'tag' },
    ],
    ['gcr.io/proj/img', { registry: 'gcr.io', path: 'proj/img', canonical: 'gcr.io/proj/img:latest' }],
    ['myreg.azurecr.io/a:b', { registry: 'myreg.azurecr.io', path: 'a', tag: 'b' }],
    ['ghcr.io/org/app', { registry: 'ghcr.io', path: 'org/app' }],
    ['quay.io/org/app', { registry: 'quay.io', path: 'org/app' }],
    ['harbor.example.com/lib/app', { registry: 'harbor.example.com', path: 'lib/app' }],
    ['registry.gitlab.com/g/p/img', { registry: 'registry.gitlab.com', path: 'g/p/img' }],
    ['Registry.Example.COM/app', { registry: 'Registry.Example.COM', path: 'app' }],
    ['registry.k8s.io/pause:3.9', { registry: 'registry.k8s.io', path: 'pause', tag: '3.9' }],
    ['a-b--c/d_e', { registry: 'docker.io', registryExplicit: false, path: 'a-b--c/d_e' }],
    ['team/my_app__v2.x---beta', { path: 'team/my_app__v2.x---beta' }],
    ['app:_private', { tag: '_private' }],
    ['app:V1.2-RC_3', { tag: 'V1.2-RC_3' }],
    // No '/', so this is the Docker Hub image "localhost" tagged "5000", as distribution/reference reads it.
    ['localhost:5000', { registry: 'docker.io', path: 'library/localhost', tag: '5000' }],
  ])('%s', (input, expected) => {
    const ref = parsed(input);
    expect(ref).toMatchObject({ original: input, ...expected });
  });

  it('omits port, tag and digest when the reference has none', () => {
    const ref = parsed('ghcr.io/org/app');
    expect(Object.keys(ref).sort()).toEqual(
      ['canonical', 'original', 'path', 'registry', 'registryExplicit', 'registryHost', 'repository'].sort(),
    );
  });

  it('accepts a tag of exactly 128 characters and a name of exactly 255', () => {
    expect(parsed(`app:${'t'.repeat(MAX_TAG_LENGTH)}`).tag).toHaveLength(MAX_TAG_LENGTH);
    const path = 'p'.repeat(MAX_NAME_LENGTH - 'ghcr.io/'.length);
    expect(parsed(`ghcr.io/${path}`).repository).toHaveLength(MAX_NAME_LENGTH);
  });
});

describe('parseImageRef on invalid references', () => {
  const long = 'a'.repeat(300);
  it.each<[string, string, ImageRefPart, number, string | undefined, RegExp]>([
    ['empty', '', 'whole', 0, undefined, /^empty image reference$/],
    ['leading space', ' nginx', 'whole', 0, ' ', /starts with whitespace/],
    ['trailing newline', 'nginx:1.25\n', 'whole', 10, '\n', /ends with whitespace/],
    ['trailing spaces point at the first', 'nginx  ', 'whole', 5, ' ', /ends with whitespace/],
    [
      'https scheme',
      'https://ghcr.io/org/app',
      'registry',
      0,
      undefined,
      /without a scheme.*"ghcr\.io\/org\/app"/,
    ],
    ['docker scheme', 'docker://nginx', 'registry', 0, undefined, /"docker:\/\/"/],
    [
      'uppercase repository',
      'Nginx:1',
      'path',
      0,
      'N',
      /^repository path "Nginx" has uppercase letter "N" at position 0: repository names must be lowercase$/,
    ],
    // An uppercase first component names a registry host (as upstream), so the path is what fails.
    ['uppercase host then path', 'My/App', 'path', 3, 'A', /uppercase letter "A"/],
    ['uppercase after registry', 'ghcr.io/org/MyApp', 'path', 12, 'M', /must be lowercase/],
    [
      'space in tag',
      'alpine:v1 2',
      'tag',
      9,
      ' ',
      /^tag "v1 2" contains " " at position 9: tags may only contain letters, digits, "_", "\." and "-" and must not start with "\." or "-"$/,
    ],
    ['tag starting with "."', 'nginx:.x', 'tag', 6, '.', /starts with "\."/],
    ['tag starting with "-"', 'nginx:-x', 'tag', 6, '-', /starts with "-"/],
    ['tag too long', `app:${'t'.repeat(MAX_TAG_LENGTH + 1)}`, 'tag', 4 + MAX_TAG_LENGTH, 't', /at most 128/],
    ['trailing ":"', 'nginx:', 'tag', 5, ':', /not followed by a tag/],
    ['":" before "@"', `nginx:@${SHA256}`, 'tag', 5, ':', /not followed by a tag/],
    ['"::"', 'nginx::latest', 'tag', 6, ':', /tag ":latest" contains ":" at position 6/],
    ['"::" in registry', 'localhost::5000/app', 'port', 10, ':', /port ":5000" contains ":"/],
    ['empty port', 'example.com:/app', 'port', 11, ':', /no port number/],
    ['port out of range', 'example.com:65536/app', 'port', 12, '6', /between 1 and 65535/],
    ['letters in port', 'example.com:http/app', 'port', 12, 'h', /digits only/],
    ['"//"', 'ghcr.io/org//app', 'path', 12, '/', /empty component \("\/\/"\) at position 12/],
    ['trailing "/"', 'org/app/', 'path', 7, '/', /ends with "\/"/],
    ['leading "/"', '/app', 'path', 0, '/', /starts with "\/"/],
    ['registry but no path', 'example.com/', 'path', 12, undefined, /missing after the registry/],
    ['no name before tag', ':latest', 'path', 0, ':', /missing before ":"/],
    ['no name before digest', `@${SHA256}`, 'path', 0, '@', /missing before "@"/],
    ['component starting with "_"', 'org/_app', 'path', 4, '_', /starting with "_"/],
    ['component ending with "."', 'org/app./x', 'path', 7, '.', /ending with "\."/],
    ['three underscores', 'my___app', 'path', 4, '_', /"_" at position 4 right after "__"/],
    ['dot then dash', 'my.-app', 'path', 3, '-', /right after "\."/],
    ['invalid path char', 'org/app!', 'path', 7, '!', /contains "!" at position 7/],
    ['emoji is reported whole', 'ghcr.io/\u{1F600}', 'path', 8, '\u{1F600}', /contains "\u{1F600}"/u],
    ['underscore in host', 'my_registry.com/app', 'registry', 2, '_', /registry hosts may only contain/],
    ['empty host label', 'registry..com/app', 'registry', 9, '.', /empty host label/],
    ['host ending in "."', 'registry.com./app', 'registry', 12, '.', /ends with "\."/],
    ['port without host', ':5000/app', 'registry', 0, ':', /no host name before ":"/],
    ['host label ending in "-"', 'foo-.com/app', 'registry', 3, '-', /ends with "-"/],
    ['unclosed IPv6', '[::1/app', 'registry', 4, undefined, /no closing "\]"/],
    ['IPv6 zone', '[fe80::1%eth0]:5000/app', 'registry', 8, '%', /hex digits and ":"/],
    ['"@" without digest', 'nginx@', 'digest', 5, '@', /not followed by a digest/],
    ['tag after "@"', 'nginx@latest', 'digest', 12, undefined, /has no ":".*tag is written after ":"/],
    ['short sha256', 'nginx@sha256:abc', 'digest', 16, undefined, /"sha256:abc" is not 64 hex characters/],
    ['long sha256', `nginx@${SHA256}0`, 'digest', 13 + 64, '0', /not 64 hex characters \(it has 65\)/],
    ['uppercase hex', `nginx@sha256:${'A'.repeat(64)}`, 'digest', 13, 'A', /lowercase hex/],
    ['uppercase algorithm', `nginx@SHA256:${'a'.repeat(64)}`, 'digest', 6, 'S', /algorithms are lowercase/],
    ['non-hex digest', `nginx@sha256:${'g'.repeat(64)}`, 'digest', 13, 'g', /must be hexadecimal/],
    ['empty hex', 'nginx@sha256:', 'digest', 13, undefined, /no hex value/],
    ['no algorithm', `nginx@:${'a'.repeat(64)}`, 'digest', 6, ':', /no algorithm/],
    ['algorithm ending in separator', `nginx@sha-:${'a'.repeat(64)}`, 'digest', 9, '-', /ends with "-"/],
    ['unsupported algorithm', `nginx@md5:${'a'.repeat(32)}`, 'digest', 6, 'm', /"md5" is not supported/],
    ['too few hex for any algorithm', 'nginx@foo:abcd', 'digest', 14, undefined, /at least 32/],
    ['name too long', long, 'path', MAX_NAME_LENGTH - 'docker.io/library/'.length, 'a', /longer than 255/],
    ['image ID', 'f'.repeat(64), 'path', 0, undefined, /reserved for image IDs/],
  ])('%s', (_title, input, part, index, char, message) => {
    const result = parseImageRef(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem).toMatchObject({ part, index });
    expect(result.problem.char).toBe(char);
    expect(result.problem.message).toMatch(message);
  });

  it('keeps messages short when the input is huge', () => {
    const result = parseImageRef(`ghcr.io/${'a'.repeat(1 << 20)}!`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem.message.length).toBeLessThan(400);
  });
});

// --- properties -------------------------------------------------------------------------------------------

const chars = (alphabet: string, minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALNUM = `${LOWER_ALNUM}ABCDEFGHIJKLMNOPQRSTUVWXYZ`;
const HEX = '0123456789abcdef';

const pathComponent = fc
  .tuple(
    chars(LOWER_ALNUM, 1, 5),
    fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--', '---'), chars(LOWER_ALNUM, 1, 5)), {
      maxLength: 3,
    }),
  )
  .map(([head, rest]) => head + rest.map(([separator, run]) => separator + run).join(''));
const path = fc
  .array(pathComponent, { minLength: 1, maxLength: 4 })
  .map((components) => components.join('/'));

const hostLabel = fc
  .tuple(chars(ALNUM, 1, 4), fc.option(fc.tuple(chars('-', 1, 2), chars(ALNUM, 1, 4)), { nil: undefined }))
  .map(([head, tail]) => (tail === undefined ? head : head + tail[0] + tail[1]));
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const registry = fc.oneof(
  fc.constantFrom(
    'ghcr.io',
    'quay.io',
    'gcr.io',
    'docker.io',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
  ),
  fc.tuple(fc.array(hostLabel, { minLength: 2, maxLength: 3 }), port).map(([labels, p]) => ({
    host: labels.join('.'),
    port: p,
  })),
  fc.tuple(hostLabel, fc.integer({ min: 1, max: 65535 })).map(([host, p]) => ({ host, port: p })),
  fc
    .tuple(fc.constantFrom('localhost', '[::1]', '[2001:db8::ff]'), port)
    .map(([host, p]) => ({ host, port: p })),
);

const tag = fc
  .tuple(chars(`${ALNUM}_`, 1, 1), chars(`${ALNUM}_.-`, 0, MAX_TAG_LENGTH - 1))
  .map(([first, rest]) => first + rest);
const digest = fc.oneof(
  chars(HEX, 64, 64).map((hex) => `sha256:${hex}`),
  chars(HEX, 96, 96).map((hex) => `sha384:${hex}`),
  chars(HEX, 128, 128).map((hex) => `sha512:${hex}`),
);

interface GeneratedRef {
  registry?: { host: string; port?: number | undefined } | string;
  path: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

const generatedRef: fc.Arbitrary<GeneratedRef> = fc
  .record({
    registry: fc.option(registry, { nil: undefined }),
    path,
    tag: fc.option(tag, { nil: undefined }),
    digest: fc.option(digest, { nil: undefined }),
  })
  // Without a registry, a first component with a '.' would itself be read as a registry.
  .filter(
    ({ registry: r, path: p }) => r !== undefined || !p.includes('/') || !p.split('/')[0]!.includes('.'),
  );

const registryText = (r: GeneratedRef['registry']): string | undefined =>
  r === undefined
    ? undefined
    : typeof r === 'string'
      ? r
      : r.port === undefined
        ? r.host
        : `${r.host}:${r.port}`;

const render = (g: GeneratedRef): string => {
  const host = registryText(g.registry);
  return (
    (host === undefined ? '' : `${host}/`) +
    g.path +
    (g.tag === undefined ? '' : `:${g.tag}`) +
    (g.digest === undefined ? '' : `@${g.digest}`)
  );
};

describe('parseImageRef properties', () => {
  it('reads back every part of a generated valid reference', () => {
    fc.assert(
      fc.property(generatedRef, (g) => {
        const input = render(g);
        const expectedRegistry = registryText(g.registry) ?? 'docker.io';
        const expectedPath =
          expectedRegistry === 'docker.io' && !g.path.includes('/') ? `library/${g.path}` : g.path;
        fc.pre(expectedRegistry.length + 1 + expectedPath.length <= MAX_NAME_LENGTH);

        const ref = parsed(input);
        expect(ref.original).toBe(input);
        expect(ref.registry).toBe(expectedRegistry);
        expect(ref.registryExplicit).toBe(g.registry !== undefined);
        expect(ref.path).toBe(expectedPath);
        expect(ref.tag).toBe(g.tag);
        expect(ref.digest).toBe(g.digest);
        expect(ref.port).toBe(typeof g.registry === 'object' ? g.registry.port : undefined);
        expect(ref.registry).toBe(
          ref.port === undefined ? ref.registryHost : `${ref.registryHost}:${ref.port}`,
        );
        expect(ref.repository).toBe(`${ref.registry}/${ref.path}`);
        if (g.registry !== undefined && expectedPath === g.path) {
          // Nothing was normalised, so the fields alone rebuild the input.
          const rebuilt =
            `${ref.registry}/${ref.path}` +
            (ref.tag === undefined ? '' : `:${ref.tag}`) +
            (ref.digest === undefined ? '' : `@${ref.digest}`);
          expect(rebuilt).toBe(input);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('parses its own canonical form to the same canonical form', () => {
    fc.assert(
      fc.property(generatedRef, (g) => {
        const result = parseImageRef(render(g));
        fc.pre(result.ok);
        if (!result.ok) return;
        expect(parsed(result.ref.canonical).canonical).toBe(result.ref.canonical);
      }),
    );
  });

  const wellFormed = (input: string): void => {
    const result = parseImageRef(input);
    if (result.ok) {
      expect(result.ref.original).toBe(input);
      return;
    }
    expect(result.problem.index).toBeGreaterThanOrEqual(0);
    expect(result.problem.index).toBeLessThanOrEqual(input.length);
    expect(result.problem.message.length).toBeGreaterThan(0);
    if (result.problem.char !== undefined) {
      expect(input.startsWith(result.problem.char, result.problem.index)).toBe(true);
    }
  };

  it.each([
    ['ASCII', fc.string()],
    ['any code point', fc.string({ unit: 'binary' })],
    ['graphemes', fc.string({ unit: 'grapheme' })],
    [
      'UTF-16 units, lone surrogates included',
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) }),
    ],
    ['reference-like characters', chars(`${ALNUM}:/@._-[] `, 0, 40)],
  ])('never throws and points inside the input: %s', (_title, strings) => {
    fc.assert(fc.property(strings, wellFormed), { numRuns: 1000 });
  });

  it('never throws on a valid reference with one character changed or inserted', () => {
    const mutated = fc
      .tuple(generatedRef, fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.boolean())
      .map(([g, at, char, replace]) => {
        const input = render(g);
        const index = at % (input.length + 1);
        return input.slice(0, index) + char + input.slice(replace ? index + 1 : index);
      });
    fc.assert(fc.property(mutated, wellFormed), { numRuns: 1000 });
  });
});

describe('parseImageRef on hostile input', () => {
  const MiB = 1 << 20;
  it.each<[string, string, ImageRefPart]>([
    ['"a" repeated', 'a'.repeat(MiB), 'path'],
    ['"a-" repeated', 'a-'.repeat(MiB / 2), 'path'],
    ['":" repeated', ':'.repeat(MiB), 'path'],
    ['"a/" repeated', 'a/'.repeat(MiB / 2), 'path'],
    ['"a.b/" repeated', 'a.b/'.repeat(MiB / 4), 'path'],
    ['"@sha256:" and hex', `@sha256:${'a'.repeat(MiB)}`, 'path'],
    ['digest too long', `a@sha256:${'a'.repeat(MiB)}`, 'digest'],
    ['algorithm of "a-" repeated', `a@${'a-'.repeat(MiB / 2)}`, 'digest'],
    ['tag too long', `a:${'b'.repeat(MiB)}`, 'tag'],
    ['huge port', `x:${'1'.repeat(MiB)}/a`, 'port'],
    ['unclosed IPv6', `[${':'.repeat(MiB)}/a`, 'registry'],
    ['host labels', `${'a.'.repeat(MiB / 2)}/a`, 'registry'],
    ['"_" repeated', `a${'_'.repeat(MiB)}`, 'path'],
    ['"://" repeated', `a${'://'.repeat(MiB / 4)}`, 'registry'],
  ])('%s returns a problem quickly', (_title, input, part) => {
    const started = performance.now();
    const result = parseImageRef(input);
    const elapsed = performance.now() - started;
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem.part).toBe(part);
    // A loose sanity bound only; a backtracking parser would take minutes, not milliseconds.
    expect(elapsed).toBeLessThan(1000);
  });
});
