export {
  type AppCredentials,
  type ClientOptions,
  DEPARTMENT_USERS_PAGE_MAX,
  type DepartmentUsersPage,
  DINGTALK_API,
  DINGTALK_OAPI,
  DingTalkApp,
  type DirectoryUser,
  type OrgWalk,
  ROOT_DEPARTMENT,
  type MediaType,
  type SendResult,
  type WorkNoticeTarget,
} from './app-client.js';
export { type DirectoryCache, MemoryDirectoryCache } from './directory-cache.js';
export {
  classify,
  DEFAULT_TODO,
  DingTalkError,
  DingTalkValidationError,
  type ErrorClass,
  type ErrorFacts,
  type ErrorInfo,
  type ErrorTodo,
  type SetupProblem,
  egressIpOf,
  NEW_API_ERRORS,
  OAPI_ERRORS,
  type RobotSecurityAdvice,
  type RobotSecurityCause,
  robotSecurityAdvice,
  whatToDo,
} from './errors.js';
export { type CallInfo, Transport, type TransportOptions } from './http.js';
export { LIMITS } from './messages/limits.js';
export {
  extensionOf,
  MEDIA_MAX_BYTES,
  mediaMessageMaxBytes,
  MEDIA_MIME,
  MEDIA_RULES,
  type MediaKind,
  mediaKindOf,
  mediaRuleProblem,
  sniffFormat,
  VOICE_MAX_SECONDS,
} from './messages/media-rules.js';
export {
  type Mentions,
  type RobotAt,
  type RobotBody,
  robotBodyBytes,
  toAppRobotMessage,
  toRobotBody,
  toWorkMsg,
  type WorkMsg,
  withMentions,
} from './messages/render.js';
export { type RawPath, rawBodyProblem } from './messages/raw.js';
export {
  ROBOT_SIGNATURE_SKEW_MS,
  ROBOT_WEBHOOK_MAX_BYTES,
  ROBOT_WEBHOOK_TYPES,
  type RobotRefusal,
  robotKeywordProblem,
  robotSignatureProblem,
  robotWebhookBodyProblem,
} from './messages/robot-webhook.js';
export * from './messages/schemas.js';
export { codePoints, jsonBytes, splitMarkdown, splitMarkdownBlocks, utf8Bytes } from './messages/split.js';
export { isLoopback, ProxyError, ProxyRouter, type ProxyRouterOptions, type ProxySetting, proxySettingProblem, proxyUrlProblem, redactUrl } from './proxy.js';
export { backoffDelay, DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.js';
export { RobotClient, type RobotOptions, type RobotSendOptions } from './robot-client.js';
export { robotSignature, signedWebhookUrl } from './signing.js';
export { type CachedToken, MemoryTokenStore, TokenManager, type TokenManagerOptions, type TokenStore } from './token.js';
