import type { ApiKeyConfig, AppConfig, Config } from '../config/schema.js';
import { invalid, RequestError } from './errors.js';

/**
 * A key limited to targets (and to no apps or robots) is a drop-in key: it reaches its targets only, through
 * /v1/push/<target> and /dingtalk/<target>/send. Every other endpoint (notifications, media, the org directory with
 * everyone's name and mobile) refuses it with 403.
 */
export function refuseDropInKey(limits: ApiKeyConfig | undefined): void {
  if (limits?.targets && limits.apps === undefined && limits.robots === undefined)
    throw new RequestError(403, 'forbidden', undefined, 'this API key is limited to targets: send through /v1/push/<target> or /dingtalk/<target>/send');
}

/**
 * The app a request names (or the first configured one), as the caller's API key may use it: an unknown name is a
 * 400 naming `app`, an app outside the key's `apps` a 403.
 */
export function chooseApp(config: Config, apiKey: { name: string; limits?: ApiKeyConfig }, requested: string | undefined): AppConfig {
  const app = requested ? config.apps.find((a) => a.name === requested) : config.apps[0];
  if (!app) throw invalid('app', requested ? `no app named "${requested}"` : 'no DingTalk app is configured');
  if (apiKey.limits?.apps && !apiKey.limits.apps.includes(app.name))
    throw new RequestError(403, 'forbidden', 'app', `API key "${apiKey.name}" may not use app "${app.name}"`);
  return app;
}
