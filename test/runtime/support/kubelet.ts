// How the kubelet words an image-pull failure (pkg/kubelet/images/image_manager.go) for a CRI error.
import { status } from '@grpc/grpc-js';

/** grpc-go's names for status codes, as `status.Error(...).Error()` prints them. */
const GO_CODE_NAMES: Record<status, string> = {
  [status.OK]: 'OK',
  [status.CANCELLED]: 'Canceled',
  [status.UNKNOWN]: 'Unknown',
  [status.INVALID_ARGUMENT]: 'InvalidArgument',
  [status.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [status.NOT_FOUND]: 'NotFound',
  [status.ALREADY_EXISTS]: 'AlreadyExists',
  [status.PERMISSION_DENIED]: 'PermissionDenied',
  [status.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [status.ABORTED]: 'Aborted',
  [status.OUT_OF_RANGE]: 'OutOfRange',
  [status.UNIMPLEMENTED]: 'Unimplemented',
  [status.INTERNAL]: 'Internal',
  [status.UNAVAILABLE]: 'Unavailable',
  [status.DATA_LOSS]: 'DataLoss',
  [status.UNAUTHENTICATED]: 'Unauthenticated',
};

export const goCodeName = (code: status): string => GO_CODE_NAMES[code] ?? `Code(${code})`;

/** grpc-go's `err.Error()` for a status error. */
export const grpcErrorText = (code: status, details: string): string =>
  `rpc error: code = ${goCodeName(code)} desc = ${details}`;

/**
 * When the kubelet's own context expires first, grpc-go reports the context's error, not the server's:
 * `rpc error: code = DeadlineExceeded desc = context deadline exceeded`.
 */
export const GO_CLIENT_DEADLINE_DETAILS = 'context deadline exceeded';

/** The Failed event (and ErrImagePull context) for a pull the runtime refused. */
export const failedToPullMessage = (image: string, criErrorText: string): string =>
  `Failed to pull image "${image}": ${criErrorText}`;

/** The InvalidImageName message: the kubelet parses the reference itself and never calls the runtime. */
export const invalidImageNameMessage = (image: string, parseError: string): string =>
  `Failed to apply default image tag "${image}": couldn't parse image reference "${image}": ${parseError}`;

export const KUBELET_MESSAGE_SHAPE = /^Failed to pull image ".+": rpc error: code = \w+ desc = /;
export const INVALID_IMAGE_NAME_SHAPE =
  /^Failed to apply default image tag ".+": couldn't parse image reference ".+": invalid reference format/;

/**
 * The repository path of a reference without its registry and tag, as github.com/distribution/reference
 * splits it: "Busybox:1.36" is "library/Busybox" on docker.io, "host:5000/team/MyApp:1.0" is "team/MyApp".
 */
export const remoteName = (image: string): string => {
  const slash = image.indexOf('/');
  const first = slash === -1 ? '' : image.slice(0, slash);
  const hasDomain =
    slash !== -1 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first);
  let remainder = hasDomain ? image.slice(slash + 1) : image;
  const domain = hasDomain ? first : 'docker.io';
  if ((domain === 'docker.io' || domain === 'index.docker.io') && !remainder.includes('/')) {
    remainder = `library/${remainder}`;
  }
  const tag = remainder.indexOf(':');
  return tag === -1 ? remainder : remainder.slice(0, tag);
};

const LEGACY_LOWERCASE = 'invalid reference format: repository name must be lowercase';

/** Kubelets on github.com/distribution/reference name the offending repository in this one error. */
export const currentParserWording = (image: string, legacyError: string): string =>
  legacyError === LEGACY_LOWERCASE
    ? `invalid reference format: repository name (${remoteName(image)}) must be lowercase`
    : legacyError;
