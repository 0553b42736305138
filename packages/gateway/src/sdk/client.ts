import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { NotificationRequestInput } from '../notifications/request.js';
import type { RecallResult } from '../notifications/recall.js';
import type { NotificationStatus } from '../domain/delivery-states.js';
import type { NotificationView } from '../domain/notification-view.js';

export interface MediaView {
  id: string;
  type: 'image' | 'voice' | 'video' | 'file';
  filename: string;
  format: string;
  size: number;
  sha256: string;
  createdAt: string;
}

/** A refusal from the gateway: HTTP status, its error code, the field it names. */
export class DingpushApiError extends Error {
  override name = 'DingpushApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
  }
}

export interface DingpushClientOptions {
  /** e.g. http://127.0.0.1:8720 */
  url: string;
  apiKey?: string;
  timeoutMs?: number;
}

export interface DirectorySyncResult {
  app: string;
  users: number;
  departments: number;
  /** DingTalk calls the sync made. */
  calls: number;
  ms: number;
}

export interface DirectoryUsersQuery {
  app?: string;
  mobile?: string;
  userid?: string;
  limit?: number;
  cursor?: string;
}

export interface DirectoryUsersPage {
  app: string;
  /** The app's latest sync (null: never synced). */
  sync: { startedAt: string | null; finishedAt: string | null; error: string | null; users: number; departments: number; running: boolean } | null;
  items: { userid: string; name: string; mobile: string | null; deptIds: number[]; syncedAt: string }[];
  nextCursor: string | null;
}

/** The TypeScript SDK for the gateway's HTTP API. */
export class DingpushClient {
  private readonly base: string;

  constructor(private readonly opts: DingpushClientOptions) {
    this.base = opts.url.replace(/\/$/, '');
  }

  /** Sends a notification; answers once it is stored. */
  async send(request: NotificationRequestInput, opts: { idempotencyKey?: string } = {}): Promise<{ id: string; status: string; replayed: boolean }> {
    const res = await this.call('POST', '/v1/notifications', request, opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {});
    return { ...(res.body as { id: string; status: string }), replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  /**
   * Stores a media file in the gateway (a path on disk, or bytes with a filename): answers its id, which a message
   * references as {"type":"image","media":"<id>"} (file and voice alike). The same bytes answer the same id.
   */
  async uploadMedia(source: string | Uint8Array, opts: { filename?: string; type?: 'image' | 'voice' | 'video' | 'file' } = {}): Promise<MediaView> {
    const bytes = typeof source === 'string' ? await readFile(source) : source;
    const filename = opts.filename ?? (typeof source === 'string' ? basename(source) : undefined);
    if (!filename) throw new DingpushApiError(0, 'invalid_request', 'give a filename (its extension tells the format) with bytes', 'filename');
    const form = new FormData();
    if (opts.type) form.set('type', opts.type);
    form.set('file', new Blob([new Uint8Array(bytes)]), filename);
    return (await this.call('POST', '/v1/media', form)).body as MediaView;
  }

  /** A stored media file, described. */
  async media(id: string): Promise<MediaView> {
    return (await this.call('GET', `/v1/media/${encodeURIComponent(id)}`)).body as MediaView;
  }

  async get(id: string): Promise<NotificationView> {
    return (await this.call('GET', `/v1/notifications/${encodeURIComponent(id)}`)).body as NotificationView;
  }

  async list(q: { status?: NotificationStatus; since?: string; limit?: number; cursor?: string } = {}): Promise<{ items: NotificationView[]; nextCursor: string | null }> {
    const params = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    const qs = params.size ? `?${params}` : '';
    return (await this.call('GET', `/v1/notifications${qs}`)).body as { items: NotificationView[]; nextCursor: string | null };
  }

  /** Recalls it: per recipient, what was recalled, what is still pending, and what cannot be. */
  async recall(id: string): Promise<{ id: string } & RecallResult> {
    return (await this.call('POST', `/v1/notifications/${encodeURIComponent(id)}/recall`)).body as { id: string } & RecallResult;
  }

  /** Retries its dead letters (jobs that gave up): failed deliveries go back to the queue. */
  async retry(id: string): Promise<{ id: string; jobs: number; deliveries: number }> {
    return (await this.call('POST', `/v1/notifications/${encodeURIComponent(id)}/retry`)).body as { id: string; jobs: number; deliveries: number };
  }

  /** Delivers its callback again (the events that gave up, or the latest). */
  async redeliverCallback(id: string): Promise<{ id: string; events: string[] }> {
    return (await this.call('POST', `/v1/notifications/${encodeURIComponent(id)}/callback`)).body as { id: string; events: string[] };
  }

  /** Lists the app's org from DingTalk now and replaces its directory (409 while a sync of it runs; 502 when DingTalk refuses). */
  async syncDirectory(app?: string): Promise<DirectorySyncResult> {
    return (await this.call('POST', '/v1/directory/sync', app ? { app } : {})).body as DirectorySyncResult;
  }

  /** The app's directory: one person by mobile or userid, or a page of everyone (by userid; pass nextCursor on). */
  async directoryUsers(q: DirectoryUsersQuery = {}): Promise<DirectoryUsersPage> {
    const params = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    const qs = params.size ? `?${params}` : '';
    return (await this.call('GET', `/v1/directory/users${qs}`)).body as DirectoryUsersPage;
  }

  /** Polls until the notification is completed (every recipient has an outcome) or the time runs out. */
  async waitFor(id: string, opts: { timeoutMs?: number; intervalMs?: number; until?: (n: NotificationView) => boolean } = {}): Promise<NotificationView> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    const done = opts.until ?? ((n: NotificationView) => n.status === 'completed');
    for (;;) {
      const n = await this.get(id);
      if (done(n)) return n;
      if (Date.now() > deadline) throw new Error(`notification ${id} is still ${n.status} after ${opts.timeoutMs ?? 30_000} ms`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
    }
  }

  private async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ body: unknown; headers: Headers }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          // A form sets its own multipart content type (with its boundary).
          ...(body !== undefined && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}),
          ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: body instanceof FormData ? body : JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const c = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
      const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (err as Error).message;
      throw new DingpushApiError(0, 'unreachable', `cannot reach the gateway at ${this.base} (${cause})`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw new DingpushApiError(res.status, 'bad_response', `the gateway answered HTTP ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; path?: string } }).error ?? {};
      throw new DingpushApiError(res.status, e.code ?? `http_${res.status}`, e.message ?? `HTTP ${res.status}`, e.path);
    }
    return { body: parsed, headers: res.headers };
  }
}
