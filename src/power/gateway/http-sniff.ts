// What the first bytes of a gateway connection are: an HTTP/1.x request head (and what the gateway
// needs of it: method, target, Accept, User-Agent), not HTTP at all (TLS, SSH, a TV app's own
// protocol, junk), or not known yet (the head is still arriving). Pure and total: never throws,
// whatever the bytes.

/** The gateway reads at most this much of a request head; a longer one is held like any other traffic. */
export const MAX_HEAD_BYTES = 8 * 1024;

export interface HttpHead {
  method: string;
  target: string;
  /** Lower-cased header names; a repeated header keeps its first value. */
  headers: Record<string, string>;
}

export type Sniffed = { kind: 'incomplete' } | { kind: 'other' } | { kind: 'http'; head: HttpHead };

// RFC 9110 section 9 methods and RFC 9112 section 3 request-line: METHOD SP target SP HTTP/1.x
const REQUEST_LINE = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|TRACE|CONNECT) (\S{1,4096}) HTTP\/1\.[01]$/;
const METHOD_PREFIX = /^(G|GE|GET|H|HE|HEA|HEAD|P|PO|POS|POST|PU|PUT|PA|PAT|PATC|PATCH|D|DE|DEL|DELE|DELET|DELETE|O|OP|OPT|OPTI|OPTIO|OPTION|OPTIONS|T|TR|TRA|TRAC|TRACE|C|CO|CON|CONN|CONNE|CONNEC|CONNECT)( |$)/;
const HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

export function sniffHttp(bytes: Buffer): Sniffed {
  const text = bytes.subarray(0, MAX_HEAD_BYTES).toString('latin1');
  if (!METHOD_PREFIX.test(text.slice(0, 8))) return { kind: 'other' };
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return bytes.length >= MAX_HEAD_BYTES ? { kind: 'other' } : { kind: 'incomplete' };
  const [line = '', ...fields] = text.slice(0, end).split('\r\n');
  const m = REQUEST_LINE.exec(line);
  if (!m) return { kind: 'other' };
  const headers: Record<string, string> = {};
  for (const f of fields) {
    const h = HEADER.exec(f);
    if (!h) return { kind: 'other' };
    const name = (h[1] as string).toLowerCase();
    if (!(name in headers)) headers[name] = h[2] as string;
  }
  return { kind: 'http', head: { method: m[1] as string, target: m[2] as string, headers } };
}

/** A browser navigating to a page: it accepts HTML (RFC 9110 section 12.5.1, Accept). */
export function wantsHtml(head: HttpHead): boolean {
  return (head.method === 'GET' || head.method === 'HEAD') && /(^|,)\s*text\/html\s*(;|,|$)/i.test(head.headers['accept'] ?? '');
}

/** Compiles the app's ignoreUserAgents (the validator has checked each one compiles). */
export function userAgentMatcher(patterns: readonly string[]): (userAgent: string | undefined) => boolean {
  const compiled = patterns.flatMap((p) => {
    try {
      return [new RegExp(p)];
    } catch {
      return [];
    }
  });
  return (ua) => ua !== undefined && compiled.some((r) => r.test(ua));
}

/** Reads a connection's request head as its bytes arrive; tells `onRead` once it knows what they are. */
export class HeadReader {
  result: Sniffed | undefined;
  private notify: (() => void) | undefined;

  constructor(private readonly onRead: (s: Sniffed) => void) {}

  /** Called with the start of what the client sent so far. */
  update(bytes: Buffer): void {
    if (this.result) return;
    const s = sniffHttp(bytes);
    if (s.kind === 'incomplete') return;
    this.result = s;
    this.notify?.();
    this.onRead(s);
  }

  /** Resolves once the head is read, `gone` resolves (the client left), or after `ms` (a client that waits for the server to speak). */
  wait(ms: number, gone: Promise<unknown>): Promise<Sniffed | undefined> {
    if (this.result) return Promise.resolve(this.result);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.notify = undefined;
        resolve(this.result);
      };
      const timer = setTimeout(done, ms);
      this.notify = done;
      void gone.then(done);
    });
  }
}
