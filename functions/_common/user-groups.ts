/**
 * The members of Slack user groups, for the mute allow-list, cached briefly: a group's membership
 * changes rarely, and a burst of clicks asks Slack once. Failures are not cached (the next click
 * asks again) and are thrown: the caller refuses the mute (fail closed).
 */
import type { SlackPeople } from './notifier';

/** How long a group's member list is trusted. */
export const USER_GROUP_CACHE_MS = 60_000;

export class CachedUserGroups {
  private readonly cache = new Map<string, { members: ReadonlySet<string>; until: number }>();

  constructor(
    private readonly slack: Pick<SlackPeople, 'userGroupMembers'>,
    private readonly now: () => number = Date.now,
    private readonly cacheMs = USER_GROUP_CACHE_MS,
  ) {}

  /** Whether `userId` is in any of `groups` (asks Slack about the groups not cached). */
  async inAny(groups: readonly string[], userId: string): Promise<boolean> {
    for (const group of groups) if ((await this.members(group)).has(userId)) return true;
    return false;
  }

  private async members(group: string): Promise<ReadonlySet<string>> {
    const now = this.now();
    const cached = this.cache.get(group);
    if (cached !== undefined && now < cached.until) return cached.members;
    const members = new Set(await this.slack.userGroupMembers(group));
    this.cache.set(group, { members, until: now + this.cacheMs });
    return members;
  }
}
