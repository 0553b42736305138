import { UsageError } from './options.js';

/** The language of what the CLI prints for people: Chinese or English. */
export type Lang = 'en' | 'zh';

/** A language tag or locale naming Chinese or English: zh, zh-CN, zh_TW.UTF-8, en-US… */
const langOfTag = (tag: string): Lang | undefined => (/^zh(?:[-_.]|$)/i.test(tag) ? 'zh' : /^en(?:[-_.]|$)/i.test(tag) ? 'en' : undefined);

/**
 * --lang when given (zh or en; a tag such as zh-CN reads as its language, anything else is refused, not ignored);
 * else LC_ALL, LC_MESSAGES or LANG naming Chinese (zh_CN.UTF-8, zh_TW…) gives Chinese; else English.
 */
export function langOf(flag: string | undefined, env: NodeJS.ProcessEnv): Lang {
  if (flag !== undefined) {
    const lang = langOfTag(flag);
    if (!lang) throw new UsageError('--lang: expected zh or en');
    return lang;
  }
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return langOfTag(locale) ?? 'en';
}
