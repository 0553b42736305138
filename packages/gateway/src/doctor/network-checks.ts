import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DingTalkError, type Transport } from '@dingpush/dingtalk';
import type { Config } from '../config/schema.js';
import { type Check, t } from './checklist.js';

const MINUTE = 60_000;
/** Over this the clock is worth a warning; DingTalk refuses robot signatures an hour off, so 50 minutes is a failure. */
export const CLOCK_WARN_MS = MINUTE;
export const CLOCK_FAIL_MS = 50 * MINUTE;

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/;

/**
 * DingTalk is reachable from here: each base URL's name resolves (unless a proxy resolves it), and it answers an
 * unauthenticated GET (gettoken without credentials: DingTalk says 41002, nothing happens). The answer's HTTP Date
 * header tells how far this machine's clock is from DingTalk's.
 */
export async function networkChecks(config: Config, transport: Transport, proxyFor: (url: string) => string | undefined): Promise<Check[]> {
  const checks: Check[] = [];
  const origins = [...new Set([config.dingtalk.oapiBaseUrl, config.dingtalk.apiBaseUrl].map((u) => new URL(u).origin))];
  let skewMs: number | undefined;
  for (const origin of origins) {
    const host = new URL(origin).hostname;
    const proxy = proxyFor(origin);
    const title = t(`DingTalk reachable: ${origin}${proxy ? ` (through proxy ${proxy})` : ''}`, `可以访问钉钉: ${origin}${proxy ? `（经代理 ${proxy}）` : ''}`);
    if (!proxy && isIP(host.replace(/^\[|\]$/g, '')) === 0) {
      try {
        await lookup(host);
      } catch (err) {
        checks.push({
          id: `reach:${host}`,
          status: 'fail',
          title,
          detail: t(`cannot resolve ${host} (${(err as { code?: string }).code ?? err})`, `无法解析 ${host}（${(err as { code?: string }).code ?? err}）`),
          fix: t(
            'check this machine\'s DNS; where the internet is reached only through an HTTP proxy, set HTTPS_PROXY (or dingtalk.proxy)',
            '检查本机 DNS；如果只能经 HTTP 代理上网，请设置 HTTPS_PROXY（或配置 dingtalk.proxy）',
          ),
        });
        continue;
      }
    }
    const started = Date.now();
    try {
      const res = await transport.send('/gettoken', `${origin}/gettoken`, { method: 'GET' });
      const date = res.headers.date;
      const theirs = typeof date === 'string' ? Date.parse(date) : Number.NaN;
      // The Date header has a resolution of a second; compare it with the middle of the request.
      if (Number.isFinite(theirs) && skewMs === undefined) skewMs = theirs - (started + Date.now()) / 2;
      checks.push({ id: `reach:${host}`, status: 'pass', title, detail: t(`answered in ${Date.now() - started} ms`, `${Date.now() - started} 毫秒内应答`) });
    } catch (err) {
      if (err instanceof DingTalkError && err.httpStatus !== undefined) {
        // Something answered, not in JSON (a proxy's or a captive portal's page?): reachable, but suspicious.
        checks.push({
          id: `reach:${host}`,
          status: 'warn',
          title,
          detail: t(`answered HTTP ${err.httpStatus}, not DingTalk's JSON`, `应答 HTTP ${err.httpStatus}，不是钉钉的 JSON`),
          fix: t('check dingtalk.oapiBaseUrl / apiBaseUrl and any proxy in between', '检查 dingtalk.oapiBaseUrl / apiBaseUrl 以及中间的代理'),
        });
        continue;
      }
      const reason = err instanceof DingTalkError ? err.dingMessage : String(err);
      const tls = TLS_CODES.test(reason);
      checks.push({
        id: `reach:${host}`,
        status: 'fail',
        title,
        detail: t(`no answer (${reason})`, `无应答（${reason}）`),
        fix: tls
          ? t(
              'the TLS certificate is not trusted: a proxy that inspects TLS? give its CA with NODE_EXTRA_CA_CERTS=/path/ca.pem',
              'TLS 证书不受信任：是否有做 TLS 检查的代理？用 NODE_EXTRA_CA_CERTS=/path/ca.pem 指定其 CA',
            )
          : proxy
            ? t(`the proxy ${proxy} did not connect: check its address, credentials and that it allows ${host}`, `代理 ${proxy} 未能连通：检查其地址、凭据以及是否放行 ${host}`)
            : t(
                'check the firewall (outbound HTTPS to DingTalk); where the internet is reached only through an HTTP proxy, set HTTPS_PROXY (or dingtalk.proxy)',
                '检查防火墙（到钉钉的出站 HTTPS）；如果只能经 HTTP 代理上网，请设置 HTTPS_PROXY（或配置 dingtalk.proxy）',
              ),
      });
    }
  }
  if (skewMs !== undefined) checks.push(clockCheck(skewMs));
  return checks;
}

function clockCheck(skewMs: number): Check {
  const abs = Math.abs(skewMs);
  const ahead = skewMs < 0; // DingTalk's clock is behind ours: ours is ahead.
  const amount = abs >= 2 * MINUTE ? `${Math.round(abs / MINUTE)} min` : `${Math.round(abs / 1000)} s`;
  const amountZh = abs >= 2 * MINUTE ? `${Math.round(abs / MINUTE)} 分钟` : `${Math.round(abs / 1000)} 秒`;
  const title = t("this machine's clock against DingTalk's", '本机时钟与钉钉时钟');
  if (abs <= CLOCK_WARN_MS) return { id: 'clock', status: 'pass', title, detail: t(`within ${Math.max(1, Math.round(abs / 1000))} s`, `相差 ${Math.max(1, Math.round(abs / 1000))} 秒以内`) };
  return {
    id: 'clock',
    status: abs > CLOCK_FAIL_MS ? 'fail' : 'warn',
    title,
    detail: t(`${amount} ${ahead ? 'ahead of' : 'behind'} DingTalk`, `比钉钉${ahead ? '快' : '慢'} ${amountZh}`),
    fix: t(
      'synchronise the clock (NTP: timedatectl set-ntp true); DingTalk refuses robot signatures more than an hour off, and daily quotas follow the date',
      '同步时钟（NTP：timedatectl set-ntp true）；钉钉拒绝偏差超过一小时的机器人签名，每日配额也按日期计算',
    ),
    where: t('this server (or its container host)', '本服务器（或其容器宿主机）'),
  };
}
