/**
 * The bus's rules: which events feed which consumer. One table for the CDK stack (each rule an
 * EventBridge rule in front of the consumer's SQS queue) and for local mode's in-process bus, so
 * local and AWS routing cannot drift.
 *
 * Pure: patterns and names only.
 */
import { type PullwatchPattern, heartbeatPattern, pullEventsPattern } from '#shared/contract';
import {
  type PipelinePattern,
  actionRequestedPattern,
  classifiedPattern,
  incidentEventsPattern,
  rejectedPattern,
} from '#shared/incident-events';

export type BusRulePattern = PullwatchPattern | PipelinePattern;

/** The consumers: the Lambda functions, and the queue that holds rejected input. */
export type BusRuleTarget = 'classify' | 'dedupe' | 'notify' | 'dead-letter' | 'watchdog' | 'interactions';

export interface BusRule {
  /** The rule's construct id in the stack. */
  id: string;
  target: BusRuleTarget;
  pattern: BusRulePattern;
  description: string;
}

export const BUS_RULES: readonly BusRule[] = [
  {
    id: 'PullEventsToClassify',
    target: 'classify',
    pattern: pullEventsPattern,
    description: 'Forwarder failures and recoveries → classify',
  },
  {
    id: 'ClassifiedToDedupe',
    target: 'dedupe',
    pattern: classifiedPattern,
    description: 'ImagePullClassified → dedupe',
  },
  {
    id: 'IncidentsToNotify',
    target: 'notify',
    pattern: incidentEventsPattern,
    description: 'Incident events → notify',
  },
  {
    id: 'RejectedToDeadLetters',
    target: 'dead-letter',
    pattern: rejectedPattern,
    description: 'PipelineEventRejected → the rejected-events dead-letter queue',
  },
  {
    id: 'HeartbeatsToWatchdog',
    target: 'watchdog',
    pattern: heartbeatPattern,
    description: 'Forwarder heartbeats → watchdog',
  },
  {
    id: 'ActionRequestsToInteractions',
    target: 'interactions',
    pattern: actionRequestedPattern,
    description: 'IncidentActionRequested (verified Slack actions) → the interactions worker',
  },
];

/** The rule that feeds `target`. */
export const busRuleFor = (target: BusRuleTarget): BusRule =>
  BUS_RULES.find((rule) => rule.target === target)!;
