/**
 * A Docker token server of our own (the protocol Distribution's `auth.token` expects): GET
 * /token?service=…&scope=repository:<name>:<actions>, optional basic credentials, and an ES256 JWT whose
 * `x5c` header carries the signing certificate from the registry's root bundle. Anonymous callers get a
 * token with no access; known users get what they ask for; wrong credentials get 401.
 */
import { type KeyObject, X509Certificate, createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalServer } from '../../../../support/local-server';

export interface TokenRequest {
  scope: string[];
  /** The user name, when the request carried valid credentials. */
  user?: string;
  anonymous: boolean;
}

const base64url = (value: Buffer | string): string => Buffer.from(value).toString('base64url');

export class TokenServer extends LocalServer {
  readonly requests: TokenRequest[] = [];
  private readonly signerKey: KeyObject;
  private readonly signerCert: X509Certificate;

  constructor(
    private readonly options: {
      tls: { cert: Buffer; key: Buffer };
      signer: { certPath: string; keyPath: string };
      issuer: string;
      service: string;
      users: Record<string, string>;
    },
  ) {
    super('token server', options.tls);
    this.signerKey = createPrivateKey(readFileSync(options.signer.keyPath));
    this.signerCert = new X509Certificate(readFileSync(options.signer.certPath));
  }

  get realm(): string {
    return `${this.origin}/token`;
  }

  protected override handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'https://token.invalid');
    const scope = url.searchParams.getAll('scope');
    const header = request.headers.authorization;
    let user: string | undefined;
    if (header !== undefined) {
      const [name = '', password] = Buffer.from(header.replace(/^Basic /, ''), 'base64')
        .toString('utf8')
        .split(/:(.*)/s);
      if (this.options.users[name] === undefined || this.options.users[name] !== password) {
        this.requests.push({ scope, anonymous: false });
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = name;
    }
    this.requests.push({ scope, anonymous: user === undefined, ...(user === undefined ? {} : { user }) });
    const now = Math.floor(Date.now() / 1000);
    const access =
      user === undefined
        ? []
        : scope.flatMap((entry) => {
            const [type, name, actions] = entry.split(':');
            return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
          });
    const jwtHeader = { typ: 'JWT', alg: 'ES256', x5c: [this.signerCert.raw.toString('base64')] };
    const claims = {
      iss: this.options.issuer,
      sub: user ?? '',
      aud: url.searchParams.get('service') ?? this.options.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${base64url(JSON.stringify(jwtHeader))}.${base64url(JSON.stringify(claims))}`;
    // JWS ES256 signatures are r||s, not DER.
    const signature = sign('sha256', Buffer.from(signingInput), {
      key: this.signerKey,
      dsaEncoding: 'ieee-p1363',
    });
    const token = `${signingInput}.${base64url(signature)}`;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  }
}
