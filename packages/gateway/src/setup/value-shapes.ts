/**
 * The shapes of the values a first configuration needs, checked as they are given (by `dingpush init`'s flags and
 * prompts): the usual first-hour mistakes are a value in the wrong field (an AgentId where the AppKey goes) or a
 * value copied incompletely. Each check returns what is wrong, in words a person can act on, or undefined.
 */

export type ShapeCheck = (value: string) => string | undefined;

const credential = /^[A-Za-z0-9_-]+$/;

export const appKeyShape: ShapeCheck = (v) => {
  if (/^\d+$/.test(v)) return 'this is a number: an AgentId? The AppKey (Client ID) is text such as dingxxxxxxxxxxxxxxxx';
  if (!credential.test(v) || v.length < 6 || v.length > 64) return 'expected the app\'s AppKey (Client ID), 6–64 letters and digits such as dingxxxxxxxxxxxxxxxx';
  return undefined;
};

export const appSecretShape: ShapeCheck = (v) => {
  if (/^\d+$/.test(v)) return 'this is a number: the AppSecret (Client Secret) is a long string of letters and digits';
  if (!credential.test(v) || v.length < 16 || v.length > 128) return 'expected the app\'s AppSecret (Client Secret), 16–128 letters, digits, - and _';
  return undefined;
};

export const agentIdShape: ShapeCheck = (v) =>
  /^[1-9]\d{0,18}$/.test(v) ? undefined : /^ding/i.test(v) ? 'this looks like an AppKey: the AgentId is a number such as 123456789' : 'expected the AgentId, a number such as 123456789';

export const robotCodeShape: ShapeCheck = (v) => (/^\d+$/.test(v) ? 'this is a number: the robotCode is text (for an internal app usually its AppKey)' : credential.test(v) ? undefined : 'expected the robot\'s robotCode, letters and digits');

export const robotWebhookShape: ShapeCheck = (v) => {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return 'expected the robot\'s webhook URL, https://oapi.dingtalk.com/robot/send?access_token=…';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'expected an https:// URL';
  const token = url.searchParams.get('access_token');
  if (!token) return 'the webhook must carry ?access_token= (copy the whole URL from the robot\'s settings)';
  if (!credential.test(token)) return 'the access_token in the webhook looks truncated or altered';
  return undefined;
};

export const robotSecretShape: ShapeCheck = (v) =>
  /^SEC[A-Za-z0-9]{8,}$/.test(v) ? undefined : 'a robot\'s signing secret starts with SEC (加签 in the robot\'s security settings), e.g. SECf094e0d3…';

export const robotNameShape: ShapeCheck = (v) => (/^[A-Za-z0-9_.-]{1,64}$/.test(v) ? undefined : 'letters, digits, _ . - (at most 64)');

export const keywordShape: ShapeCheck = (v) => (v.trim() === '' ? 'a keyword cannot be empty' : v.length > 64 ? 'at most 64 characters' : undefined);

export const storeShape: ShapeCheck = (v) => {
  if (/['"\n]/.test(v)) return 'quotes and line breaks are not allowed here';
  if (/^postgres(ql)?:\/\//.test(v)) {
    try {
      new URL(v);
      return undefined;
    } catch {
      return 'not a valid postgres:// URL';
    }
  }
  return v.trim() === '' ? 'expected a SQLite file path or a postgres:// URL' : undefined;
};
