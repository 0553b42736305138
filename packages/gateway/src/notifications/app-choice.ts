import type { ApiKeyConfig, AppConfig, Config } from '../config/schema.js';
import { invalid, RequestError } from './errors.js';

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
