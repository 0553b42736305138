/** The doctor's checklist: one line per check, ✓ ⚠ ✗ (or – when it could not run), in Chinese or English. */

export type { Lang } from '../cli/lang.js';
import type { Lang } from '../cli/lang.js';
export interface Text {
  en: string;
  zh: string;
}
export const t = (en: string, zh: string): Text => ({ en, zh });

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Check {
  /** Stable, for scripts reading --json: `config`, `store`, `reach:<host>`, `clock`, `app:<name>:token`, … */
  id: string;
  status: CheckStatus;
  title: Text;
  /** What was seen (DingTalk's code and message, an address, a duration); never a secret. */
  detail?: Text;
  /** For ⚠ and ✗: what to do. */
  fix?: Text;
  /** For ⚠ and ✗: where in DingTalk's console (or elsewhere) to do it. */
  where?: Text;
}

const MARK: Record<CheckStatus, string> = { pass: '✓', warn: '⚠', fail: '✗', skip: '–' };
const LABEL = { fix: t('what to do', '怎么办'), where: t('where', '在哪里') };

export function renderText(checks: Check[], lang: Lang): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${MARK[c.status]} ${c.title[lang]}${c.detail ? ` — ${c.detail[lang]}` : ''}`);
    if (c.status === 'warn' || c.status === 'fail') {
      if (c.fix) lines.push(`    ${LABEL.fix[lang]}: ${c.fix[lang]}`);
      if (c.where) lines.push(`    ${LABEL.where[lang]}: ${c.where[lang]}`);
    }
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  lines.push(
    '',
    lang === 'zh'
      ? `${failed} 项失败，${warned} 项警告，${checks.filter((c) => c.status === 'pass').length} 项通过`
      : `${failed} failed, ${warned} warning${warned === 1 ? '' : 's'}, ${checks.filter((c) => c.status === 'pass').length} passed`,
  );
  return `${lines.join('\n')}\n`;
}

export function renderJson(checks: Check[], lang: Lang, exitCode: number) {
  return {
    ok: exitCode === 0,
    exitCode,
    lang,
    checks: checks.map((c) => ({
      id: c.id,
      status: c.status,
      title: c.title[lang],
      ...(c.detail ? { detail: c.detail[lang] } : {}),
      ...(c.fix && c.status !== 'pass' ? { fix: c.fix[lang] } : {}),
      ...(c.where && c.status !== 'pass' ? { where: c.where[lang] } : {}),
    })),
  };
}

/** 0 when nothing failed, 1 when a check failed (2, a configuration that does not parse, is decided before). */
export const exitCodeOf = (checks: Check[]): 0 | 1 => (checks.some((c) => c.status === 'fail') ? 1 : 0);
