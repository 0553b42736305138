import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaIdOf } from '../src/media/intake.js';
import { parseConfig, startGateway } from '../src/server.js';
import { API_KEY, gatewayConfig, SEND, useGateway } from './helpers.js';
import { run } from './process.js';

/** A real PNG's signature and header, then bytes of its own: each test's image differs from the others'. */
const png = (seed: string) =>
  Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'), Buffer.from(`dingpush ${seed} `.repeat(20))]);
const gif = (seed: string) => Buffer.concat([Buffer.from('GIF89a'), Buffer.from(`gif ${seed} `.repeat(20))]);
const pdf = (seed: string) => Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(`pdf ${seed} `.repeat(20))]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A loopback server for media URLs: /png/<seed>, /big (3 MB), /slow (never answers), /missing (404); /once/<seed> (a
 * png the first time, then 404), /changing/<seed> (a different png each time). It counts the fetches of each path.
 */
let files: Server;
let filesUrl = '';
let publicPort = 0;
const fetches = new Map<string, number>();
beforeAll(async () => {
  files = createServer((req, res) => {
    const n = (fetches.get(req.url ?? '') ?? 0) + 1;
    fetches.set(req.url ?? '', n);
    const [, kind, seed = ''] = (req.url ?? '').split('/');
    if (kind === 'once' && n === 1) return res.writeHead(200, { 'content-type': 'image/png' }).end(png(seed));
    if (kind === 'changing') return res.writeHead(200, { 'content-type': 'image/png' }).end(png(`${seed} ${n}`));
    if (kind === 'png') return res.writeHead(200, { 'content-type': 'image/png' }).end(png(seed));
    if (kind === 'gif') return res.writeHead(200, { 'content-type': 'image/gif' }).end(gif(seed));
    if (kind === 'big') return res.writeHead(200, { 'content-type': 'audio/mpeg' }).end(Buffer.concat([Buffer.from('ID3'), Buffer.alloc(3 * 1024 * 1024)]));
    if (kind === 'slow') return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  // The gateway's public URL names its port, known before it starts.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  publicPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
});
afterAll(async () => {
  files.closeAllConnections();
  await new Promise((r) => files.close(r));
});

const env = useGateway({
  config: { media: { fetchTimeoutMs: 500 } },
  configure: (c) => {
    c.server = { ...c.server, port: publicPort, publicUrl: `http://127.0.0.1:${publicPort}/` };
  },
});

const emuMedia = async (mediaId: string) => Buffer.from(await (await fetch(`${env.emu.url}/_emulator/api/media/${encodeURIComponent(mediaId)}`)).arrayBuffer());
const uploads = async () => (await env.calls('/media/upload')).length;
const post = (body: unknown) =>
  fetch(`${env.gw.url}/v1/notifications`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const notifications = async () => (await env.api.list({ limit: 500 })).items.length;
const sent = (id: string) => env.api.waitFor(id, { until: (n) => (n.deliveries ?? []).every((d) => !['queued', 'sending'].includes(d.status)), timeoutMs: 10_000 });

/** The last image a user received, and the bytes DingTalk holds for it. */
async function lastImage(userid: string): Promise<{ mediaId: string; bytes: Buffer }> {
  let mediaId = '';
  await expect
    .poll(async () => {
      const inbox = await env.inbox('users', userid);
      mediaId = inbox.at(-1)?.message?.image?.media_id ?? '';
      return mediaId;
    }, { timeout: 10_000 })
    .not.toBe('');
  return { mediaId, bytes: await emuMedia(mediaId) };
}

describe('media through the gateway', () => {
  it('an uploaded image reaches a user with its bytes; the same bytes again (inline) upload nothing', async () => {
    const bytes = png('upload');
    const path = join(env.dataDir, 'chart.png');
    writeFileSync(path, bytes);
    const media = await env.api.uploadMedia(path);
    expect(media).toMatchObject({ type: 'image', format: 'png', size: bytes.length, sha256: sha(bytes), filename: 'chart.png' });
    expect(await env.api.uploadMedia(bytes, { filename: 'again.png' })).toMatchObject({ id: media.id });
    expect(await env.api.media(media.id)).toMatchObject({ id: media.id, size: bytes.length });

    const before = await uploads();
    const a = await env.api.send({ to: { userIds: ['u1'] }, message: { type: 'image', media: media.id } });
    await sent(a.id);
    const first = await lastImage('u1');
    expect(first.bytes.equals(bytes)).toBe(true);
    expect(await uploads()).toBe(before + 1);

    const b = await env.api.send({ to: { userIds: ['u2'] }, message: { type: 'image', base64: bytes.toString('base64'), filename: 'chart.png' } });
    expect((await sent(b.id)).deliveries![0]!.status).not.toBe('failed');
    expect((await lastImage('u2')).mediaId).toBe(first.mediaId);
    expect(await uploads()).toBe(before + 1);
  });

  it('an image by URL is fetched once and reaches a user with identical bytes', async () => {
    const before = await uploads();
    const n = await env.api.send({ to: { userIds: ['u3'] }, message: { type: 'image', url: `${filesUrl}/gif/byurl` } });
    await sent(n.id);
    expect((await lastImage('u3')).bytes.equals(gif('byurl'))).toBe(true);
    expect(await uploads()).toBe(before + 1);
  });

  it('a file and a voice message go by upload too', async () => {
    const file = await env.api.send({ to: { userIds: ['u4'] }, message: { type: 'file', base64: pdf('report').toString('base64'), filename: 'report.pdf' } });
    const voice = await env.api.send({
      to: { userIds: ['u4'] },
      message: { type: 'voice', base64: Buffer.concat([Buffer.from('#!AMR\n'), Buffer.alloc(500, 1)]).toString('base64'), filename: 'hello.amr', duration: 3 },
    });
    await sent(file.id);
    await sent(voice.id);
    await expect.poll(async () => (await env.inbox('users', 'u4')).length, { timeout: 10_000 }).toBe(2);
    const inbox = await env.inbox('users', 'u4');
    const fileMsg = inbox.find((m) => m.message.msgtype === 'file');
    expect((await emuMedia(fileMsg.message.file.media_id)).equals(pdf('report'))).toBe(true);
    expect(inbox.find((m) => m.message.msgtype === 'voice')?.message.voice.duration).toBe('3');
  });

  it('after a restart on the same store, the same bytes are not uploaded again', async () => {
    const bytes = png('restart');
    const first = await env.api.send({ to: { userIds: ['u5'] }, message: { type: 'image', base64: bytes.toString('base64'), filename: 'r.png' } });
    await sent(first.id);
    const before = await uploads();
    await env.gw.close();
    const input = gatewayConfig(env.emu.url, env.dataDir, { media: { fetchTimeoutMs: 500 } });
    input.server = { ...input.server, port: publicPort, publicUrl: `http://127.0.0.1:${publicPort}` };
    env.gw = await startGateway(parseConfig(input));
    const again = await env.api.send({ to: { userIds: ['u6'] }, message: { type: 'image', base64: bytes.toString('base64'), filename: 'r.png' } });
    await sent(again.id);
    expect((await lastImage('u6')).bytes.equals(bytes)).toBe(true);
    expect(await uploads()).toBe(before);
  });

  it('bad media is a 400 naming the field and the rule, and nothing is stored', async () => {
    const count = await notifications();
    const bad: [unknown, string, RegExp][] = [
      [{ type: 'image', media: 'med_nope' }, 'message.media', /no media med_nope/],
      [{ type: 'image', base64: Buffer.from('just text').toString('base64'), filename: 'x.png' }, 'message.base64', /named \.png but its bytes are not a file of that format/],
      [{ type: 'image', base64: Buffer.from('just text').toString('base64') }, 'message.base64', /image must be one of jpg, jpeg, gif, png, bmp; this one has no recognisable format/],
      [{ type: 'image', base64: pdf('named-png').toString('base64'), filename: 'x.png' }, 'message.base64', /named \.png but its bytes are pdf/],
      [{ type: 'file', base64: png('as-file').toString('base64'), filename: 'x.png' }, 'message.base64', /file must be one of doc, .*; this one is png/],
      [{ type: 'image', base64: png('two').toString('base64'), url: `${filesUrl}/png/x` }, 'message.url', /not base64 and url/],
      [{ type: 'voice', base64: Buffer.from('#!AMR\nxx').toString('base64') }, 'message.duration', /duration in seconds/],
      [{ type: 'image', url: `${filesUrl}/missing/x.png` }, 'message.url', /answered HTTP 404/],
      [{ type: 'voice', url: `${filesUrl}/big/x.mp3`, duration: 5 }, 'message.url', /(is larger than|at most) 2097152 bytes|2097152 are taken/],
      [{ type: 'image', url: `${filesUrl}/slow/x.png` }, 'message.url', /did not answer within 500 ms/],
      [{ type: 'image', url: 'http://192.168.1.20/x.png' }, 'message.url', /private or link-local address/],
    ];
    for (const [message, path, rule] of bad) {
      const res = await post({ to: { userIds: ['u7'] }, message });
      const body = (await res.json()) as { error: { path: string; message: string } };
      expect({ status: res.status, path: body.error.path }, JSON.stringify(message).slice(0, 80)).toEqual({ status: 400, path });
      expect(body.error.message).toMatch(rule);
    }
    // A good image in a request refused later (an unknown robot) is not stored either.
    const orphan = png('orphan');
    const res = await post({ to: { robots: ['nope'] }, message: { type: 'image', base64: orphan.toString('base64'), filename: 'o.png' } });
    expect(res.status).toBe(400);
    await expect(env.api.media(mediaIdOf('image', sha(orphan)))).rejects.toMatchObject({ status: 404 });
    expect(await notifications()).toBe(count);
  });

  it('an upload DingTalk refuses fails the delivery with its code and message', async () => {
    await env.fault({ path: '/media/upload', kind: 'errcode', errcode: 40005, errmsg: '不合法的文件类型', count: 1 });
    const n = await env.api.send({ to: { userIds: ['u8'] }, message: { type: 'image', base64: png('refused').toString('base64'), filename: 'f.png' } });
    const done = await sent(n.id);
    expect(done.deliveries![0]).toMatchObject({ status: 'failed' });
    expect(done.deliveries![0]!.reason).toMatch(/40005/);
  });

  it('a cached media_id DingTalk no longer takes (40007) is dropped: the send uploads the file again and goes, and later sends use the new one', async () => {
    const bytes = png('forgotten');
    const image = { type: 'image', base64: bytes.toString('base64'), filename: 'f.png' } as const;
    const before = await uploads();
    await sent((await env.api.send({ to: { userIds: ['u10'] }, message: image })).id);
    const first = await lastImage('u10');
    expect(await uploads()).toBe(before + 1);
    // DingTalk no longer knows the media_id the gateway cached for this file: it refuses it with 40007.
    expect((await fetch(`${env.emu.url}/_emulator/api/media/${encodeURIComponent(first.mediaId)}`, { method: 'DELETE' })).status).toBe(200);

    const again = await sent((await env.api.send({ to: { userIds: ['u11'] }, message: image })).id);
    expect(again.deliveries![0]!.status, again.deliveries![0]!.reason ?? '').not.toBe('failed');
    const second = await lastImage('u11');
    expect(second.mediaId).not.toBe(first.mediaId);
    expect(second.bytes.equals(bytes)).toBe(true);
    expect(await uploads()).toBe(before + 2);
    expect((await env.calls(SEND)).filter((c) => c.errcode === 40007)).toHaveLength(1);

    // The fresh upload is the one cached now: the next send of the file uploads nothing.
    await sent((await env.api.send({ to: { userIds: ['u12'] }, message: image })).id);
    expect((await lastImage('u12')).mediaId).toBe(second.mediaId);
    expect(await uploads()).toBe(before + 2);
  });

  it('a fresh upload refused again (40007) fails the delivery with DingTalk\'s code and message, after one new upload', async () => {
    const image = { type: 'image', base64: png('refused twice').toString('base64'), filename: 't.png' } as const;
    await sent((await env.api.send({ to: { userIds: ['u13'] }, message: image })).id);
    const before = await uploads();
    const refusedBefore = (await env.calls(SEND)).filter((c) => c.errcode === 40007).length;
    await env.fault({ path: SEND, kind: 'errcode', errcode: 40007, errmsg: '不合法的媒体文件id', count: 2 });
    const done = await sent((await env.api.send({ to: { userIds: ['u14'] }, message: image })).id);
    expect(done.deliveries![0]).toMatchObject({ status: 'failed' });
    expect(done.deliveries![0]!.reason).toMatch(/40007: 不合法的媒体文件id/);
    expect(await uploads()).toBe(before + 1);
    expect((await env.calls(SEND)).filter((c) => c.errcode === 40007).length - refusedBefore).toBe(2);
  });

  it('a retry with the same Idempotency-Key is answered from the stored notification without fetching its URL again', async () => {
    const key = (k: string) => ({ authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'idempotency-key': `media-replay-${k}` });
    const postKeyed = (k: string, body: unknown) => fetch(`${env.gw.url}/v1/notifications`, { method: 'POST', headers: key(k), body: JSON.stringify(body) });
    // The URL answered the first time only: the retry gets the first answer's notification, not a 400.
    const gone = { to: { userIds: ['u15'] }, message: { type: 'image', url: `${filesUrl}/once/replay` } };
    const first = await postKeyed('gone', gone);
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    const retry = await postKeyed('gone', gone);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(((await retry.json()) as { id: string }).id).toBe(id);
    // The same key with a different request is the conflict it always was, and fetches nothing either.
    const other = await postKeyed('gone', { ...gone, to: { userIds: ['u16'] } });
    expect(other.status).toBe(409);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('idempotency_conflict');
    expect(fetches.get('/once/replay')).toBe(1);

    // The URL serves other bytes now: still the same request, as the sender gave it.
    const changing = { to: { userIds: ['u15'] }, message: { type: 'image', url: `${filesUrl}/changing/replay` } };
    const a = await postKeyed('changing', changing);
    expect(a.status).toBe(202);
    const b = await postKeyed('changing', changing);
    expect(b.status).toBe(200);
    expect(((await b.json()) as { id: string }).id).toBe(((await a.json()) as { id: string }).id);
    expect(fetches.get('/changing/replay')).toBe(1);
  });

  it('an upload that gets no answer is not a lost send: the chat message (which cannot be asked whether it arrived) is sent once the upload goes', async () => {
    // The message itself never left: only its media upload lost its answer. A chat's lost answer is reported, never
    // repeated, so taking this for one failed a message that DingTalk never saw.
    await env.fault({ path: '/media/upload', kind: 'dropAfter', count: 6 });
    const n = await env.api.send({ to: { chats: ['chat1'] }, message: { type: 'image', base64: png('upload drop').toString('base64'), filename: 'd.png' } });
    const done = await env.api.waitFor(n.id, { timeoutMs: 20_000 });
    expect(done.deliveries![0]).toMatchObject({ status: 'sent' });
  });

  it('an image to a robot group is a markdown image served by the gateway; by URL, the sender\'s URL', async () => {
    const bytes = png('robot');
    const before = (await env.inbox('robots', 'ops')).length;
    await env.api.send({ to: { robots: ['ops'] }, message: { type: 'image', base64: bytes.toString('base64'), filename: 'cpu.png' } });
    await env.api.send({ to: { robots: ['ops'] }, message: { type: 'image', url: `${filesUrl}/png/robot-url` } });
    await expect.poll(async () => (await env.inbox('robots', 'ops')).length, { timeout: 10_000 }).toBe(before + 2);
    const [served, linked] = (await env.inbox('robots', 'ops')).slice(before).map((m) => m.message.markdown.text as string);
    const url = /!\[cpu\.png\]\((http[^)]+)\)/.exec(served!)![1]!;
    expect(url.startsWith(`http://127.0.0.1:${publicPort}/media/`)).toBe(true);
    const res = await fetch(url);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await fetch(`${url.slice(0, url.lastIndexOf('/'))}/wrongtoken`)).status).toBe(404);
    expect(linked).toContain(`(${filesUrl}/png/robot-url)`);

    const file = await post({ to: { robots: ['ops'] }, message: { type: 'file', base64: pdf('robot').toString('base64'), filename: 'r.pdf' } });
    expect(file.status).toBe(400);
    expect(((await file.json()) as { error: { message: string } }).error.message).toMatch(/custom robot cannot show a file: send a link or markdown/);
  });

  it('an image to a chat through the app robot is a sampleImageMsg with its URL', async () => {
    const n = await env.api.send({ to: { chats: ['cid1=='] }, via: 'app_robot', message: { type: 'image', url: `${filesUrl}/png/chat` } });
    await sent(n.id);
    const inbox = await env.inbox('chats', 'chat1');
    const last = inbox.at(-1);
    expect(last.message.msgKey).toBe('sampleImageMsg');
    expect(last.message.msgParam.photoURL).toBe(`${filesUrl}/png/chat`);
  });

  it('the CLI sends --image PATH, --image URL, --file PATH and --voice PATH --duration S', async () => {
    const gw = ['--url', env.gw.url, '--key', API_KEY, '--user', 'u9', '--json'];
    const image = join(env.dataDir, 'cli.png');
    const doc = join(env.dataDir, 'cli.pdf');
    const voice = join(env.dataDir, 'cli.mp3');
    writeFileSync(image, png('cli'));
    writeFileSync(doc, pdf('cli'));
    writeFileSync(voice, Buffer.concat([Buffer.from('ID3'), Buffer.alloc(400, 7)]));
    for (const args of [['--image', image], ['--image', `${filesUrl}/png/cli-url`], ['--file', doc], ['--voice', voice, '--duration', '4']]) {
      const res = await run(['send', ...gw, ...args]);
      expect(res.code, res.stderr).toBe(0);
      await sent(JSON.parse(res.stdout).id);
    }
    await expect.poll(async () => (await env.inbox('users', 'u9')).length, { timeout: 10_000 }).toBe(4);
    const inbox = await env.inbox('users', 'u9');
    expect(inbox.map((m) => m.message.msgtype)).toEqual(['image', 'image', 'file', 'voice']);
    expect((await emuMedia(inbox[0].message.image.media_id)).equals(png('cli'))).toBe(true);
    expect((await emuMedia(inbox[1].message.image.media_id)).equals(png('cli-url'))).toBe(true);
    expect((await emuMedia(inbox[2].message.file.media_id)).equals(pdf('cli'))).toBe(true);
    const noDuration = await run(['send', ...gw, '--voice', voice]);
    expect(noDuration.code).not.toBe(0);
    expect(noDuration.stderr).toMatch(/--voice needs --duration/);
  });
});
