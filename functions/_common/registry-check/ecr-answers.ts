/**
 * Private ECR through its own API rather than the registry protocol: `DescribeImages` for the tag or
 * digest, `ListImages` for the tags, `BatchGetImage` for an index's platforms. These are the calls
 * least-privilege IAM can scope to repositories (ecr:DescribeImages, ecr:ListImages, ecr:BatchGetImage),
 * and the endpoint is the SDK's own, overridable as the SDK allows (AWS_ENDPOINT_URL_ECR or `endpoint`).
 * ECR has no anonymous reads, so the anonymous answer is always "refused".
 */
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  type ECRClient,
  type ImageIdentifier,
  ListImagesCommand,
} from '@aws-sdk/client-ecr';
import { MANIFEST_MEDIA_TYPES, indexPlatforms } from '#shared/registry-check/distribution';
import type { CheckQuestion, Read, RegistryAnswers } from '#shared/registry-check/outcome';
import { CheckRefused, type CheckBudget, RegistryUnreachable } from './guarded-http';

export interface EcrTarget {
  accountId: string;
  region: string;
  repositoryName: string;
  tag?: string;
  digest?: string;
}

const MAX_TAG_PAGES = 10;

const NETWORK_ERRORS = new Set(['TimeoutError', 'AbortError', 'RequestTimeout', 'ECONNREFUSED', 'ENOTFOUND']);

/** The SDK's failure as a read, or as the typed error the check reports. */
const translate = (error: unknown, budget: CheckBudget): Read => {
  const name = (error as { name?: string }).name ?? '';
  const code = (error as { code?: string }).code ?? '';
  if (name === 'ImageNotFoundException' || name === 'RepositoryNotFoundException') return 'absent';
  if (name === 'AccessDeniedException') return 'refused';
  if (name === 'CredentialsProviderError' || name === 'ExpiredTokenException') {
    throw new CheckRefused('no usable AWS credentials were found to ask ECR');
  }
  if (NETWORK_ERRORS.has(name) || NETWORK_ERRORS.has(code)) {
    throw new RegistryUnreachable(
      `ECR did not answer within ${Math.round(Math.min(budget.requestTimeoutMs, budget.remainingMs()))} ms`,
    );
  }
  throw new CheckRefused(`ECR refused the request (${name || 'an unknown error'})`);
};

export const ecrAnswers = async (
  client: ECRClient,
  target: EcrTarget,
  question: CheckQuestion,
  budget: CheckBudget,
): Promise<RegistryAnswers> => {
  const options = () => ({
    // AbortSignal.timeout takes whole milliseconds only (a fraction is a RangeError).
    abortSignal: AbortSignal.timeout(
      Math.max(1, Math.floor(Math.min(budget.requestTimeoutMs, budget.remainingMs()))),
    ),
  });
  const imageId: ImageIdentifier =
    target.digest !== undefined ? { imageDigest: target.digest } : { imageTag: target.tag ?? 'latest' };
  const base = { registryId: target.accountId, repositoryName: target.repositoryName };
  const answers: RegistryAnswers = { anonymous: 'refused', credentialSource: 'AWS SDK credentials' };

  if (question === 'platforms') {
    try {
      const result = await client.send(
        new BatchGetImageCommand({
          ...base,
          imageIds: [imageId],
          acceptedMediaTypes: [...MANIFEST_MEDIA_TYPES],
        }),
        options(),
      );
      const image = result.images?.[0];
      if (image?.imageManifest === undefined) {
        answers.authenticated = 'absent';
      } else {
        answers.authenticated = 'present';
        answers.platforms = indexPlatforms(image.imageManifestMediaType, image.imageManifest) ?? [];
      }
    } catch (error) {
      answers.authenticated = translate(error, budget);
    }
  } else {
    try {
      await client.send(new DescribeImagesCommand({ ...base, imageIds: [imageId] }), options());
      answers.authenticated = 'present';
    } catch (error) {
      answers.authenticated = translate(error, budget);
      if ((error as { name?: string }).name === 'RepositoryNotFoundException') answers.repository = 'absent';
    }
  }
  if (answers.authenticated === 'absent' && answers.repository !== 'absent') {
    const tags: string[] = [];
    let nextToken: string | undefined;
    try {
      for (let page = 0; page < MAX_TAG_PAGES; page++) {
        const result = await client.send(
          new ListImagesCommand({ ...base, filter: { tagStatus: 'TAGGED' }, maxResults: 1000, nextToken }),
          options(),
        );
        tags.push(...(result.imageIds ?? []).flatMap(({ imageTag }) => (imageTag ? [imageTag] : [])));
        nextToken = result.nextToken;
        if (!nextToken) break;
      }
      answers.repository = 'present';
      answers.tags = tags;
    } catch (error) {
      answers.repository = translate(error, budget);
    }
  }
  return answers;
};
