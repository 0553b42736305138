const DAY_MS = 86_400_000;
const SHANGHAI = 8 * 3_600_000;

/** DingTalk's "per day" is the calendar day in Asia/Shanghai (UTC+8). */
export const shanghaiDay = (ms: number) => Math.floor((ms + SHANGHAI) / DAY_MS);
export const nextShanghaiMidnight = (ms: number) => (shanghaiDay(ms) + 1) * DAY_MS - SHANGHAI;
export { DAY_MS };
