/**
 * cdk-nag findings acknowledged on purpose. Each one is tied to one construct (it covers that
 * construct and its children only) and carries the reason, which cdk-nag prints in its report.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Context key that turns acknowledgements off. The tests synthesize once with it, to prove that each
 * acknowledgement answers a finding cdk-nag really raises (none is stale or broader than needed).
 */
export const SKIP_ACKNOWLEDGEMENTS = 'pullwatch:skip-nag-acknowledgements';

export const acknowledge = (construct: IConstruct, id: string, reason: string): void => {
  if (construct.node.tryGetContext(SKIP_ACKNOWLEDGEMENTS) === true) return;
  Validations.of(construct).acknowledge({ id, reason });
};
