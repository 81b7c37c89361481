/**
 * A Distribution registry as far as the registry check asks of it: the ping (`/v2/`), one
 * repository's `tags/list`, and its manifests, none of which exists (so whichever tag is asked for is
 * missing while others are listed). Other repositories are unknown. It counts the requests it
 * answers, so a test can tell whether the registry was asked again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalServer } from './local-server';

export class FakeDistribution extends LocalServer {
  requests = 0;

  constructor(
    readonly repository = 'acme/app',
    readonly tags: readonly string[] = ['1.0.0', '1.0.1', '2.0.0'],
  ) {
    super('fake Distribution registry');
  }

  /** `127.0.0.1:<port>`: the registry part of an image reference. */
  get host(): string {
    return this.origin.replace(/^https?:\/\//, '');
  }

  protected handle(request: IncomingMessage, response: ServerResponse): void {
    this.requests++;
    const url = request.url ?? '';
    const send = (status: number, body: unknown) => {
      response.writeHead(status, {
        'content-type': 'application/json',
        'docker-distribution-api-version': 'registry/2.0',
      });
      response.end(request.method === 'HEAD' ? undefined : JSON.stringify(body));
    };
    if (url === '/v2/') send(200, {});
    else if (url.startsWith(`/v2/${this.repository}/tags/list`))
      send(200, { name: this.repository, tags: this.tags });
    else if (url.startsWith(`/v2/${this.repository}/manifests/`))
      send(404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
    else send(404, { errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] });
  }
}
