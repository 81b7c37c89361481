/**
 * The dead-letter file of local mode (`dead-letters.jsonl`): what SQS's dead-letter queues and the
 * rejected-events queue hold in AWS. Each entry is said once on the terminal, when it is written:
 * a "gave up" line means the entry really is in the file.
 */
import { appendFileSync } from 'node:fs';
import type { DeadLetter, QueueHandler } from './bus';

export interface DeadLetterFile {
  /** The bus's hook: a record that used up its receives. */
  onDeadLetter: (letter: DeadLetter) => void;
  /** The rejected-events rule's target: events a stage refused as invalid. */
  onRejected: QueueHandler;
}

export const deadLetterFile = (
  path: string,
  shownPath: string,
  warn: (line: string) => void,
): DeadLetterFile => ({
  onDeadLetter: (letter) => {
    appendFileSync(path, `${JSON.stringify({ at: new Date().toISOString(), ...letter })}\n`);
    warn(
      `${letter.target} gave up on a ${letter.event['detail-type']} event after ${letter.attempts} attempts (${letter.reason}); kept in ${shownPath}`,
    );
  },
  onRejected: (event) => {
    for (const record of event.Records) {
      const rejected = JSON.parse(record.body) as {
        detail?: { stage?: string; reason?: string; field?: string };
      };
      appendFileSync(
        path,
        `${JSON.stringify({ at: new Date().toISOString(), rejected: rejected.detail })}\n`,
      );
      warn(
        `${rejected.detail?.stage ?? 'pipeline'} rejected an event (${rejected.detail?.reason ?? 'invalid'}${rejected.detail?.field ? `, field ${rejected.detail.field}` : ''}); kept in ${shownPath}`,
      );
    }
    return Promise.resolve();
  },
});
