import type { FastifyInstance } from 'fastify';
import { checkAppIp, newApiBody, query } from '../http.js';
import { newApiError, oapiError, ok } from '../oapi.js';
import type { EmulatorState } from '../state.js';

/** Access tokens, both families (§1): 7200 s, the same token while valid, one token good for both. */
export function registerAuth(app: FastifyInstance, state: EmulatorState): void {
  app.get('/gettoken', async (req) => {
    const { appkey, appsecret } = query(req);
    if (!appkey) throw oapiError(41002);
    if (!appsecret) throw oapiError(41004);
    const found = state.appByKey(appkey);
    if (!found || found.appSecret !== appsecret) throw oapiError(40089);
    req.caller = { app: found.name };
    checkAppIp(found, req, false);
    const { token, expiresIn } = state.issueToken(found);
    return ok({ access_token: token, expires_in: expiresIn });
  });

  app.post('/v1.0/oauth2/accessToken', async (req) => {
    const body = newApiBody(req);
    const { appKey, appSecret } = body;
    if (typeof appKey !== 'string' || !appKey) throw newApiError(400, 'MissingappKey', 'appKey is mandatory for this action.');
    if (typeof appSecret !== 'string' || !appSecret)
      throw newApiError(400, 'MissingappSecret', 'appSecret is mandatory for this action.');
    const found = state.appByKey(appKey);
    if (!found || found.appSecret !== appSecret)
      throw newApiError(400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
    req.caller = { app: found.name };
    checkAppIp(found, req, true);
    const { token, expiresIn } = state.issueToken(found);
    return { accessToken: token, expireIn: expiresIn };
  });
}
