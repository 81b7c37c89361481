/**
 * The only way a registry check talks HTTP. Every URL passes shared/registry-check/url-safety.ts before
 * it is fetched, and every address its name resolves to passes it again inside the connection's own
 * lookup, so a name cannot resolve to one address for the check and another for the connection.
 *
 * Failure semantics: a refusal by the rules, or an answer over its size limit, is `CheckRefused` (the
 * check is skipped, with the reason); no answer in time, a refused connection, a failed name lookup or a
 * TLS failure is `RegistryUnreachable`. Neither message carries a header, a body or a query string, so
 * no credential can leak through one. TLS trust is Node's own (NODE_EXTRA_CA_CERTS adds authorities).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  type RegistryCheckPolicy,
  type UrlRole,
  addressAllowed,
  hostOf,
  urlAllowed,
} from '#shared/registry-check/url-safety';

export class CheckRefused extends Error {
  override readonly name = 'CheckRefused';
}

export class RegistryUnreachable extends Error {
  override readonly name = 'RegistryUnreachable';
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  url: URL;
}

export interface GuardedRequest {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Bytes of body read at most; a longer answer is refused. */
  maxBytes: number;
}

/** The time a check has left; every request gets the smaller of its own limit and what remains. */
export interface CheckBudget {
  requestTimeoutMs: number;
  /** Milliseconds left for the whole check. */
  remainingMs(): number;
}

const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const TLS_CODES = /^(?:ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

const describeFailure = (error: NodeJS.ErrnoException, host: string): string => {
  const code = error.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the name ${host} does not resolve (${code})`;
  if (code === 'ECONNREFUSED') return `${host} refused the connection`;
  if (code === 'ECONNRESET' || code === 'EPIPE') return `${host} reset the connection`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `no route to ${host} (${code})`;
  if (TLS_CODES.test(code)) return `TLS with ${host} failed (${code})`;
  return `the connection to ${host} failed (${code || error.message.slice(0, 80)})`;
};

export class GuardedHttp {
  /** Origins this check may follow redirects and links to: the registry's, then the realm's. */
  private readonly origins: string[] = [];
  constructor(
    private readonly policy: RegistryCheckPolicy,
    private readonly budget: CheckBudget,
    private readonly onContact: (origin: string) => void = () => undefined,
  ) {}

  allowOrigin(origin: string): void {
    if (!this.origins.includes(origin)) this.origins.push(origin);
  }

  /** Throws CheckRefused when `target` may not be fetched in `role`. */
  vet(target: string, role: UrlRole): URL {
    const permission = urlAllowed(target, role, this.origins, this.policy);
    if (!permission.ok) throw new CheckRefused(permission.reason);
    return new URL(target);
  }

  async request(target: string, role: UrlRole, init: GuardedRequest): Promise<HttpAnswer> {
    let url = this.vet(target, role);
    let headers = init.headers ?? {};
    for (let hop = 0; ; hop++) {
      const answer = await this.once(url, init.method ?? 'GET', headers, init.maxBytes);
      const location = answer.headers.location;
      if (!REDIRECTS.has(answer.status) || location === undefined) return answer;
      if (hop >= MAX_REDIRECTS)
        throw new CheckRefused(`more than ${MAX_REDIRECTS} redirects from ${hostOf(url)}`);
      const next = this.vet(new URL(location, url).toString(), 'redirect');
      // Credentials are for the origin that asked for them.
      if (next.origin !== url.origin) headers = withoutAuthorization(headers);
      url = next;
    }
  }

  private once(
    url: URL,
    method: string,
    headers: Record<string, string>,
    maxBytes: number,
  ): Promise<HttpAnswer> {
    const timeoutMs = Math.round(Math.min(this.budget.requestTimeoutMs, this.budget.remainingMs()));
    const host = hostOf(url);
    if (timeoutMs <= 0)
      return Promise.reject(new RegistryUnreachable(`the check ran out of time before asking ${host}`));
    let refusal: string | undefined;
    const lookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error, '', 0);
        for (const { address } of addresses) {
          const permission = addressAllowed(address, url, this.policy);
          if (!permission.ok) {
            refusal = permission.reason;
            return callback(
              Object.assign(new Error(permission.reason), { code: 'EREFUSED_BY_POLICY' }),
              '',
              0,
            );
          }
        }
        if (options.all)
          return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        const first = addresses[0];
        return first ? callback(null, first.address, first.family) : callback(new Error('no address'), '', 0);
      });
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const request = send(url, {
        method,
        headers: { 'user-agent': 'pullwatch-registry-check', ...headers },
        lookup,
        agent: false,
      });
      this.onContact(url.origin);
      const timer = setTimeout(() => {
        finish(() => reject(new RegistryUnreachable(`${host} did not answer within ${timeoutMs} ms`)));
        request.destroy();
      }, timeoutMs);
      request.once('error', (error: NodeJS.ErrnoException) =>
        finish(() =>
          reject(
            refusal !== undefined
              ? new CheckRefused(refusal)
              : new RegistryUnreachable(describeFailure(error, host)),
          ),
        ),
      );
      request.once('response', (response: IncomingMessage) => {
        const declared = Number(response.headers['content-length'] ?? '0');
        const tooLarge = () =>
          finish(() => reject(new CheckRefused(`${host} sent an answer larger than ${maxBytes} bytes`)));
        // A HEAD declares the length of the body it does not send.
        if (method !== 'HEAD' && declared > maxBytes) {
          tooLarge();
          request.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            tooLarge();
            request.destroy();
            return;
          }
          chunks.push(chunk);
        });
        response.once('end', () =>
          finish(() =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
              url,
            }),
          ),
        );
        response.once('error', (error: NodeJS.ErrnoException) =>
          finish(() => reject(new RegistryUnreachable(describeFailure(error, host)))),
        );
      });
      request.end();
    });
  }
}

const withoutAuthorization = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
