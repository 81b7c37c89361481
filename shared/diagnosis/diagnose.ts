// Interface first; the rules are being written.
import type { CauseId } from './causes';

export interface DiagnosisInput {
  /** The kubelet's waiting reason, e.g. ErrImagePull, ImagePullBackOff, InvalidImageName. */
  reason?: string;
  /** The message text exactly as the kubelet or runtime reported it. */
  message: string;
  /** The image reference from the pod spec, if known. */
  image?: string;
}

export interface Verdict {
  cause: CauseId;
}

export const diagnose = (_input: DiagnosisInput): Verdict => ({ cause: 'unknown' });
