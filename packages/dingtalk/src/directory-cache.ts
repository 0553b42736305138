/** mobile → userid, with misses remembered too (null) so an unknown mobile is not looked up on every send. */
export interface DirectoryCache {
  /** undefined = not cached; null = known to have no user. */
  get(mobile: string): Promise<string | null | undefined>;
  set(mobile: string, userid: string | null): Promise<void>;
}

export class MemoryDirectoryCache implements DirectoryCache {
  private readonly entries = new Map<string, { userid: string | null; until: number }>();

  constructor(
    private readonly hitTtlMs = 24 * 3_600_000,
    private readonly missTtlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(mobile: string): Promise<string | null | undefined> {
    const entry = this.entries.get(mobile);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(mobile);
      return undefined;
    }
    return entry.userid;
  }

  async set(mobile: string, userid: string | null): Promise<void> {
    this.entries.set(mobile, { userid, until: this.now() + (userid === null ? this.missTtlMs : this.hitTtlMs) });
  }
}
