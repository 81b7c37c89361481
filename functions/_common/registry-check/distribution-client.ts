/**
 * The OCI distribution API as a registry check reads it: the `/v2/` ping and its challenge, a pull token
 * from the realm the registry names (anonymous, or with basic credentials), `HEAD` of a manifest, `GET`
 * of an index, and `tags/list` page by page. Each session reads as one identity: anonymous, or the
 * user's credentials. Answers are reduced to present / absent / refused; nothing of a body is kept.
 */
import {
  type Challenge,
  MANIFEST_MEDIA_TYPES,
  indexPlatforms,
  nextLink,
  parseChallenge,
  parseTagList,
  parseTokenAnswer,
  tokenUrl,
} from '#shared/registry-check/distribution';
import type { Read } from '#shared/registry-check/outcome';
import type { RegistryCredentials } from './credentials';
import { CheckRefused, type GuardedHttp, type HttpAnswer } from './guarded-http';

export interface AnswerLimits {
  /** Distribution itself refuses manifests over 4 MiB. */
  manifestBytes: number;
  tagPageBytes: number;
  tokenBytes: number;
  /** Tags asked for per page (`n`). */
  tagPageSize: number;
  /** Pages read at most; the nearest tags come from what was read. */
  tagPages: number;
}

export const DEFAULT_LIMITS: AnswerLimits = {
  manifestBytes: 4 * 1024 * 1024,
  tagPageBytes: 1024 * 1024,
  tokenBytes: 64 * 1024,
  tagPageSize: 1000,
  tagPages: 10,
};

const ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');

const readOf = (status: number, what: string): Read => {
  if (status >= 200 && status < 300) return 'present';
  if (status === 404) return 'absent';
  if (status === 401 || status === 403) return 'refused';
  throw new CheckRefused(`the registry answered HTTP ${status} to ${what}`);
};

export class RegistryPing {
  constructor(
    readonly status: number,
    readonly challenge: Challenge | undefined,
  ) {}
}

export const ping = async (
  http: GuardedHttp,
  origin: string,
  limits: AnswerLimits,
): Promise<RegistryPing> => {
  http.allowOrigin(origin);
  const answer = await http.request(`${origin}/v2/`, 'registry', { maxBytes: limits.tokenBytes });
  return new RegistryPing(answer.status, parseChallenge(headerText(answer, 'www-authenticate')));
};

const headerText = (answer: HttpAnswer, name: string): string | undefined => {
  const value = answer.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

export class RegistrySession {
  /** undefined: not yet authorised; null: this identity got no authorisation (a read is refused). */
  private authorization: string | null | undefined;

  constructor(
    private readonly http: GuardedHttp,
    private readonly origin: string,
    private readonly repositoryPath: string,
    private readonly registryPing: RegistryPing,
    private readonly credentials: RegistryCredentials | undefined,
    private readonly limits: AnswerLimits,
  ) {}

  private async authorize(): Promise<string | null> {
    if (this.authorization !== undefined) return this.authorization;
    const challenge = this.registryPing.challenge;
    if (this.registryPing.status !== 401 || challenge === undefined) {
      this.authorization = '';
    } else if (challenge.scheme === 'basic') {
      this.authorization = this.credentials ? this.credentials.basicAuthorization() : null;
    } else if (challenge.scheme === 'bearer') {
      this.authorization = await this.bearer(challenge);
    } else {
      throw new CheckRefused(
        `the registry asks for ${challenge.name} authentication, which the check does not speak`,
      );
    }
    return this.authorization;
  }

  private async bearer(challenge: { realm: string; service?: string }): Promise<string | null> {
    const url = tokenUrl(challenge, this.repositoryPath);
    this.http.vet(url.toString(), 'token realm');
    this.http.allowOrigin(url.origin);
    const answer = await this.http.request(url.toString(), 'token realm', {
      maxBytes: this.limits.tokenBytes,
      headers: this.credentials ? { authorization: this.credentials.basicAuthorization() } : {},
    });
    if (answer.status === 401 || answer.status === 403) return null;
    if (answer.status !== 200) {
      throw new CheckRefused(`the token realm ${url.host} answered HTTP ${answer.status}`);
    }
    const token = parseTokenAnswer(answer.body);
    if (token === undefined) throw new CheckRefused(`the token realm ${url.host} sent no token`);
    return `Bearer ${token}`;
  }

  private async get(path: string, method: 'GET' | 'HEAD', maxBytes: number, accept?: string) {
    const authorization = await this.authorize();
    if (authorization === null) return undefined;
    return this.http.request(`${this.origin}${path}`, 'registry', {
      method,
      maxBytes,
      headers: {
        ...(authorization === '' ? {} : { authorization }),
        ...(accept === undefined ? {} : { accept }),
      },
    });
  }

  /** Does the registry have this tag or digest, for this identity? */
  async manifest(reference: string): Promise<Read> {
    const answer = await this.get(this.manifestPath(reference), 'HEAD', 0, ACCEPT);
    return answer ? readOf(answer.status, 'the manifest request') : 'refused';
  }

  /** The platforms of the reference's index ([] for a single manifest), or the read that failed. */
  async platforms(reference: string): Promise<{ read: Read; platforms?: string[] }> {
    const answer = await this.get(this.manifestPath(reference), 'GET', this.limits.manifestBytes, ACCEPT);
    if (!answer) return { read: 'refused' };
    const read = readOf(answer.status, 'the manifest request');
    if (read !== 'present') return { read };
    const platforms = indexPlatforms(headerText(answer, 'content-type'), answer.body);
    if (platforms === undefined) throw new CheckRefused('the registry sent a manifest that does not parse');
    return { read, platforms };
  }

  /** Every tag of the repository, page by page through `Link`, up to the page limit. */
  async tags(): Promise<{ read: Read; tags: string[]; complete: boolean }> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${this.repositoryPath}/tags/list?n=${this.limits.tagPageSize}`;
    for (let page = 0; path !== undefined; page++) {
      if (page >= this.limits.tagPages) return { read: 'present', tags, complete: false };
      const answer = await this.get(path, 'GET', this.limits.tagPageBytes);
      if (!answer) return { read: 'refused', tags, complete: false };
      const read = readOf(answer.status, 'the tag list request');
      if (read !== 'present') return { read, tags, complete: false };
      const pageTags = parseTagList(answer.body);
      if (pageTags === undefined) throw new CheckRefused('the registry sent a tag list that does not parse');
      tags.push(...pageTags);
      const next = nextLink(headerText(answer, 'link'));
      if (next === undefined) break;
      // The next page stays on the registry: a Link elsewhere is refused like a redirect.
      const url = this.http.vet(new URL(next, this.origin).toString(), 'redirect');
      path = `${url.pathname}${url.search}`;
    }
    return { read: 'present', tags, complete: true };
  }

  private manifestPath(reference: string): string {
    return `/v2/${this.repositoryPath}/manifests/${encodeURIComponent(reference)}`;
  }
}
