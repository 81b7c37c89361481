import {
  LAPTOP_POLICY,
  addressAllowed,
  classifyAddress,
  urlAllowed,
} from '#shared/registry-check/url-safety';

const AWS = { plainHttp: [], trusted: [], denyPrivate: true };

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.9.9.9', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['2606:4700::1111', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('is undefined for names and malformed literals', () => {
    for (const text of ['registry.example.com', '1.2.3', '256.1.1.1', '1::2::3', 'gggg::1']) {
      expect(classifyAddress(text)).toBeUndefined();
    }
  });
});

describe('urlAllowed', () => {
  it('allows the HTTPS registry and realm, and refuses plain HTTP unless the host is listed', () => {
    expect(urlAllowed('https://ghcr.io/v2/', 'registry', [], LAPTOP_POLICY)).toEqual({ ok: true });
    expect(urlAllowed('http://ghcr.io/v2/', 'registry', [], LAPTOP_POLICY)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('plain HTTP'),
    });
    const listed = { ...LAPTOP_POLICY, plainHttp: ['registry.lan:5000'] };
    expect(urlAllowed('http://registry.lan:5000/v2/', 'registry', [], listed)).toEqual({ ok: true });
    expect(urlAllowed('http://registry.lan:5001/v2/', 'registry', [], listed).ok).toBe(false);
    expect(urlAllowed('ftp://ghcr.io/', 'token realm', [], LAPTOP_POLICY).ok).toBe(false);
  });

  it('refuses metadata services by address and by name, even when listed as trusted', () => {
    const trusting = { ...LAPTOP_POLICY, trusted: ['169.254.169.254', 'metadata.google.internal'] };
    for (const url of [
      'https://169.254.169.254/latest/',
      'https://metadata.google.internal/',
      'https://[fd00:ec2::254]/',
    ]) {
      expect(urlAllowed(url, 'token realm', [], trusting)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/metadata/),
      });
    }
  });

  it('refuses loopback unless the host is trusted, and private ranges only where configured', () => {
    expect(urlAllowed('https://127.0.0.1:5000/v2/', 'registry', [], LAPTOP_POLICY).ok).toBe(false);
    expect(
      urlAllowed('https://127.0.0.1:5000/v2/', 'registry', [], { ...LAPTOP_POLICY, trusted: ['127.0.0.1'] })
        .ok,
    ).toBe(true);
    expect(urlAllowed('https://10.0.0.5/v2/', 'registry', [], LAPTOP_POLICY).ok).toBe(true);
    expect(urlAllowed('https://10.0.0.5/v2/', 'registry', [], AWS).ok).toBe(false);
    expect(urlAllowed('https://10.0.0.5/v2/', 'registry', [], { ...AWS, trusted: ['10.0.0.5'] }).ok).toBe(
      true,
    );
  });

  it('keeps redirects on the registry and realm origins, and refuses credentials in URLs', () => {
    const origins = ['https://registry.example.com', 'https://auth.example.com'];
    expect(urlAllowed('https://auth.example.com/token', 'redirect', origins, LAPTOP_POLICY).ok).toBe(true);
    expect(urlAllowed('https://elsewhere.example.com/x', 'redirect', origins, LAPTOP_POLICY)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('leaves the registry'),
    });
    expect(urlAllowed('https://user:pw@auth.example.com/', 'token realm', origins, LAPTOP_POLICY)).toEqual({
      ok: false,
      reason: 'the token realm https://auth.example.com carries credentials in its URL',
    });
  });
});

describe('addressAllowed', () => {
  it('judges the resolved address, so a public name resolving to metadata is refused', () => {
    const url = new URL('https://innocent.example.com/v2/');
    expect(addressAllowed('169.254.169.254', url, LAPTOP_POLICY)).toMatchObject({ ok: false });
    expect(addressAllowed('127.0.0.1', url, LAPTOP_POLICY)).toMatchObject({ ok: false });
    expect(addressAllowed('93.184.216.34', url, LAPTOP_POLICY)).toEqual({ ok: true });
  });
});
