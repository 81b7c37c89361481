/**
 * `auth.test` once per container (at its first invocation): a refused token is said in one clear
 * line naming the secret and SLACK_BOT_TOKEN (never the token), and counted (`SlackAuthRefused`,
 * by the notifier; the stack alarms on it). It does not stop the function: every post it cannot make keeps its
 * timer, and goes out once the secret holds a good token.
 */
import type { AuthCheck } from './notifier';
import type { Log } from './observability';

export interface SlackAuthCheckDeps {
  checkAuth: () => Promise<AuthCheck>;
  /** Where the token comes from, as the operator knows it (a secret's id). */
  tokenSource: string;
  log: Log;
}

/** Runs the check the first time it is called; later calls wait for that one. */
export const slackAuthCheckOnce = (deps: SlackAuthCheckDeps): (() => Promise<AuthCheck>) => {
  let checked: Promise<AuthCheck> | undefined;
  return () =>
    (checked ??= deps.checkAuth().then((auth) => {
      // Counted (SlackAuthRefused) by the notifier, as every refused call is.
      if (auth.kind === 'refused') {
        deps.log.error(
          `Slack refused the bot token in ${deps.tokenSource} (SLACK_BOT_TOKEN): ${auth.error}; nothing is posted until the secret holds a valid bot token`,
          { slackError: auth.error },
        );
      } else if (auth.kind === 'unknown') {
        // Says nothing about the token: ask again in the next container.
        deps.log.warn('could not check the Slack bot token (SLACK_BOT_TOKEN) with auth.test', {
          errorMessage: auth.error,
        });
      }
      return auth;
    }));
};
