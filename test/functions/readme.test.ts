/**
 * functions/README.md shows real rendered messages: each example, as the real renderers produce it
 * today, must be in the README verbatim (after a deliberate change:
 * `npx tsx test/functions/support/message-examples.ts --write`).
 */
import { readFileSync } from 'node:fs';
import { WINDOW_VARIABLES } from '#shared/incident-windows';
import { README_PATH, exampleBlock, readmeExamples } from './support/message-examples';

const README = readFileSync(README_PATH, 'utf8');
const REGENERATE = 'npx tsx test/functions/support/message-examples.ts --write';

describe('functions/README.md', () => {
  it.each(Object.entries(readmeExamples()))('shows the %s example as rendered', (name, text) => {
    if (!README.includes(exampleBlock(name, text))) {
      throw new Error(
        `functions/README.md no longer shows the ${name} message as rendered: run ${REGENERATE}`,
      );
    }
  });

  it('names every window variable with its default', () => {
    for (const variable of WINDOW_VARIABLES) {
      const fallback = variable.kind === 'duration' ? `\`${variable.fallback}\`` : variable.fallback;
      expect(README).toContain(`| \`${variable.name}\` | ${fallback} |`);
    }
  });
});
