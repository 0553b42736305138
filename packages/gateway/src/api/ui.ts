import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/**
 * The dashboard: a page at `/` and its files at `/ui/…`, read once from packages/gateway/dist/ui (the build copies
 * src/ui there, and the browser modules it imports from node_modules into dist/ui/vendor). The same path from src/api
 * and dist/api, so tests running the sources serve the built files. The page talks to the public API only; it holds no
 * secret (a key typed in stays in the browser's sessionStorage).
 */
const UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function readUi(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  try {
    for (const f of readdirSync(UI_DIR, { recursive: true, withFileTypes: true })) {
      if (f.isFile() && TYPES[extname(f.name)]) {
        const path = join(f.parentPath, f.name);
        files.set(relative(UI_DIR, path).split('\\').join('/'), readFileSync(path));
      }
    }
  } catch {
    // Not built: `/` says how to build it.
  }
  return files;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>dingpush</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>dingpush</h1>
<p>The gateway is running, but its dashboard is not built: run <code>npm run build</code> (npm install does it). Meanwhile use the
<a href="/openapi.json">HTTP API</a> or <code>npx dingpush status ID</code>.</p></body>`;

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  const files = readUi();
  const page = files.get('index.html');
  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page ?? NOT_BUILT),
  );
  app.get('/ui/*', { schema: { hide: true } }, async (req, reply) => {
    const path = (req.params as { '*': string })['*'];
    const body = files.get(path);
    if (!body) return reply.code(404).send({ error: { code: 'not_found', message: `no file /ui/${path}` } });
    return reply.type(TYPES[extname(path)]!).header('cache-control', 'no-cache').send(body);
  });
}
