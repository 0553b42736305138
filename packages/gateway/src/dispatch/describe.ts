import { DingTalkError } from '@dingpush/dingtalk';
import { dingtalkReason } from '../domain/dingtalk-reason.js';

/** A failure described for senders: DingTalk's code and message and what to do about it, no secrets. */
export function describe(err: unknown): string {
  if (err instanceof DingTalkError) return dingtalkReason(err);
  return err instanceof Error ? err.message : String(err);
}
