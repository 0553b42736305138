/** DingTalk's limits, each written once (shared/dingtalk-api.md §4, §6, §7.2, §10, with the §0.4 choices). */
export const LIMITS = {
  /** Field limits (characters, counted as code points). */
  textContent: 5000,
  title: 64,
  markdownText: 5000,
  singleTitle: 20,
  singleUrl: 500,
  buttonTitle: 20,
  buttonUrl: 700,
  buttonListJson: 1000,
  voiceMaxSeconds: 59,
  /**
   * Not DingTalk's: the most a text or markdown message may hold. Longer than a surface takes (5 000 characters in a
   * work notification, 20 000 bytes in a robot body), it is split into parts (or truncated) when it is rendered.
   */
  longText: 100_000,
  atUserIds: 50,
  /** Per call. */
  workNoticeUserIds: 100,
  workNoticeDeptIds: 20,
  workNoticeRecipients: 5000,
  statusBarUserIds: 5,
  otoUserIds: 20,
  recallKeys: 20,
  /** Bytes. */
  robotBodyBytes: 20_000,
  msgParamBytes: 15_000,
  /** Quotas. */
  robotPerMinute: 20,
  robotBlockMs: 600_000,
  appCallsPerSecond: 20,
  perUserPerDay: 500,
  recipientsPerMinute: 5000,
  toAllPerDay: 3,
} as const;
