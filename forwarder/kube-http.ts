/**
 * GET requests to the Kubernetes API with the credentials, CA and proxy of a KubeConfig, returning
 * plain JSON (as watch events arrive). The forwarder uses this instead of the generated API classes:
 * those load every Kubernetes model (about 40 MB of memory) and turn timestamps into Dates.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly statusCode: number,
    readonly path: string,
    message: string,
  ) {
    super(`GET ${path}: ${statusCode} ${message}`);
  }
}

export class KubeHttp {
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly timeoutMs = 60_000,
  ) {}

  /** GETs a path (with query) and parses the JSON body; throws KubeApiError on non-2xx. */
  async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [key, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const options: https.RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(options);
    const headers = { ...(options.headers ?? {}), accept: 'application/json' } as Record<string, string>;
    if (options.auth) headers.authorization ??= `Basic ${Buffer.from(options.auth).toString('base64')}`;
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise<T>((resolve, reject) => {
      const request = transport.get(
        url,
        { ...options, auth: undefined, headers, timeout: this.timeoutMs },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              let message = response.statusMessage ?? '';
              try {
                message = (JSON.parse(text) as { message?: string }).message ?? message;
              } catch {
                // not a Status object
              }
              reject(new KubeApiError(status, url.pathname, message));
              return;
            }
            try {
              resolve(JSON.parse(text) as T);
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      request.on('timeout', () =>
        request.destroy(new Error(`GET ${url.pathname} timed out after ${this.timeoutMs} ms`)),
      );
      request.on('error', reject);
    });
  }

  /** One page of a collection. */
  listPage<T extends KubernetesObject>(
    path: string,
    options: { fieldSelector?: string; limit?: number; continueToken?: string },
  ): Promise<KubernetesListObject<T>> {
    return this.get<KubernetesListObject<T> & { metadata?: { continue?: string } }>(path, {
      fieldSelector: options.fieldSelector,
      limit: options.limit,
      continue: options.continueToken,
    }).then((list) => ({
      ...list,
      items: list.items ?? [],
      // The generated client calls the token `_continue`; the wire calls it `continue`.
      metadata: { ...list.metadata, _continue: list.metadata?.continue },
    }));
  }

  /** The owner references of an object, [] if it has none, null if it does not exist. */
  async ownersOf(
    path: string,
  ): Promise<Array<{ kind: string; name: string; uid?: string; controller?: boolean }> | null> {
    try {
      const object = await this.get<KubernetesObject>(path);
      return object.metadata?.ownerReferences ?? [];
    } catch (error) {
      if (error instanceof KubeApiError && error.statusCode === 404) return null;
      throw error;
    }
  }
}
