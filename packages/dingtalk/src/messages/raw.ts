import { markdownProblem, urlProblem } from './schemas.js';

/**
 * Raw DingTalk bodies (a work-notification `msg`, a robot body, an app robot's {msgKey, msgParam}) skip the message
 * schemas, so they are scanned for the same URL rule by field name: every string under a key ending in url/Url/URL
 * (or with digits after it, as in app-robot `actionURL1`), at any depth below it too; markdown link and image targets
 * in every string under a `text` or `markdown` key; and app-robot `msgParam`, a JSON-encoded string, is parsed and
 * scanned too.
 */

export type RawPath = (string | number)[];

interface Node {
  value: unknown;
  /** The property this value sits under (array items: their array's), which says what the value is. */
  name: string | undefined;
  /** Under a …url key, at any depth. */
  url: boolean;
  key: string | number | undefined;
  up: Node | undefined;
}

const URL_KEY = /url\d*$/i;
const MARKDOWN_KEYS = new Set(['text', 'markdown']);

function pathOf(node: Node): RawPath {
  const path: RawPath = [];
  for (let n: Node | undefined = node; n?.key !== undefined; n = n.up) path.push(n.key);
  return path.reverse();
}

/**
 * The first thing in a raw DingTalk body (document order) that breaks the URL rule, with its path inside the body,
 * or undefined. Walks without recursion, so any depth is safe.
 */
export function rawBodyProblem(body: unknown): { path: RawPath; message: string } | undefined {
  const stack: Node[] = [{ value: body, name: undefined, url: false, key: undefined, up: undefined }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { value, name } = node;
    if (typeof value === 'string') {
      let problem: string | undefined;
      if (name === 'msgParam') {
        let param: unknown;
        try {
          param = JSON.parse(value);
        } catch {
          return { path: pathOf(node), message: 'must be a JSON-encoded object' };
        }
        stack.push({ ...node, value: param, name: undefined });
        continue;
      }
      if (node.url && value !== '') problem = urlProblem(value, { mediaId: true });
      else if (name !== undefined && MARKDOWN_KEYS.has(name)) problem = markdownProblem(value);
      if (problem) return { path: pathOf(node), message: problem };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], name, url: node.url, key: i, up: node });
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        stack.push({ value: child, name: key, url: node.url || URL_KEY.test(key), key, up: node });
      }
    }
  }
  return undefined;
}
