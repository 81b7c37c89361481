import { failureFingerprint, isImagePullReason } from '../../forwarder/pull-text';
import { NOT_FOUND_EVENT, NOT_FOUND_STATUS } from './pods';

describe('what counts as an image-pull failure', () => {
  it.each([
    'ErrImagePull',
    'ImagePullBackOff',
    'InvalidImageName',
    'ErrImageNeverPull',
    'RegistryUnavailable',
    'ImageInspectError',
    'SignatureValidationFailed',
    'ErrImageSignatureInvalid',
  ])('%s is a pull failure', (reason) => expect(isImagePullReason(reason)).toBe(true));

  it.each([
    'CrashLoopBackOff',
    'ContainerCreating',
    'CreateContainerConfigError',
    'PodInitializing',
    undefined,
  ])('%s is not', (reason) => expect(isImagePullReason(reason)).toBe(false));
});

describe('the failure fingerprint', () => {
  it('is the same for the status message and the event that carries the prefix', () => {
    expect(failureFingerprint('ErrImagePull', NOT_FOUND_STATUS)).toBe(
      failureFingerprint('ErrImagePull', NOT_FOUND_EVENT),
    );
  });

  it('treats ErrImagePull and ImagePullBackOff as one reason', () => {
    expect(failureFingerprint('ErrImagePull', NOT_FOUND_EVENT)).toBe(
      failureFingerprint('ImagePullBackOff', NOT_FOUND_EVENT),
    );
    expect(failureFingerprint('InvalidImageName', 'x')).not.toBe(failureFingerprint('ErrImagePull', 'x'));
  });

  it('ignores addresses, request IDs and timestamps, but not the error', () => {
    const a =
      'dial tcp 10.0.0.1:443: i/o timeout (request id: 4f1c2d3e-aaaa-4bbb-8ccc-123456789abc) at 2026-03-01T10:00:00Z';
    const b =
      'dial tcp 10.0.0.2:443: i/o timeout (request id: 9e8d7c6b-aaaa-4bbb-8ccc-123456789abc) at 2026-03-01T10:05:00Z';
    expect(failureFingerprint('ErrImagePull', a)).toBe(failureFingerprint('ErrImagePull', b));
    expect(failureFingerprint('ErrImagePull', a)).not.toBe(
      failureFingerprint('ErrImagePull', 'dial tcp 10.0.0.1:443: connection refused'),
    );
  });
});
