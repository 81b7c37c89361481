/**
 * The interactions worker behind its queue: `IncidentActionRequested` events (the endpoint's
 * verified actions) → applyActionRequest. The actions on one incident in a batch are applied in the
 * order they came, one after the other; a failure fails only that incident's records (retried).
 */
import { subjectIdOf } from '#shared/incident-actions';
import { parseActionRequestedEvent } from '#shared/incident-events';
import { createQueueHandler, handleGroups } from '../_common/batch';
import { describeError } from '../_common/observability';
import { isExpectedRetry } from '../_common/slack-posts';
import { type ApplyDeps, applyActionRequest } from './apply';

export const createInteractionsWorker = (deps: ApplyDeps & { concurrency?: number }) =>
  createQueueHandler(deps, {
    stage: 'interactions',
    parse: (input) => parseActionRequestedEvent(input).request,
    handle: (items) =>
      handleGroups(items, {
        groupOf: (request) => subjectIdOf(request.subject),
        concurrency: deps.concurrency ?? 4,
        handle: async (group) => {
          for (const { item } of group) await applyActionRequest(deps, item);
        },
        failed: (error, _group, id) =>
          deps.log[isExpectedRetry(error) ? 'info' : 'warn']('action not applied; will retry', {
            subject: id,
            ...describeError(error),
          }),
      }),
  });
