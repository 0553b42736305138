/** What a tracking job carries: which DingTalk send to look at, and for whom. */
export interface TrackPayload {
  channel: 'work_notice' | 'robot_oto';
  app: string;
  taskId?: number;
  processQueryKey?: string;
  deliveryIds: string[];
  /** The DingTalk body and content hash, to send again to recipients DingTalk asked to wait (143103, 143105). */
  body: Record<string, unknown>;
  contentHash: string | null;
  sentAt: number;
  /** Looks taken so far while the task was not finished, and read re-checks so far. */
  polls: number;
  readChecks: number;
}
