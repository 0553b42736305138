// The dashboard's one dictionary: every string the page shows, in English and Chinese.
export const DICT = {
  en: {
    overview: 'Overview', notifications: 'Notifications', compose: 'Compose', destinations: 'Destinations & keys',
    lastHour: 'Last hour', lastDay: 'Last day', accepted: 'accepted', sent: 'sent', read: 'read', unread: 'unread',
    throttled: 'throttled', failed: 'failed', invalid: 'invalid', recalled: 'recalled',
    destination: 'Destination', queue: 'Queue', oldest: 'Oldest waiting', quota: 'Quota in use', blockedUntil: 'Blocked until',
    lastSuccess: 'Last success', lastError: 'Last error', latestErrors: 'Latest errors by code', meaning: 'Meaning', whatToDo: 'What to do',
    code: 'Code', none: 'none', search: 'Search titles and content', status: 'Status', channel: 'Channel', target: 'Target', key: 'Key',
    since: 'Since', until: 'Until', all: 'all', title: 'Title', created: 'Created', counts: 'Recipients', more: 'More', apply: 'Apply',
    recipients: 'Recipients', recall: 'Recall', resendFailed: 'Resend failed', message: 'Message', attempts: 'Calls to DingTalk',
    moves: 'History', readAt: 'Read at', unreadAt: 'Unread at', to: 'To', type: 'Message type', text: 'Text', send: 'Send',
    preview: 'Preview', template: 'Template', data: 'Data (JSON)', renderTemplate: 'Preview template', sentOk: 'Accepted',
    keys: 'API keys', name: 'Name', scope: 'Scope', nearCap: 'Users near their daily cap', enterKey: 'API key',
    keyHelp: 'This gateway needs an API key. It is kept in this browser tab only (sessionStorage).', signIn: 'Open', signOut: 'Forget key',
    readOnly: 'read-only', sandbox: 'sandbox', resendOf: 'Resend of', apps: 'Apps', robots: 'Robots', url: 'URL', buttons: 'Buttons (title|url per line)',
    userIds: 'User ids (comma separated)', mobiles: 'Mobiles', deptIds: 'Department ids', chats: 'Chat ids', robotsTo: 'Robots',
  },
  zh: {
    overview: '概览', notifications: '通知', compose: '发送', destinations: '目的地与密钥',
    lastHour: '最近一小时', lastDay: '最近一天', accepted: '已接收', sent: '已发送', read: '已读', unread: '未读',
    throttled: '被限流', failed: '失败', invalid: '无效', recalled: '已撤回',
    destination: '目的地', queue: '队列', oldest: '最早等待', quota: '配额占用', blockedUntil: '封禁至',
    lastSuccess: '最近成功', lastError: '最近错误', latestErrors: '按错误码的最近错误', meaning: '含义', whatToDo: '处理建议',
    code: '错误码', none: '无', search: '搜索标题和内容', status: '状态', channel: '通道', target: '目标', key: '密钥',
    since: '起始', until: '截止', all: '全部', title: '标题', created: '创建时间', counts: '接收人', more: '更多', apply: '筛选',
    recipients: '接收人', recall: '撤回', resendFailed: '重发失败的', message: '消息', attempts: '钉钉调用',
    moves: '历史', readAt: '已读时间', unreadAt: '未读时间', to: '发给', type: '消息类型', text: '正文', send: '发送',
    preview: '预览', template: '模板', data: '数据 (JSON)', renderTemplate: '预览模板', sentOk: '已接收',
    keys: 'API 密钥', name: '名称', scope: '权限', nearCap: '接近每日上限的用户', enterKey: 'API 密钥',
    keyHelp: '此网关需要 API 密钥。密钥只保存在当前浏览器标签页（sessionStorage）。', signIn: '打开', signOut: '忘记密钥',
    readOnly: '只读', sandbox: '沙箱', resendOf: '重发自', apps: '应用', robots: '机器人', url: '链接', buttons: '按钮（每行 标题|链接）',
    userIds: '用户 ID（逗号分隔）', mobiles: '手机号', deptIds: '部门 ID', chats: '群 ID', robotsTo: '机器人',
  },
};

export const initialLang = () => sessionStorage.getItem('dingpush.lang') || (navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en');
