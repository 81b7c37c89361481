/**
 * A local Amazon ECR endpoint for the calls the registry check makes (AWS JSON 1.1,
 * `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Operation>`): DescribeImages, ListImages (paged by
 * `maxResults`/`nextToken`) and BatchGetImage. A request without a SigV4 `Authorization` header is refused
 * as AWS refuses it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LocalServer, readBody, sendAwsJson } from './local-server';

const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';

export interface FakeEcrImage {
  digest: string;
  manifest: string;
  mediaType: string;
}

interface ImageId {
  imageTag?: string;
  imageDigest?: string;
}

export class FakeEcr extends LocalServer {
  /** repository name -> tag -> image. */
  readonly repositories = new Map<string, Map<string, FakeEcrImage>>();
  /** Operations received, in order, with the repository asked about. */
  readonly calls: Array<{ operation: string; repositoryName: string; signed: boolean }> = [];

  constructor() {
    super('fake ECR');
  }

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = JSON.parse((await readBody(request)) || '{}') as {
      repositoryName?: string;
      imageIds?: ImageId[];
      maxResults?: number;
      nextToken?: string;
    };
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
    const signed = /^AWS4-HMAC-SHA256 Credential=\S+, SignedHeaders=\S+, Signature=[0-9a-f]{64}$/.test(
      String(request.headers.authorization ?? ''),
    );
    const repositoryName = body.repositoryName ?? '';
    this.calls.push({ operation, repositoryName, signed });
    const fail = (type: string, message: string, status = 400) =>
      sendAwsJson(response, status, { __type: type, message }, type);
    if (!signed) return fail('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
    const repository = this.repositories.get(repositoryName);
    if (!repository) {
      return fail(
        'RepositoryNotFoundException',
        `The repository with name '${repositoryName}' does not exist in the registry`,
      );
    }
    const find = (id: ImageId | undefined): [string, FakeEcrImage] | undefined =>
      [...repository.entries()].find(
        ([tag, image]) =>
          tag === id?.imageTag || (id?.imageDigest !== undefined && image.digest === id.imageDigest),
      );
    switch (operation) {
      case 'DescribeImages': {
        const found = find(body.imageIds?.[0]);
        if (!found)
          return fail(
            'ImageNotFoundException',
            'The image requested does not exist in the specified repository.',
          );
        return sendAwsJson(response, 200, {
          imageDetails: [{ repositoryName, imageDigest: found[1].digest, imageTags: [found[0]] }],
        });
      }
      case 'ListImages': {
        const all = [...repository.entries()].map(([imageTag, image]) => ({
          imageTag,
          imageDigest: image.digest,
        }));
        const start = Number(body.nextToken ?? '0');
        const size = body.maxResults ?? 100;
        const page = all.slice(start, start + size);
        const next = start + size < all.length ? String(start + size) : undefined;
        return sendAwsJson(response, 200, {
          imageIds: page,
          ...(next === undefined ? {} : { nextToken: next }),
        });
      }
      case 'BatchGetImage': {
        const id = body.imageIds?.[0];
        const found = find(id);
        return sendAwsJson(
          response,
          200,
          found
            ? {
                images: [
                  {
                    repositoryName,
                    imageId: { imageTag: found[0], imageDigest: found[1].digest },
                    imageManifest: found[1].manifest,
                    imageManifestMediaType: found[1].mediaType,
                  },
                ],
                failures: [],
              }
            : {
                images: [],
                failures: [
                  { imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' },
                ],
              },
        );
      }
      default:
        return fail('UnknownOperationException', `unknown operation ${operation}`);
    }
  }
}
