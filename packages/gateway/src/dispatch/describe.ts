import { DingTalkError } from '@dingpush/dingtalk';

/** A failure described for senders: DingTalk's code and message, no secrets. */
export function describe(err: unknown): string {
  if (err instanceof DingTalkError) return `DingTalk ${err.code}: ${err.dingMessage || err.message}`;
  return err instanceof Error ? err.message : String(err);
}
