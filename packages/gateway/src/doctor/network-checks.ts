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

/** The two API families and the harmless call that shows each is DingTalk's: a token request without credentials. */
const FAMILIES = [
  {
    key: 'oapi',
    name: 'oapi',
    base: (c: Config) => c.dingtalk.oapiBaseUrl,
    setting: 'dingtalk.oapiBaseUrl',
    path: '/gettoken',
    init: { method: 'GET' as const },
    // DingTalk says 41002 (AppKey missing); 404 / 22 mean this is not where oapi lives.
    isDingTalk: (status: number, body: Record<string, unknown>) => status === 200 && typeof body.errcode === 'number' && body.errcode !== 404 && body.errcode !== 22,
  },
  {
    key: 'api',
    name: 'new API',
    base: (c: Config) => c.dingtalk.apiBaseUrl,
    setting: 'dingtalk.apiBaseUrl',
    path: '/v1.0/oauth2/accessToken',
    init: { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: '{}' },
    // DingTalk says 400 MissingappKey; a 404 (InvalidAction.NotFound) means this is not where the new API lives.
    isDingTalk: (status: number, body: Record<string, unknown>) => status !== 404 && typeof body.code === 'string' && body.code !== 'InvalidAction.NotFound',
  },
];

/**
 * DingTalk is reachable from here: each base URL's name resolves (unless a proxy resolves it), and a token request
 * without credentials gets DingTalk's answer (nothing happens at DingTalk). The answer's HTTP Date header tells how far
 * this machine's clock is from DingTalk's.
 */
export async function networkChecks(config: Config, transport: Transport): Promise<Check[]> {
  const checks: Check[] = [];
  let skewMs: number | undefined;
  const resolved = new Map<string, Promise<string | undefined>>();
  const resolve = (host: string) => {
    if (!resolved.has(host)) resolved.set(host, lookup(host).then(() => undefined, (err: { code?: string }) => err.code ?? String(err)));
    return resolved.get(host)!;
  };
  for (const family of FAMILIES) {
    const base = family.base(config).replace(/\/$/, '');
    const url = `${base}${family.path}`;
    const host = new URL(base).hostname;
    const proxy = transport.proxyOf(url);
    const id = `reach:${family.key}`;
    const title = t(`DingTalk ${family.name} reachable: ${base}${proxy ? ` (through proxy ${proxy})` : ''}`, `可以访问钉钉${family.name === 'oapi' ? ' oapi' : '新版 API'}: ${base}${proxy ? `（经代理 ${proxy}）` : ''}`);
    if (!proxy && isIP(host.replace(/^\[|\]$/g, '')) === 0) {
      const failure = await resolve(host);
      if (failure) {
        checks.push({
          id,
          status: 'fail',
          title,
          detail: t(`cannot resolve ${host} (${failure})`, `无法解析 ${host}（${failure}）`),
          fix: t(
            "check this machine's DNS; where the internet is reached only through an HTTP proxy, set HTTPS_PROXY (or dingtalk.proxy)",
            '检查本机 DNS；如果只能经 HTTP 代理上网，请设置 HTTPS_PROXY（或配置 dingtalk.proxy）',
          ),
        });
        continue;
      }
    }
    const started = Date.now();
    try {
      const res = await transport.send(family.path, url, family.init);
      const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as Record<string, unknown>;
      const date = res.headers.date;
      const theirs = typeof date === 'string' ? Date.parse(date) : Number.NaN;
      // The Date header drops the milliseconds (their clock read 0–999 ms later than it says): its middle, 500 ms on,
      // is compared with the middle of the request, so that the error is ±0.5 s either way rather than up to 1 s one way.
      if (Number.isFinite(theirs) && skewMs === undefined) skewMs = theirs + 500 - (started + Date.now()) / 2;
      if (!family.isDingTalk(res.status, body)) {
        checks.push({
          id,
          status: 'fail',
          title,
          detail: t(
            `answered, but not as DingTalk's ${family.name} (HTTP ${res.status}${body.errcode !== undefined ? `, errcode ${body.errcode}` : body.code !== undefined ? `, ${body.code}` : ''})`,
            `有应答，但不是钉钉${family.name === 'oapi' ? ' oapi' : '新版 API'} 的应答（HTTP ${res.status}${body.errcode !== undefined ? `，errcode ${body.errcode}` : body.code !== undefined ? `，${body.code}` : ''}）`,
          ),
          fix: t(`check ${family.setting}: ${family.key === 'oapi' ? 'https://oapi.dingtalk.com' : 'https://api.dingtalk.com'} unless you reach DingTalk through something else`, `检查 ${family.setting}：一般应为 ${family.key === 'oapi' ? 'https://oapi.dingtalk.com' : 'https://api.dingtalk.com'}`),
          where: t('the configuration', '配置文件'),
        });
        continue;
      }
      checks.push({ id, status: 'pass', title, detail: t(`answered in ${Date.now() - started} ms`, `${Date.now() - started} 毫秒内应答`) });
    } catch (err) {
      if (err instanceof DingTalkError && err.httpStatus !== undefined) {
        // Something answered, not in JSON (a proxy's or a captive portal's page?).
        checks.push({
          id,
          status: 'fail',
          title,
          detail: t(`answered HTTP ${err.httpStatus}, not DingTalk's JSON`, `应答 HTTP ${err.httpStatus}，不是钉钉的 JSON`),
          fix: t(`check ${family.setting} and any proxy in between`, `检查 ${family.setting} 以及中间的代理`),
        });
        continue;
      }
      const reason = err instanceof DingTalkError ? err.dingMessage : String(err);
      const tls = TLS_CODES.test(reason);
      checks.push({
        id,
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
