declare module 'dingtalk-robot-sender' {
  interface Reply {
    data: { errcode: number; errmsg: string };
  }
  export default class ChatBot {
    constructor(options: { webhook?: string; baseUrl?: string; accessToken?: string; secret?: string });
    send(content: unknown): Promise<Reply>;
    text(content: string, at?: unknown): Promise<Reply>;
    markdown(title: string, text: string, at?: unknown): Promise<Reply>;
    actionCard(card: unknown): Promise<Reply>;
  }
}
