/** Terminal rendering of a verdict, for people. */
import type { Verdict } from '#shared/diagnosis/diagnose';
import { type RegistryCheck, registryCheckLine } from '#shared/registry-check/outcome';

// Cluster and registry text is untrusted: drop control characters so it cannot drive the terminal.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const safe = (text: string): string => text.replace(CONTROL, '');

export const renderVerdict = (verdict: Verdict & { registryCheck?: RegistryCheck }): string => {
  const lines = [
    `${verdict.title}  [${verdict.cause}, confidence ${verdict.confidence.toFixed(2)}]`,
    '',
    safe(verdict.summary),
    '',
    ...(verdict.registryCheck
      ? [`Registry check: ${safe(registryCheckLine(verdict.registryCheck))}`, '']
      : []),
    'What the registry said:',
    `  > ${safe(verdict.evidence).replace(/\n/g, '\n  > ')}`,
    '',
    `Registry: ${safe(verdict.registry.displayName)} (${safe(verdict.registry.host)}, ${verdict.registry.kind})`,
    `Why: ${verdict.explanation}`,
    '',
    'Fix:',
  ];
  verdict.fix.steps.forEach((step, index) => {
    lines.push(`  ${index + 1}. ${safe(step.text)}`);
    if (step.command) lines.push(`     $ ${safe(step.command)}`);
  });
  lines.push('', `Docs: ${verdict.fix.docs}`);
  return lines.join('\n');
};
