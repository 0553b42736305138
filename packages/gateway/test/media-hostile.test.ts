import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, gatewayConfig, useGateway } from './helpers.js';
import { spawnDingpush } from './process.js';

/**
 * A hostile review of media (issue 9): the URL fetch as an SSRF vector, multipart abuse, the public media URL, and who
 * may use the media and directory endpoints. "vm" and "runsc" resolve to 127.0.0.1 on this machine (/etc/hosts): "vm"
 * is the one host the operator allowed, "runsc" is any name an attacker points at loopback.
 */
const png = (seed: string) =>
  Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'), Buffer.from(`hostile ${seed} `.repeat(20))]);

const DROP_IN_KEY = 'drop-in-key-0123456789abcdef';

let files: Server;
let port = 0;
beforeAll(async () => {
  files = createServer((req, res) => {
    const [, kind, seed = ''] = (req.url ?? '').split('/');
    if (kind === 'png') return res.writeHead(200, { 'content-type': 'image/png' }).end(png(seed));
    // An error page with a body the gateway does not read.
    if (kind === 'error') return res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>oops</h1>'.repeat(5000));
    if (kind === 'redirect') return res.writeHead(302, { location: `http://127.0.0.1:${port}/png/redirected` }).end();
    // Each chunk well inside the timeout, the whole far beyond it.
    if (kind === 'trickle') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(png('trickle').subarray(0, 16));
      const t = setInterval(() => res.write('x'), 100);
      res.on('close', () => clearInterval(t));
      setTimeout(() => {
        clearInterval(t);
        res.end();
      }, 3_000);
      return;
    }
    // No Content-Length, 3 MB chunked: more than a voice may be.
    if (kind === 'chunked') {
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      res.write(Buffer.from('ID3'));
      for (let i = 0; i < 30; i++) res.write(Buffer.alloc(100 * 1024));
      return res.end();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  port = (files.address() as AddressInfo).port;
});
afterAll(async () => {
  files.closeAllConnections();
  await new Promise((r) => files.close(r));
});

const env = useGateway({
  config: { media: { fetchTimeoutMs: 800 } },
  configure: (c) => {
    c.callbacks = { ...c.callbacks!, allowHosts: ['vm'] };
    c.targets = [{ name: 'ops-alerts', to: { robots: ['ops'] } }];
    c.apiKeys = [...c.apiKeys!, { name: 'dropin', key: DROP_IN_KEY, targets: ['ops-alerts'] }];
  },
});

const post = (body: unknown, key = API_KEY) =>
  fetch(`${env.gw.url}/v1/notifications`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const upload = (form: FormData, key = API_KEY) => fetch(`${env.gw.url}/v1/media`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
const errorOf = async (res: Response) => ({ status: res.status, ...((await res.json()) as { error: { path?: string; message: string } }).error });

describe('media URLs cannot reach this machine or its networks', () => {
  it('the allowed host is fetched; every other spelling of loopback or private is a 400 naming message.url', async () => {
    const ok = await post({ to: { userIds: ['u1'] }, message: { type: 'image', url: `http://vm:${port}/png/allowed` } });
    expect(ok.status).toBe(202);
    const refused = [
      `http://0:${port}/png/x`,
      `http://2130706433:${port}/png/x`,
      `http://0x7f.1:${port}/png/x`,
      `http://127.1:${port}/png/x`,
      `http://[::1]:${port}/png/x`,
      `http://[::ffff:127.0.0.1]:${port}/png/x`,
      `http://[0:0:0:0:0:ffff:7f00:1]:${port}/png/x`,
      `http://[::ffff:10.0.0.1]/png/x`,
      `http://[fd00::1]/png/x`,
      `http://169.254.169.254/latest/meta-data`,
      `http://localhost.:${port}/png/x`,
      `http://LOCALHOST:${port}/png/x`,
      `http://runsc:${port}/png/x`, // a name that resolves to 127.0.0.1
      `http://vm:${port}/redirect/x`, // an allowed host redirecting to loopback: not followed
    ];
    for (const url of refused) {
      const e = await errorOf(await post({ to: { userIds: ['u1'] }, message: { type: 'image', url } }));
      expect({ url, status: e.status, path: e.path }).toEqual({ url, status: 400, path: 'message.url' });
    }
  });

  it('a body trickled under the timeout per chunk but over it in total is refused; a chunked body over the size is refused', async () => {
    const started = Date.now();
    const slow = await errorOf(await post({ to: { userIds: ['u1'] }, message: { type: 'image', url: `http://vm:${port}/trickle/x.png` } }));
    expect(slow).toMatchObject({ status: 400, path: 'message.url' });
    expect(slow.message).toMatch(/did not answer within 800 ms/);
    expect(Date.now() - started).toBeLessThan(2_500);
    const big = await errorOf(await post({ to: { userIds: ['u1'] }, message: { type: 'voice', url: `http://vm:${port}/chunked/x.mp3`, duration: 3 } }));
    expect(big).toMatchObject({ status: 400, path: 'message.url' });
    expect(big.message).toMatch(/larger than 2097152 bytes/);
  });
});

describe('a media URL the gateway refuses leaves the process running', () => {
  it('dingpush serve answers 400 to a redirect and to an error page, and keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-media-crash-'));
    const configFile = join(dir, 'dingpush.yaml');
    writeFileSync(configFile, stringify(gatewayConfig(env.emu.url, dir, { callbacks: { allowHosts: ['127.0.0.1'] }, logLevel: 'warn' })));
    const gw = spawnDingpush(['serve', '--config', configFile]);
    try {
      const url = (await gw.waitFor(/API:\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const send = (path: string) =>
        fetch(`${url}/v1/notifications`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to: { userIds: ['u1'] }, message: { type: 'image', url: `http://127.0.0.1:${port}${path}` } }),
        });
      for (const path of ['/redirect/a.png', '/error/b.png', '/redirect/c.png']) expect((await send(path)).status).toBe(400);
      await new Promise((r) => setTimeout(r, 300));
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(gw.output()).not.toMatch(/AbortError|Request aborted/);
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
  });
});

describe('POST /v1/media refuses abuse before storing anything', () => {
  it('two files, no file part, a voice over its size: 400 naming the part', async () => {
    const two = new FormData();
    two.append('file', new Blob([png('two-a')]), 'a.png');
    two.append('file', new Blob([png('two-b')]), 'b.png');
    expect(await errorOf(await upload(two))).toMatchObject({ status: 400, path: 'file' });

    const none = new FormData();
    none.append('type', 'image');
    expect(await errorOf(await upload(none))).toMatchObject({ status: 400, path: 'file' });

    const voice = new FormData();
    voice.append('type', 'voice');
    voice.append('file', new Blob([Buffer.concat([Buffer.from('ID3'), Buffer.alloc(2 * 1024 * 1024)])]), 'v.mp3');
    const e = await errorOf(await upload(voice));
    expect(e).toMatchObject({ status: 400, path: 'file' });
    expect(e.message).toMatch(/voice must be at most 2 MB/);
  });
});

describe("DingTalk's file message rule (the referenced file at most 10 MB, shared/dingtalk-api.md §4)", () => {
  it('a stored 11 MB pdf is refused as a file message (400 naming message.media), before anything is stored', async () => {
    const form = new FormData();
    form.append('file', new Blob([Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(11 * 1024 * 1024, 0x20)])]), 'big.pdf');
    const res = await upload(form);
    expect(res.status).toBe(201); // an upload of up to 20 MB is DingTalk's rule for media/upload
    const { id } = (await res.json()) as { id: string };
    const before = (await env.api.list({ limit: 500 })).items.length;
    const e = await errorOf(await post({ to: { userIds: ['u1'] }, message: { type: 'file', media: id } }));
    expect(e).toMatchObject({ status: 400, path: 'message.media' });
    expect(e.message).toMatch(/file message's file must be at most 10 MB/);
    expect((await env.api.list({ limit: 500 })).items.length).toBe(before);
  });
});

describe('the public media URL', () => {
  it('serves a file only with its own token; another file\'s token or an unknown id is 404', async () => {
    const a = new FormData();
    a.append('file', new Blob([png('public-a')]), 'a.png');
    const b = new FormData();
    b.append('file', new Blob([png('public-b')]), 'b.png');
    const ma = (await (await upload(a)).json()) as { id: string };
    const mb = (await (await upload(b)).json()) as { id: string };
    const tokenOf = async (id: string) => (await env.gw.store.mediaInfo([id]))[0]!.token;
    expect((await fetch(`${env.gw.url}/media/${ma.id}/${await tokenOf(ma.id)}`)).status).toBe(200);
    expect((await fetch(`${env.gw.url}/media/${ma.id}/${await tokenOf(mb.id)}`)).status).toBe(404);
    expect((await fetch(`${env.gw.url}/media/med_${'0'.repeat(32)}/${await tokenOf(ma.id)}`)).status).toBe(404);
  });
});

describe('a key limited to targets (a drop-in key) reaches its targets only', () => {
  it('is refused the org directory, a directory sync and media uploads (403), as it is POST /v1/notifications', async () => {
    const headers = { authorization: `Bearer ${DROP_IN_KEY}`, 'content-type': 'application/json' };
    expect((await post({ to: { userIds: ['u1'] }, message: { type: 'text', content: 'x' } }, DROP_IN_KEY)).status).toBe(403);
    expect((await fetch(`${env.gw.url}/v1/directory/users`, { headers })).status).toBe(403);
    expect((await fetch(`${env.gw.url}/v1/directory/sync`, { method: 'POST', headers, body: '{}' })).status).toBe(403);
    const form = new FormData();
    form.append('file', new Blob([png('dropin')]), 'd.png');
    expect((await upload(form, DROP_IN_KEY)).status).toBe(403);
  });
});
