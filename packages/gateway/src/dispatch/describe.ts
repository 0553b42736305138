import { DingTalkError } from '@dingpush/dingtalk';
import { dingtalkReason } from '../domain/dingtalk-reason.js';

/** A failure described for senders: DingTalk's code and message, no secrets (what to do is derived where it is shown). */
export function describe(err: unknown): string {
  if (err instanceof DingTalkError) return dingtalkReason(err);
  return err instanceof Error ? err.message : String(err);
}
