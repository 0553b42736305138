import { isIP } from 'node:net';

/**
 * DingTalk's error codes, in one table: what each means and what to do about it (shared/dingtalk-api.md §11, robot
 * §6.5, new API §11.4). The class decides retries in the client and in the gateway, and what senders are told.
 */
export type ErrorClass =
  /** Transient: retry with exponential backoff. */
  | 'retry'
  /** The token is bad or expired: drop it, fetch a new one, retry once. */
  | 'refresh_token'
  /** A quota was hit: wait `waitMs`, then retry. */
  | 'rate_limited'
  /** Fix the request or the configuration; retrying cannot help. */
  | 'permanent';

/** What a human operating the gateway must do about a failure, in English and in Chinese. */
export interface ErrorTodo {
  en: string;
  zh: string;
}

export interface ErrorInfo {
  class: ErrorClass;
  meaning: string;
  /** For rate_limited: how long DingTalk asks us to wait. */
  waitMs?: number;
  /** What the operator must do (dingpush already retries, refreshes tokens and paces on its own). */
  todo: ErrorTodo;
  /** Which part of the setup the failure is about, when it is one a person configures (what `doctor` diagnoses). */
  setup?: SetupProblem;
  /**
   * The call named a media_id DingTalk does not take (never given, or no longer known): a file uploaded again gets one
   * it takes, so a sender holding the file (dingpush caches its uploads) can send again with that one.
   */
  refusedMediaId?: true;
}

/**
 * The setup problems of an app or a robot that several codes report: wrong credentials, a missing permission, the
 * app's IP whitelist, a robot's webhook token that does not exist.
 */
export type SetupProblem = 'credentials' | 'permission' | 'ipWhitelist' | 'robotToken';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

type Pair = readonly [en: string, zh: string];
const pair = ([en, zh]: Pair): ErrorTodo => Object.freeze({ en, zh });

// Where things are in DingTalk's consoles.
const APP_EN = 'open-dev.dingtalk.com 开发者后台 → 应用开发 → your app';
const APP_ZH = '开发者后台（open-dev.dingtalk.com）→ 应用开发 → 该应用';
const ROBOT_EN = "the group's 群设置 → 机器人 → the robot";
const ROBOT_ZH = '群设置 → 机器人 → 该机器人';

/** The line for a failure whose fix is its class's own. */
export const DEFAULT_TODO: Readonly<Record<ErrorClass, ErrorTodo>> = Object.freeze({
  retry: pair([
    "Nothing to do: dingpush retries with backoff. If it persists, check DingTalk's status and this server's network.",
    '无需处理：dingpush 会自动退避重试。若持续出现，请查看钉钉开放平台的服务状态和本服务器的网络。',
  ]),
  refresh_token: pair([
    `Nothing to do: dingpush drops the token and fetches a new one. If it keeps failing, check the app's AppKey and AppSecret in dingpush's configuration against ${APP_EN} → 凭证与基础信息.`,
    `无需处理：dingpush 会丢弃旧 token 并重新获取。若一直失败，请对照${APP_ZH} → 凭证与基础信息，核对 dingpush 配置中的 AppKey 和 AppSecret。`,
  ]),
  rate_limited: pair([
    'Nothing to do: dingpush waits as long as DingTalk asks, then sends again. If it happens often, send less: merge messages or spread them out.',
    '无需处理：dingpush 会按钉钉要求的时间等待后重发。若经常出现，请减少发送量：合并消息或错开发送时间。',
  ]),
  permanent: pair([
    "Retrying cannot help: fix the request or the configuration that DingTalk's message names, then send again.",
    '重试无效：请按钉钉返回的信息修正请求或配置，然后重新发送。',
  ]),
});

const e = (cls: ErrorClass, meaning: string, waitMs?: number, todo?: Pair): ErrorInfo => ({
  class: cls,
  meaning,
  ...(waitMs ? { waitMs } : {}),
  todo: todo ? pair(todo) : DEFAULT_TODO[cls],
});
/** A permanent failure: retrying cannot help, so the line must name the fix. */
const fix = (meaning: string, todo: Pair): ErrorInfo => e('permanent', meaning, undefined, todo);
const withSetup = (setup: SetupProblem, info: ErrorInfo): ErrorInfo => ({ ...info, setup });
const refusesMediaId = (info: ErrorInfo): ErrorInfo => ({ ...info, refusedMediaId: true });
/** A permanent failure that is a setup problem (its line is the one that problem's codes share). */
const setupFix = (meaning: string, setup: SetupProblem): ErrorInfo => ({ ...fix(meaning, SETUP_LINES[setup]), setup });

// Lines shared by several codes.
const CREDENTIALS: Pair = [
  `Wrong AppKey or AppSecret: copy the Client ID (AppKey) and Client Secret (AppSecret) from ${APP_EN} → 凭证与基础信息 into dingpush's configuration (apps[].appKey, apps[].appSecret), then restart dingpush.`,
  `AppKey 或 AppSecret 错误：请从${APP_ZH} → 凭证与基础信息 复制 Client ID（AppKey）和 Client Secret（AppSecret）到 dingpush 配置（apps[].appKey、apps[].appSecret），然后重启 dingpush。`,
];
const PERMISSION: Pair = [
  `The app lacks the permission for this API: in ${APP_EN} → 权限管理, apply for it — 通讯录 read (qyapi_get_member_by_mobile) for lookups by mobile, 通讯录 department read for departments, 工作通知 for work notifications (asyncsend_v2), qyapi_robot_sendmsg for the app's robot — and send again once it is granted.`,
  `应用没有调用该接口的权限：请在${APP_ZH} → 权限管理 申请开通——按手机号查用户需通讯录读权限（qyapi_get_member_by_mobile），查部门需通讯录部门读权限，发工作通知（asyncsend_v2）需工作通知权限，应用机器人发消息需 qyapi_robot_sendmsg——开通后重新发送。`,
];
const IP_WHITELIST: Pair = [
  `DingTalk refused this server's IP address: add the gateway's egress (public) IP, the one DingTalk's message names, in ${APP_EN} → 安全设置 → 服务器出口IP, then send again.`,
  `钉钉拒绝了本服务器的 IP：请在${APP_ZH} → 安全设置 → 服务器出口IP 中添加网关的公网出口 IP（即钉钉返回信息中给出的地址），然后重新发送。`,
];
const ROBOT_TOKEN_GONE: Pair = [
  `The robot's access_token does not exist: the robot was removed or its webhook was copied wrongly. Copy the webhook again from ${ROBOT_EN} into dingpush's robots[].webhook, or add the robot again.`,
  `机器人的 access_token 不存在：机器人已被移除，或 Webhook 复制有误。请从${ROBOT_ZH} 重新复制 Webhook 到 dingpush 配置的 robots[].webhook，或重新添加机器人。`,
];
const SETUP_LINES: Readonly<Record<SetupProblem, Pair>> = { credentials: CREDENTIALS, permission: PERMISSION, ipWhitelist: IP_WHITELIST, robotToken: ROBOT_TOKEN_GONE };
const MONTHLY_QUOTA: Pair = [
  "The organisation's monthly API call quota is used up (5000 calls on the standard edition; tokens and directory lookups do not count): wait for next month or upgrade the DingTalk edition. Until then work notifications and app-robot messages fail.",
  '本组织本月的接口调用次数已用完（标准版每月 5000 次，获取 token 和通讯录查询不计入）：请等到下个月或升级钉钉版本。在此之前工作通知和应用机器人消息都会失败。',
];
const ROBOT_SECURITY: Pair = [
  `The robot's security settings (${ROBOT_EN} → 安全设置) refused the message, and DingTalk's message says which: put one of its keywords in the message, set its signing secret (SEC…) in robots[].secret, correct this server's clock (it must be within 1 hour), or add this server's egress IP to its IP whitelist.`,
  `机器人的安全设置（${ROBOT_ZH} → 安全设置）拒绝了该消息，钉钉返回的信息说明了原因：在消息中包含一个自定义关键词、在 robots[].secret 中填写正确的加签密钥（SEC 开头）、校准本服务器时钟（误差须在 1 小时内），或把本服务器出口 IP 加入其 IP 白名单。`,
];
const ROBOT_BLOCKED: Pair = [
  'Nothing to do now: DingTalk blocks the robot for 10 minutes after 20 messages in a minute, and dingpush holds its messages until then. To avoid it, keep each robot under 20 messages a minute: merge alerts (digests) or spread them over more robots.',
  '暂无需处理：机器人每分钟发送超过 20 条后会被钉钉限流 10 分钟，dingpush 会暂存消息并在之后发送。为避免此情况，请让每个机器人每分钟少于 20 条：合并告警（摘要）或分散到多个机器人。',
];
const ROBOT_TOO_LONG: Pair = [
  'The robot message is over 20 000 bytes: shorten it (fewer alerts per message, shorter templates) or split it into several messages.',
  '机器人消息超过 20000 字节：请缩短内容（每条消息少放几条告警、精简模板）或拆分为多条消息。',
];
const BAD_MSGTYPE: Pair = [
  'DingTalk does not accept this message type here: use one the channel supports (work notifications: text, image, voice, file, link, oa, markdown, action_card).',
  '钉钉在此处不接受该消息类型：请改用该渠道支持的类型（工作通知：text、image、voice、file、link、oa、markdown、action_card）。',
];
const BAD_CHATID: Pair = [
  'The chatid is unknown: check it; the group may have been dissolved or belong to another organisation or app.',
  'chatid 无效：请核对；该群可能已解散，或属于其他组织或应用。',
];
const CLIENT_BODY: Pair = [
  'DingTalk could not read the request body (format or Content-Type). dingpush sends it correctly, so look for a proxy between dingpush and DingTalk that rewrites requests; otherwise report it to dingpush with the request id.',
  '钉钉无法解析请求体（格式或 Content-Type 不对）。dingpush 本身发送的格式正确，请检查 dingpush 与钉钉之间是否有改写请求的代理；否则请带上 request id 向 dingpush 报告。',
];
const INVALID_PARAM: Pair = [
  "DingTalk refused a parameter, named in its message: correct that field of the notification (or of dingpush's configuration, e.g. agentId) and send again.",
  '钉钉拒绝了某个参数（返回信息中有说明）：请修正通知中的该字段（或 dingpush 配置中的字段，如 agentId）后重新发送。',
];

/** oapi numeric errcodes (HTTP 200 with errcode ≠ 0), including the custom-robot webhook's. */
export const OAPI_ERRORS: Readonly<Record<number, ErrorInfo>> = {
  [-1]: e('retry', 'DingTalk is busy'),
  15: e('retry', 'backend service unavailable'),
  22: fix('unknown topapi method', [
    'DingTalk does not know this API path (changed or retired): update dingpush; if you called a raw path, check it against DingTalk\'s API documentation.',
    '钉钉不认识该接口路径（接口已变更或下线）：请升级 dingpush；若调用的是自定义原始路径，请对照钉钉开放文档核对。',
  ]),
  404: fix('the URL does not exist', [
    "The URL does not exist on DingTalk: check the DingTalk base URL in dingpush's configuration (https://oapi.dingtalk.com, https://api.dingtalk.com, or the emulator's) and any proxy in between.",
    '钉钉上不存在该地址：请检查 dingpush 配置中的钉钉基础地址（https://oapi.dingtalk.com、https://api.dingtalk.com 或模拟器地址）以及中间的代理。',
  ]),
  500: e('retry', 'DingTalk server error'),
  400001: e('retry', 'DingTalk system error'),
  34015: e('retry', 'group message send failed'),
  33001: e('refresh_token', 'token does not match the organisation', undefined, [
    `Nothing to do if it passes: dingpush fetches a new token. If it keeps failing, the AppKey belongs to another organisation or the app was deleted: check ${APP_EN} → 凭证与基础信息 against dingpush's apps[].appKey.`,
    `偶发无需处理：dingpush 会重新获取 token。若一直失败，说明 AppKey 属于其他组织或应用已被删除：请对照${APP_ZH} → 凭证与基础信息 核对 dingpush 配置的 apps[].appKey。`,
  ]),
  // A refresh first (a stale token answers it too); if it persists, the AppSecret is wrong.
  40001: withSetup('credentials', e('refresh_token', 'wrong app secret or invalid token', undefined, [
    `Nothing to do if it passes: dingpush fetches a new token. If it keeps failing, the AppSecret is wrong: copy the Client Secret from ${APP_EN} → 凭证与基础信息 into dingpush's apps[].appSecret.`,
    `偶发无需处理：dingpush 会重新获取 token。若一直失败，说明 AppSecret 错误：请从${APP_ZH} → 凭证与基础信息 复制 Client Secret 到 dingpush 配置的 apps[].appSecret。`,
  ])),
  40014: e('refresh_token', 'invalid access token'),
  42001: e('refresh_token', 'access token expired'),
  43007: fix('authorisation required', [
    `DingTalk wants authorisation for this call: check that the app has this API's permission (${APP_EN} → 权限管理) and that no proxy between dingpush and DingTalk strips the access_token query parameter.`,
    `钉钉要求此调用需要授权：请确认应用已开通该接口权限（${APP_ZH} → 权限管理），并确认 dingpush 与钉钉之间没有代理去掉了 access_token 查询参数。`,
  ]),
  41001: fix('access_token missing from the URL', [
    'The token did not reach DingTalk in the URL: look for a proxy between dingpush and DingTalk that strips query strings; if there is none, report it to dingpush with the request id.',
    'access_token 没有随 URL 到达钉钉：请检查 dingpush 与钉钉之间是否有去掉查询参数的代理；若没有，请带上 request id 向 dingpush 报告。',
  ]),
  40089: setupFix('invalid AppKey or AppSecret', 'credentials'),
  41002: fix('AppKey missing', [
    `AppKey is empty: set apps[].appKey in dingpush's configuration to the Client ID shown in ${APP_EN} → 凭证与基础信息.`,
    `AppKey 为空：请在 dingpush 配置的 apps[].appKey 中填写${APP_ZH} → 凭证与基础信息 中的 Client ID。`,
  ]),
  41004: fix('AppSecret missing', [
    `AppSecret is empty: set apps[].appSecret in dingpush's configuration (or the environment variable it names) to the Client Secret shown in ${APP_EN} → 凭证与基础信息.`,
    `AppSecret 为空：请在 dingpush 配置的 apps[].appSecret（或其引用的环境变量）中填写${APP_ZH} → 凭证与基础信息 中的 Client Secret。`,
  ]),
  60011: setupFix('the app lacks the permission for this API', 'permission'),
  60020: setupFix("this server IP is not in the app's whitelist", 'ipWhitelist'),
  90001: e('rate_limited', 'all APIs temporarily disabled for this server', SECOND, [
    'Nothing to do: dingpush waits and retries. If it repeats, too many calls come from this server\'s IP (DingTalk bans an IP for 5 minutes above 10 000 calls in 20 s): look for other programs sharing the egress IP.',
    '无需处理：dingpush 会等待后重试。若反复出现，说明本服务器 IP 的调用过多（20 秒内超过 10000 次会被封禁 5 分钟）：请检查是否有其他程序共用该出口 IP。',
  ]),
  90002: e('rate_limited', 'global per-API QPS exceeded', SECOND),
  90018: e('rate_limited', 'per-app per-API QPS exceeded (20/s)', SECOND),
  90020: fix('monthly API call quota exhausted', MONTHLY_QUOTA),
  45009: e('rate_limited', 'API call limit', SECOND),
  41046: e('rate_limited', 'to-all messages per minute exceeded', MINUTE),
  41047: e('rate_limited', 'recipients per minute exceeded', MINUTE),
  41048: e('rate_limited', 'messages per minute exceeded', MINUTE),
  41045: fix('to-all messages per day exceeded (3); next day', [
    'The app has sent its 3 to-all messages for today: wait until tomorrow (China time), or address users or departments instead of everyone.',
    '该应用今天的 3 次全员消息已用完：请等到明天（北京时间），或改为按用户或部门发送。',
  ]),
  41028: fix('this app may not send to all users', [
    'This app may not send to everyone: address users or departments instead of to-all.',
    '该应用不允许给全员发送消息：请改为按用户或部门发送。',
  ]),
  41029: fix('too many recipients in one call', [
    'Too many recipients in one call for this organisation: send to fewer users or departments per notification (dingpush batches 100 users and 20 departments per call).',
    '单次调用的接收人数超过本组织上限：请减少每条通知的用户或部门数（dingpush 每次调用最多 100 个用户、20 个部门）。',
  ]),
  41044: fix('sending forbidden', [
    `DingTalk forbids this app to send: check in ${APP_EN} that the app is published and enabled, and with the organisation's admin that it has not been disabled or restricted.`,
    `钉钉禁止该应用发送消息：请在${APP_ZH} 中确认应用已发布并启用，并向组织管理员确认应用未被停用或限制。`,
  ]),
  41049: fix('prohibited content', [
    "DingTalk's content filter refused the message: remove or reword the prohibited words and send again.",
    '消息包含违禁内容，被钉钉拦截：请删除或改写违禁词后重新发送。',
  ]),
  41052: fix('too many recipients: no send result', [
    'DingTalk returns no per-user result for this many recipients: the message was not lost; to get per-user results, send to fewer recipients per notification.',
    '接收人过多，钉钉不再返回发送结果：消息并未丢失；如需逐人结果，请减少每条通知的接收人数。',
  ]),
  40035: fix('invalid parameter', INVALID_PARAM),
  400002: fix('invalid parameter', [
    'A parameter is invalid (for a recall or a status-bar update: the agentId or taskId): check the ids DingTalk\'s message names; the task must have been sent by this app.',
    '参数错误（撤回或更新状态栏时多为 agentId 或 taskId 不对）：请核对钉钉返回信息中的 id；该任务必须是本应用发送的。',
  ]),
  40056: fix('invalid agent_id', [
    `The AgentId is not this app's: copy the AgentId from ${APP_EN} → 凭证与基础信息 into dingpush's apps[].agentId (AgentId, AppKey and AppSecret must all come from the same app).`,
    `AgentId 不属于该应用：请从${APP_ZH} → 凭证与基础信息 复制 AgentId 到 dingpush 配置的 apps[].agentId（AgentId、AppKey、AppSecret 必须来自同一个应用）。`,
  ]),
  41011: fix('agent_id missing', [
    `The AgentId is missing: set apps[].agentId in dingpush's configuration to the AgentId shown in ${APP_EN} → 凭证与基础信息.`,
    `缺少 AgentId：请在 dingpush 配置的 apps[].agentId 中填写${APP_ZH} → 凭证与基础信息 中的 AgentId。`,
  ]),
  40048: fix('a URL in the message has a forbidden domain', [
    'A link in the message points to a domain DingTalk refuses: remove it or use a link to another (https) domain.',
    '消息中的链接指向钉钉不允许的域名：请删除该链接或改用其他（https）域名的链接。',
  ]),
  34001: fix('invalid chatid', BAD_CHATID),
  34004: fix('invalid message type', BAD_MSGTYPE),
  40008: fix('invalid message type', BAD_MSGTYPE),
  34008: fix('image media_id missing', [
    'The image message has no media_id: give the image (dingpush uploads it) or a media_id from an earlier upload.',
    '图片消息缺少 media_id：请提供图片（dingpush 会上传）或之前上传得到的 media_id。',
  ]),
  34009: fix('link URL missing', [
    'The link message has no URL: add messageUrl (and picUrl) to the message.',
    '链接消息缺少链接地址：请在消息中填写 messageUrl（以及 picUrl）。',
  ]),
  34010: fix('file media_id missing', [
    'The file message has no media_id: give the file (dingpush uploads it) or a media_id from an earlier upload.',
    '文件消息缺少 media_id：请提供文件（dingpush 会上传）或之前上传得到的 media_id。',
  ]),
  34011: fix('voice media_id missing', [
    'The voice message has no media_id: give the voice file (amr/mp3/wav, under 60 s; dingpush uploads it) or a media_id from an earlier upload.',
    '语音消息缺少 media_id：请提供语音文件（amr/mp3/wav，60 秒以内；dingpush 会上传）或之前上传得到的 media_id。',
  ]),
  34014: fix('message JSON invalid or incomplete', [
    'The message is invalid or incomplete for its type: check the required fields of that message type (e.g. markdown needs title and text).',
    '消息结构无效或不完整：请检查该消息类型的必填字段（如 markdown 需要 title 和 text）。',
  ]),
  34016: fix('message content too long', [
    'A field of the message is too long: keep text and markdown under 5000 characters, titles under 64, button titles under 20; shorten it or split the message.',
    '消息某字段超长：正文和 markdown 不超过 5000 字，标题不超过 64 字，按钮标题不超过 20 字；请缩短内容或拆分消息。',
  ]),
  44004: fix('text content empty', [
    'The text is empty: give the message some content.',
    '文本消息内容为空：请填写消息内容。',
  ]),
  40007: refusesMediaId(fix('invalid media_id', [
    'The media_id is not valid for this app: upload the file again through this app and use the new media_id (media ids are per app and organisation).',
    'media_id 对该应用无效：请通过本应用重新上传文件并使用新的 media_id（media_id 只在上传它的应用和组织内有效）。',
  ])),
  40004: fix('invalid media type', [
    'The upload\'s media type is not image, voice, video or file: pick the right type for the file.',
    '上传的媒体类型不是 image、voice、video 或 file：请为文件选择正确的类型。',
  ]),
  40005: fix('invalid file type', [
    'DingTalk does not accept this file format: images jpg/gif/png/bmp, voice amr/mp3/wav, video mp4, files doc(x)/xls(x)/ppt(x)/zip/pdf/rar; convert the file or send it as another type.',
    '钉钉不接受该文件格式：图片 jpg/gif/png/bmp，语音 amr/mp3/wav，视频 mp4，文件 doc(x)/xls(x)/ppt(x)/zip/pdf/rar；请转换格式或换一种类型发送。',
  ]),
  40006: fix('invalid file size', [
    'The file is too big (or empty) for its type: images, videos and files up to 20 MB, voice up to 2 MB; compress it or send a link instead.',
    '文件大小不符合要求（过大或为空）：图片、视频、文件最大 20 MB，语音最大 2 MB；请压缩文件或改为发送链接。',
  ]),
  41005: fix('media data missing', [
    'The upload carried no file data: check that the file exists and is readable where dingpush runs.',
    '上传请求中没有文件数据：请确认该文件存在，且 dingpush 所在机器可以读取。',
  ]),
  43008: fix('multipart body required', CLIENT_BODY),
  44001: fix('empty media file', [
    'The uploaded file is empty (0 bytes): check the file and send it again.',
    '上传的文件为空（0 字节）：请检查文件后重新发送。',
  ]),
  40016: fix('invalid chatid', BAD_CHATID),
  49000: fix('chatid missing', [
    'No chatid was given: give the group chat\'s chatid (or send through a robot of that group).',
    '缺少 chatid：请提供群会话的 chatid（或改用该群的机器人发送）。',
  ]),
  33012: fix('invalid userid', [
    'A userid is not in the organisation: check it (look the person up by mobile) or remove them from the recipients; they may have left.',
    'userid 在本组织中无效：请核对（可按手机号查询）或从接收人中移除；此人可能已离职。',
  ]),
  60121: fix('no user with this mobile', [
    "No member of the organisation has this mobile number: check the number, or have the person added to the organisation's 通讯录.",
    '本组织中没有使用该手机号的成员：请核对手机号，或请管理员将此人加入组织通讯录。',
  ]),
  40104: fix('invalid mobile number', [
    'The mobile number is malformed: give it as in the DingTalk directory (11 digits for mainland China, without +86 or spaces).',
    '手机号格式无效：请按钉钉通讯录中的写法填写（中国大陆为 11 位数字，不带 +86 和空格）。',
  ]),
  60003: fix('department not found', [
    "The department id does not exist: check it in DingTalk's admin console (管理后台 → 通讯录); the department may have been deleted.",
    '部门不存在：请在钉钉管理后台 → 通讯录 中核对部门 id；该部门可能已被删除。',
  ]),
  43004: fix('invalid Content-Type', CLIENT_BODY),
  43009: fix('JSON body required', CLIENT_BODY),
  47001: fix('JSON parse error', CLIENT_BODY),
  // custom robot webhook (§6.5)
  130101: e('rate_limited', 'robot sent more than 20 messages in a minute; blocked for 10 minutes', 10 * MINUTE, ROBOT_BLOCKED),
  410100: e('rate_limited', 'robot rate limited; blocked for 10 minutes', 10 * MINUTE, ROBOT_BLOCKED),
  300001: setupFix('robot access token does not exist', 'robotToken'),
  300005: withSetup('robotToken', fix('robot access token does not exist', [
    `The robot's access_token does not exist (seen with external groups): copy the webhook again from ${ROBOT_EN} into robots[].webhook; for a group with other organisations, try a robot of an internal group.`,
    `机器人的 access_token 不存在（常见于外部群）：请从${ROBOT_ZH} 重新复制 Webhook 到 robots[].webhook；若是跨组织的外部群，请改用内部群的机器人。`,
  ])),
  310000: fix('robot security check failed (keywords, signature, timestamp or IP whitelist)', ROBOT_SECURITY),
  400013: fix('the group was dissolved', [
    "The robot's group was dissolved: remove the robot from dingpush's configuration, or replace its webhook with a robot of a live group.",
    '机器人所在的群已解散：请从 dingpush 配置中删除该机器人，或换成现有群中机器人的 Webhook。',
  ]),
  400101: setupFix('robot access token does not exist', 'robotToken'),
  400102: fix('robot disabled', [
    `The robot is disabled: enable it again in ${ROBOT_EN}, or replace it in dingpush's robots[].webhook.`,
    `机器人已停用：请在${ROBOT_ZH} 中重新启用，或在 dingpush 配置的 robots[].webhook 中换成其他机器人。`,
  ]),
  400105: fix('message type not supported by robots', [
    'Custom robots take only text, markdown, link, actionCard and feedCard: send one of those (images and files go through work notifications).',
    '自定义机器人只支持 text、markdown、link、actionCard、feedCard：请改用其中一种（图片和文件请用工作通知发送）。',
  ]),
  400106: withSetup('robotToken', fix('robot not in the group', [
    "The robot is no longer in the group: add it again in the group's 群设置 → 机器人 → 添加机器人 and put its new webhook in dingpush's robots[].webhook.",
    '机器人已不在群中：请在 群设置 → 机器人 → 添加机器人 重新添加，并把新的 Webhook 填入 dingpush 配置的 robots[].webhook。',
  ])),
  400402: fix('a message field is missing or invalid', [
    "A field of the robot message is missing or malformed (DingTalk's message names it, e.g. markdown title): fill it in or fix it and send again.",
    '机器人消息缺少某字段或格式不正确（钉钉返回信息中有说明，如 markdown 的 title）：请补全或修正后重新发送。',
  ]),
  430101: fix('unsafe external link', [
    'DingTalk judged a link in the message unsafe: remove it or link to a trusted https site.',
    '消息中的外链被钉钉判定为不安全：请删除该链接或改用可信的 https 网站。',
  ]),
  430102: fix('inappropriate text', [
    "DingTalk's moderation refused the text: reword it and send again.",
    '消息文本未通过钉钉内容审核：请修改措辞后重新发送。',
  ]),
  430103: fix('inappropriate image', [
    "DingTalk's moderation refused an image: replace or remove it.",
    '消息中的图片未通过钉钉内容审核：请替换或删除该图片。',
  ]),
  430104: fix('inappropriate content', [
    "DingTalk's moderation refused the message: change its content and send again.",
    '消息内容未通过钉钉内容审核：请修改内容后重新发送。',
  ]),
  460101: fix('robot message over 20 000 bytes', ROBOT_TOO_LONG),
  101002: fix('robot message too long', ROBOT_TOO_LONG),
};

/** New-API string codes (HTTP 4xx/5xx with {code, message, requestid}). */
export const NEW_API_ERRORS: Readonly<Record<string, ErrorInfo>> = {
  InvalidAuthentication: e('refresh_token', 'invalid or expired access token'),
  invalidClientIdOrSecret: setupFix('invalid AppKey or AppSecret', 'credentials'),
  'Forbidden.AccessDenied.AccessTokenPermissionDenied': setupFix('the app lacks the permission for this API', 'permission'),
  'Forbidden.AccessDenied.IpNotInWhiteList': setupFix("this server IP is not in the app's whitelist", 'ipWhitelist'),
  'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi': e('rate_limited', 'per-app per-API QPS exceeded', SECOND),
  'Forbidden.AccessDenied.QpmLimitForAppkeyAndApi': e('rate_limited', 'per-app per-API per-minute limit exceeded', MINUTE),
  'Forbidden.AccessDenied.QpsLimitForApi': e('rate_limited', 'global per-API QPS exceeded', SECOND),
  'Forbidden.AccessDenied.ApiCountLimitForOrg': fix('monthly API call quota exhausted', MONTHLY_QUOTA),
  'system.busy': e('retry', 'DingTalk is busy'),
  systemBusy: e('retry', 'DingTalk is busy'),
  'system.error': e('retry', 'DingTalk server error'),
  systemError: e('retry', 'DingTalk server error'),
  unknownError: e('retry', 'DingTalk server error'),
  'service.timeout': e('retry', 'DingTalk timed out'),
  'send.too.fast': e('rate_limited', 'robot sending too fast', MINUTE),
  'send.byToken.tooFast': e('rate_limited', 'robot sending too fast', MINUTE),
  'too.many.group': e('rate_limited', 'too many groups', MINUTE),
  'too.many.people': e('rate_limited', 'too many people', MINUTE),
  'unknown.send.result': e('retry', 'send result unknown'),
};

/** Token-invalidating sub-codes inside errcode 88 (project rule, §0.2). */
const TOKEN_SUB_CODES = new Set(['40014', '42001', '40001', '33001']);

export interface ErrorFacts {
  errcode?: number;
  subCode?: string;
  code?: string;
  httpStatus?: number;
}

/** What to do about one failure. Unknown codes are permanent, except unknown 5xx and network failures. */
export function classify(facts: ErrorFacts): ErrorInfo {
  if (facts.errcode === 88) {
    const sub = facts.subCode;
    if (sub && TOKEN_SUB_CODES.has(sub)) return e('refresh_token', `token rejected (sub_code ${sub})`);
    if (sub === 'isp.-1') return e('retry', 'backend service unavailable');
    // The meaning stays the same for every other sub_code: DingTalkError's message is built from it.
    const meaning = `authorisation or permission problem (sub_code ${sub ?? '?'})`;
    if (sub === '60011') return setupFix(meaning, 'permission');
    if (sub === '60020') return setupFix(meaning, 'ipWhitelist');
    return fix(meaning, [
      `DingTalk refused the call's authorisation (sub_code ${sub ?? '?'}; read sub_msg): usually the app lacks a permission (${APP_EN} → 权限管理), or the AppKey, AppSecret and AgentId in dingpush's configuration are not all from the same app.`,
      `钉钉拒绝了此调用的授权（sub_code ${sub ?? '?'}，详见 sub_msg）：通常是应用缺少权限（${APP_ZH} → 权限管理），或 dingpush 配置中的 AppKey、AppSecret、AgentId 不是来自同一个应用。`,
    ]);
  }
  if (facts.errcode !== undefined) {
    const known = OAPI_ERRORS[facts.errcode];
    if (known) return known;
  }
  if (facts.code !== undefined) {
    const known = NEW_API_ERRORS[facts.code];
    if (known) return known;
    if (facts.code.startsWith('Missing') || facts.code.startsWith('invalid') || facts.code.startsWith('miss.'))
      return fix('invalid request', [
        "A field of the request is missing or invalid (DingTalk's code and message name it): fill it in or correct it and send again.",
        '请求中缺少某字段或字段无效（钉钉返回的 code 和信息中有说明）：请补全或修正后重新发送。',
      ]);
  }
  if (facts.httpStatus !== undefined) {
    if (facts.httpStatus === 429) return e('rate_limited', 'too many requests', SECOND);
    if (facts.httpStatus >= 500) return e('retry', `HTTP ${facts.httpStatus} from DingTalk`);
  }
  return e('permanent', 'unrecognised DingTalk error');
}

/** What a human must do about one failure, in English and in Chinese (= `classify(facts).todo`). */
export function whatToDo(facts: ErrorFacts): ErrorTodo {
  return classify(facts).todo;
}

/**
 * The IP address that an IP-whitelist refusal names (the app's 60020 / `IpNotInWhiteList`, a robot's 310000), e.g.
 * `访问ip不在白名单之中,request ip=203.0.113.7 appKey(dingxxx)`, `ip 203.0.113.7 not in whitelist`,
 * `ip not in white list, ip: 203.0.113.7`. IPv4 or IPv6 (an IPv4-mapped IPv6 address gives its IPv4 form); undefined
 * when the message names none.
 */
export function egressIpOf(errmsg: string): string | undefined {
  for (const raw of errmsg.split(/[^0-9A-Fa-f:.]+/)) {
    if (!/\d/.test(raw)) continue;
    for (const candidate of [raw, raw.replace(/^[.:]+|[.:]+$/g, '')]) {
      const version = isIP(candidate);
      if (version === 4) return candidate;
      if (version === 6) {
        const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(candidate);
        return mapped ? mapped[1] : candidate.toLowerCase();
      }
    }
  }
  return undefined;
}

/** Why a custom robot's security settings refused a message (errcode 310000), as far as DingTalk's errmsg says. */
export type RobotSecurityCause = 'keyword' | 'signature' | 'timestamp' | 'ip' | 'unknown';

export interface RobotSecurityAdvice {
  cause: RobotSecurityCause;
  todo: ErrorTodo;
  /** For cause `ip`: the address DingTalk saw, when its message names one. */
  ip?: string;
}

const ROBOT_KEYWORD: Pair = [
  `The message contains none of the robot's custom keywords: put one of them in the message (or its template), and list them in dingpush's robots[].keywords so dingpush checks before sending. They are in ${ROBOT_EN} → 安全设置 → 自定义关键词.`,
  `消息中没有包含机器人的任何自定义关键词：请在消息（或其模板）中加入其中一个，并把关键词写入 dingpush 配置的 robots[].keywords，以便 dingpush 在发送前检查。关键词见${ROBOT_ZH} → 安全设置 → 自定义关键词。`,
];
const ROBOT_SECRET: Pair = [
  `Signature mismatch: the signing secret dingpush uses for this robot is wrong or missing. Copy the secret (it starts with SEC) from ${ROBOT_EN} → 安全设置 → 加签 into dingpush's robots[].secret.`,
  `签名不匹配：dingpush 为该机器人使用的加签密钥错误或缺失。请从${ROBOT_ZH} → 安全设置 → 加签 复制密钥（SEC 开头）到 dingpush 配置的 robots[].secret。`,
];
const ROBOT_CLOCK: Pair = [
  "The signature's timestamp is more than 1 hour away from DingTalk's time: this server's clock is wrong. Turn on time synchronisation (NTP: chrony or systemd-timesyncd) and send again.",
  '签名时间戳与钉钉服务器时间相差超过 1 小时：本服务器时钟不准。请开启时间同步（NTP，如 chrony 或 systemd-timesyncd）后重新发送。',
];
const robotIpLine = (ip: string | undefined): Pair => {
  const v6 = ip?.includes(':') ?? false;
  return [
    `This server's egress IP${ip ? ` (${ip})` : ''} is not in the robot's IP whitelist: add it, or its range, in ${ROBOT_EN} → 安全设置 → IP地址（段）.` +
      (v6 ? ' The whitelist takes IPv4 only: make this server reach oapi.dingtalk.com over IPv4.' : ''),
    `本服务器的出口 IP${ip ? `（${ip}）` : ''}不在机器人的 IP 白名单中：请在${ROBOT_ZH} → 安全设置 → IP地址（段）中添加该地址或其网段。` +
      (v6 ? '白名单只支持 IPv4：请让本服务器通过 IPv4 访问 oapi.dingtalk.com。' : ''),
  ];
};

/**
 * Reads a 310000 errmsg and says which security setting refused the message and what to change (§6.1, §6.2): the old
 * English forms (`keywords not in content`, `sign not match`, `invalid timestamp`, `ip 1.2.3.4 not in whitelist`)
 * and the newer `description:…;solution:…;` / `错误描述:…;解决方案:…` ones (关键词不匹配, 机器人发送签名不匹配,
 * 机器人发送签名过期). An errmsg it cannot read gives cause `unknown` and the general 310000 line.
 */
export function robotSecurityAdvice(errmsg: string): RobotSecurityAdvice {
  // The newer forms carry a solution that mentions other settings (the signature one talks of 时间戳): read only
  // the description.
  const described = /(?:description|错误描述)\s*[:：]\s*([^;；]*)/i.exec(errmsg);
  const what = described ? described[1]! : errmsg;
  if (/keyword|关键词|关键字/i.test(what)) return { cause: 'keyword', todo: pair(ROBOT_KEYWORD) };
  if (/timestamp|签名过期|时间戳/i.test(what)) return { cause: 'timestamp', todo: pair(ROBOT_CLOCK) };
  if (/sign|签名/i.test(what)) return { cause: 'signature', todo: pair(ROBOT_SECRET) };
  if (/white\s*list|白名单|\bip\b/i.test(what)) {
    const ip = egressIpOf(errmsg);
    return { cause: 'ip', todo: pair(robotIpLine(ip)), ...(ip ? { ip } : {}) };
  }
  return { cause: 'unknown', todo: pair(ROBOT_SECURITY) };
}

/**
 * A failed DingTalk call. Carries DingTalk's code and message, the request id and what to do about it; never a
 * token, secret or full URL (query strings carry tokens).
 */
export class DingTalkError extends Error {
  override name = 'DingTalkError';
  readonly errorClass: ErrorClass;
  readonly waitMs: number | undefined;
  /** What the operator must do, in English and in Chinese. */
  readonly todo: ErrorTodo;
  /** Which part of the setup the failure is about (credentials, a permission, the IP whitelist, a robot token), if any. */
  readonly setup: SetupProblem | undefined;
  /** DingTalk refused a media_id the call named (see ErrorInfo.refusedMediaId): nothing was sent. */
  readonly refusedMediaId: boolean;

  constructor(
    readonly api: string,
    readonly code: number | string,
    readonly dingMessage: string,
    readonly requestId: string | undefined,
    /** Usually from `classify`; without `todo`, its class's default line. */
    info: Omit<ErrorInfo, 'todo'> & { todo?: ErrorTodo },
    /** The request may have reached DingTalk (timeout, dropped connection): check before repeating a send. */
    readonly mayHaveSucceeded = false,
    readonly httpStatus?: number,
  ) {
    super(`DingTalk ${api} failed: ${code} ${dingMessage}${dingMessage ? ' — ' : ''}${info.meaning}${requestId ? ` (request ${requestId})` : ''}`);
    this.errorClass = info.class;
    this.waitMs = info.waitMs;
    this.todo = info.todo ?? DEFAULT_TODO[info.class];
    this.setup = info.setup;
    this.refusedMediaId = info.refusedMediaId === true;
  }

  get retryable(): boolean {
    return this.errorClass !== 'permanent';
  }
}

/** Input that DingTalk would refuse, caught before any call; `path` names the field. */
export class DingTalkValidationError extends Error {
  override name = 'DingTalkValidationError';
  constructor(
    readonly path: string,
    readonly rule: string,
  ) {
    super(`${path}: ${rule}`);
  }
}
