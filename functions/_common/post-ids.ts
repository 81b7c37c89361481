/**
 * The ids of the posts an owner claims in its item (functions/_common/slack-posts.ts): one per
 * message pullwatch may send about it, so each is sent exactly once. The watchdog's are in
 * shared/watchdog.ts, beside the silences they number.
 */

/** An incident's top-level message (or its reply under a storm's roll-up). */
export const MAIN_POST = 'main';
/** The thread reply when the incident resolves (the n-th time). */
export const resolutionPostId = (resolution: number): string => `resolved-${resolution}`;
/** The thread reply when it reopens (the n-th time). */
export const reopenPostId = (reopening: number): string => `reopened-${reopening}`;
/** A storm bucket's roll-up message. */
export const ROLLUP_POST = 'rollup';
