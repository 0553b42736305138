import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';

/** What the proxy does with a CONNECT: open the tunnel, answer 407, or close the connection without a word. */
export type ProxyMode = 'tunnel' | 'refuse' | 'close';

export interface ConnectProxy {
  /** http://127.0.0.1:<port>, with `user:password@` when the proxy requires them. */
  url: string;
  port: number;
  /** Every CONNECT the proxy was asked for, as `host:port`, in order (tunnelled or not). */
  connects: string[];
  /** The Proxy-Authorization header of each CONNECT (undefined: none sent). */
  authorizations: (string | undefined)[];
  /** Switchable while running. */
  mode: ProxyMode;
  close(): Promise<void>;
}

export interface ConnectProxyOptions {
  /** Names the proxy resolves for its clients (a corporate proxy's DNS): `{ 'oapi.dingtalk.test': '127.0.0.1' }`. */
  hosts?: Record<string, string>;
  /** Basic credentials the proxy requires (407 otherwise); `url` then carries them. */
  auth?: { user: string; password: string };
  mode?: ProxyMode;
}

/**
 * An HTTP CONNECT proxy on 127.0.0.1 (an ephemeral port) that records what it tunnels. Anything but CONNECT is
 * answered 405: it tunnels, it does not forward.
 */
export async function startConnectProxy(opts: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const sockets = new Set<Socket>();
  const expected = opts.auth ? `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString('base64')}` : undefined;
  const server = createServer((_req, res) => {
    res.writeHead(405, { 'content-type': 'text/plain' }).end('only CONNECT\n');
  });
  const proxy: ConnectProxy = {
    url: '',
    port: 0,
    connects: [],
    authorizations: [],
    mode: opts.mode ?? 'tunnel',
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    track(client);
    const target = req.url ?? '';
    proxy.connects.push(target);
    proxy.authorizations.push(req.headers['proxy-authorization']);
    if (proxy.mode === 'close') {
      client.destroy();
      return;
    }
    if (proxy.mode === 'refuse' || (expected && req.headers['proxy-authorization'] !== expected)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const port = Number(target.slice(colon + 1));
    const upstream = connect({ host: opts.hosts?.[host] ?? host, port });
    track(upstream);
    let open = false;
    upstream.once('connect', () => {
      open = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => {
      if (!open) client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      else client.destroy();
    });
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  proxy.port = typeof address === 'object' && address ? address.port : 0;
  const credentials = opts.auth ? `${encodeURIComponent(opts.auth.user)}:${encodeURIComponent(opts.auth.password)}@` : '';
  proxy.url = `http://${credentials}127.0.0.1:${proxy.port}`;
  return proxy;
}
