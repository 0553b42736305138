/** The language of what the CLI prints for people: Chinese or English. */
export type Lang = 'en' | 'zh';

/** --lang when given; else LC_ALL, LC_MESSAGES or LANG naming Chinese (zh_CN.UTF-8, zh_TW…) gives Chinese; else English. */
export function langOf(flag: string | undefined, env: NodeJS.ProcessEnv): Lang {
  if (flag === 'zh' || flag === 'en') return flag;
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return /^zh/i.test(locale) ? 'zh' : 'en';
}
