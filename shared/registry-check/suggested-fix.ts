/**
 * The fix with the registry's nearest tag filled in: the step that points the workload at an image
 * that exists names `<existing-tag>` (shared/diagnosis), and a check that confirmed the tag is missing
 * knows the nearest ones. The tag is marked as a suggestion: nearest is not necessarily the build the
 * workload wants. Only a tag of the tag grammar is put into a command (it came from a registry).
 *
 * Pure.
 */
import type { Verdict } from '../diagnosis/diagnose';
import { EXISTING_TAG_PLACEHOLDER } from '../diagnosis/workload-steps';
import type { IncidentRegistryCheck } from './outcome';

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export const suggestedTagOf = (check: IncidentRegistryCheck | undefined): string | undefined => {
  if (check === undefined || check.outcome === 'unreachable' || check.outcome === 'skipped') return undefined;
  const nearest = check.suggestedTags[0];
  return nearest !== undefined && TAG.test(nearest) ? nearest : undefined;
};

export const withSuggestedTag = (verdict: Verdict, check: IncidentRegistryCheck | undefined): Verdict => {
  const tag = suggestedTagOf(check);
  if (
    tag === undefined ||
    !verdict.fix.steps.some((step) => step.command?.includes(EXISTING_TAG_PLACEHOLDER))
  )
    return verdict;
  const others = check!.suggestedTags.slice(1).filter((other) => TAG.test(other));
  return {
    ...verdict,
    fix: {
      ...verdict.fix,
      steps: verdict.fix.steps.map((step) =>
        step.command?.includes(EXISTING_TAG_PLACEHOLDER)
          ? {
              text: `${step.text.replace(/:$/, '')} (suggested by the registry check: ${tag} is the nearest existing tag${others.length > 0 ? `, then ${others.join(', ')}` : ''}; make sure it is the build you want):`,
              command: step.command.split(EXISTING_TAG_PLACEHOLDER).join(tag),
            }
          : step,
      ),
    },
  };
};
