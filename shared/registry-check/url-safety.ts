/**
 * Where a registry check may connect. A hostile registry chooses its token realm and its redirects, so
 * every URL the check would fetch passes these rules first, and every address a name resolves to passes
 * them again before the connection is made (no DNS rebinding):
 * - only the image's registry host, the token realm that host names, and redirects to one of those;
 * - HTTPS only, unless the user listed the host as plain HTTP;
 * - never link-local or cloud metadata addresses; loopback (and, where configured, as in AWS, private
 *   ranges) only for hosts the user listed as trusted.
 */

import { globToRegExp } from '#shared/routing';

export interface RegistryCheckPolicy {
  /** Hosts (`host` or `host:port`) the user listed as reachable over plain HTTP. */
  plainHttp: readonly string[];
  /** Hosts (`host` or `host:port`) the user trusts on loopback or private addresses. */
  trusted: readonly string[];
  /** True where private ranges are someone else's network (AWS): only trusted hosts may be there. */
  denyPrivate: boolean;
}

export const LAPTOP_POLICY: RegistryCheckPolicy = { plainHttp: [], trusted: [], denyPrivate: false };

export type AddressKind =
  'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'unspecified' | 'multicast';

export type Refusal = { ok: false; reason: string };
export type Permission = { ok: true } | Refusal;

const ALLOWED: Permission = { ok: true };

/** Names that are cloud metadata services whatever they resolve to. */
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data']);
const METADATA_ADDRESSES = new Set([
  '169.254.169.254',
  '169.254.170.2',
  '169.254.169.253',
  '100.100.100.200',
]);

const parseIpv4 = (text: string): number[] | undefined => {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : NaN));
  return octets.every((octet) => octet >= 0 && octet <= 255) ? octets : undefined;
};

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail included), or undefined. */
const parseIpv6 = (text: string): number[] | undefined => {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const address = bare.split('%')[0] ?? '';
  if (!address.includes(':')) return undefined;
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const groups: number[] = [];
    const pieces = half.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] ?? '';
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (!v4) return undefined;
        groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        groups.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...tail] : undefined;
};

const classifyIpv4 = ([a = 0, b = 0]: number[], text: string): AddressKind => {
  if (METADATA_ADDRESSES.has(text)) return 'metadata';
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 100 && b >= 64 && b <= 127) return 'private'; // carrier-grade NAT, VPC-internal in practice
  if (a >= 224) return 'multicast'; // and the reserved 240/4 and broadcast
  return 'public';
};

/** What kind of address `text` is, or undefined when it is not an IP literal. */
export const classifyAddress = (text: string): AddressKind | undefined => {
  const v4 = parseIpv4(text);
  if (v4) return classifyIpv4(v4, v4.join('.'));
  const v6 = parseIpv6(text);
  if (!v6) return undefined;
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = v6;
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible addresses are the IPv4 address they carry.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && (g5 === 0xffff || g5 === 0) && g6 !== 0) {
    const mapped = [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff];
    return classifyIpv4(mapped, mapped.join('.'));
  }
  if (v6.every((group) => group === 0)) return 'unspecified';
  if (v6.slice(0, 7).every((group) => group === 0) && g7 === 1) return 'loopback';
  if (g0 === 0xfd00 && g1 === 0x0ec2) return 'metadata'; // fd00:ec2::254, the EC2 IPv6 metadata service
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xfe00) === 0xfc00) return 'private';
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  return 'public';
};

/** host[:port] of a URL, lowercased, IPv6 with brackets: how hosts are listed and compared. */
export const hostOf = (url: URL): string => url.host.toLowerCase();

const listed = (list: readonly string[], url: URL): boolean => {
  const host = hostOf(url);
  const name = url.hostname.toLowerCase();
  // Entries are hosts or globs of them (the pipeline's config lists `*.corp.example`).
  return list.some((entry) => {
    const wanted = globToRegExp(entry.toLowerCase());
    return wanted.test(host.toLowerCase()) || wanted.test(name);
  });
};

/** May an address that `url`'s host resolved to (or is) be contacted? */
export const addressAllowed = (address: string, url: URL, policy: RegistryCheckPolicy): Permission => {
  const kind = classifyAddress(address) ?? 'public';
  const host = hostOf(url);
  const where = host === address || url.hostname === `[${address}]` ? host : `${host} (${address})`;
  switch (kind) {
    case 'public':
      return ALLOWED;
    case 'metadata':
      return { ok: false, reason: `${where} is a cloud metadata address` };
    case 'link-local':
      return { ok: false, reason: `${where} is a link-local address` };
    case 'unspecified':
    case 'multicast':
      return { ok: false, reason: `${where} is not a unicast address` };
    case 'loopback':
      return listed(policy.trusted, url)
        ? ALLOWED
        : { ok: false, reason: `${where} is a loopback address; list the registry as trusted to check it` };
    case 'private':
      return !policy.denyPrivate || listed(policy.trusted, url)
        ? ALLOWED
        : { ok: false, reason: `${where} is a private address, refused here` };
  }
};

export type UrlRole = 'registry' | 'token realm' | 'redirect';

/**
 * May `target` be fetched at all, before any name is resolved? `origins` are the origins already allowed
 * for this check (the registry's, and the realm's once the registry named it); a redirect must stay on one.
 */
export const urlAllowed = (
  target: string,
  role: UrlRole,
  origins: readonly string[],
  policy: RegistryCheckPolicy,
): Permission => {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return { ok: false, reason: `the ${role} is not a URL` };
  }
  const shown = `${url.protocol}//${hostOf(url)}`;
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: `the ${role} ${shown} carries credentials in its URL` };
  }
  if (role === 'redirect' && !origins.includes(url.origin)) {
    return { ok: false, reason: `a redirect to ${shown} leaves the registry and its token realm` };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && listed(policy.plainHttp, url))) {
    return {
      ok: false,
      reason:
        url.protocol === 'http:'
          ? `the ${role} ${shown} is plain HTTP; only registries listed as plain HTTP may be`
          : `the ${role} ${shown} is not HTTPS`,
    };
  }
  if (METADATA_NAMES.has(url.hostname.toLowerCase())) {
    return { ok: false, reason: `the ${role} ${shown} is a cloud metadata service` };
  }
  const literal = classifyAddress(url.hostname);
  if (literal !== undefined) {
    const permission = addressAllowed(url.hostname.replace(/^\[|\]$/g, ''), url, policy);
    if (!permission.ok) return { ok: false, reason: `the ${role} ${permission.reason}` };
  }
  return ALLOWED;
};
