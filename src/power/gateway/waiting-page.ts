// The page a browser gets from the wake gateway while the app's node is not awake, and the small
// status document it polls. Self-contained (no external font, script or image): a style and a
// script inline, allowed by their hashes in the Content-Security-Policy and nothing else. The page
// polls STATUS_PATH through the gateway every second; as long as the gateway answers (the app does
// not yet) it shows the stage; once the answer comes from the app (no WAITING_HEADER), it reloads
// and the browser shows the app. Pure: strings in, strings out.
import { createHash } from 'node:crypto';

/** Requests for this path are answered by the gateway itself while the app does not answer. */
export const STATUS_PATH = '/.vmstation-gateway/status';
/** Marks answers that come from the gateway, not from the app. */
export const WAITING_HEADER = 'x-vmstation-gateway';

/** waking: a wake was asked for; booting: the node is waking; starting: awake, the app does not answer yet. */
export type WaitStage = 'waking' | 'booting' | 'starting' | 'failed' | 'timeout';

export interface WaitStatus {
  app: string;
  node: string;
  stage: WaitStage;
  /** Seconds since the first waiting page of this wait. */
  waitedSeconds: number;
  /** The node's last wake latency (trigger to Ready), when known. */
  expectedBootSeconds?: number | undefined;
  /** After this the page says the app never answered (the power settings' wakeTimeout plus a minute). */
  timeoutSeconds: number;
}

const STAGE_TEXT: Record<WaitStage, string> = {
  waking: 'Waking the server up…',
  booting: 'The server is booting…',
  starting: 'The server is up; starting the app…',
  failed: 'The server did not wake up.',
  timeout: 'The app never answered.',
};

/** What a person can check when the wait failed; shown by the page. */
export function adviceFor(s: Pick<WaitStatus, 'app' | 'node' | 'stage'>): string {
  if (s.stage === 'failed') return `The power manager could not wake ${s.node}. Check that it is plugged in and that Wake-on-LAN (or its BMC) works: \`vmstation power status\` shows why.`;
  if (s.stage === 'timeout') return `Check that ${s.node} is on and Ready (\`vmstation power status\`, \`kubectl get nodes\`) and that ${s.app}'s pod runs on it (\`kubectl get pods -A -o wide\`).`;
  return '';
}

export function describeStatus(s: WaitStatus): string {
  return STAGE_TEXT[s.stage];
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}
main{max-width:32rem;margin:12vh auto;padding:1.5rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin:0 0 .5rem}#stage{font-weight:600}.bad{color:#b91c1c}
@media (prefers-color-scheme:dark){body{background:#18181b;color:#f4f4f5}main{background:#27272a}.bad{color:#fca5a5}}`;

// Reads its settings from data attributes (the script itself never changes, so its hash holds).
const SCRIPT = `(function(){var m=document.querySelector('main'),st=document.getElementById('stage'),
ad=document.getElementById('advice'),el=document.getElementById('elapsed'),t0=Date.now()-1000*Number(m.dataset.waited||0);
function tick(){el.textContent=Math.round((Date.now()-t0)/1000)+' s';}
function poll(){var c=new AbortController();var to=setTimeout(function(){c.abort();},5000);
fetch(m.dataset.status,{cache:'no-store',signal:c.signal}).then(function(r){clearTimeout(to);
if(!r.headers.get('${WAITING_HEADER}')){location.reload();return;}
return r.json().then(function(s){st.textContent=s.text;ad.textContent=s.advice;
st.className=(s.stage==='failed'||s.stage==='timeout')?'bad':'';setTimeout(poll,1000);});
}).catch(function(){clearTimeout(to);setTimeout(poll,1000);});}
setInterval(tick,1000);tick();setTimeout(poll,1000);})();`;

const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** The waiting page's policy: only its own inline style and script, fetches to its own origin. */
export const WAITING_PAGE_CSP = `default-src 'none'; style-src ${hash(STYLE)}; script-src ${hash(SCRIPT)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function waitingPageHtml(s: WaitStatus): string {
  const boot = s.expectedBootSeconds === undefined ? 'about a minute (no wake measured yet)' : `about ${Math.round(s.expectedBootSeconds)} s (its last wake)`;
  const bad = s.stage === 'failed' || s.stage === 'timeout';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(s.app)} is waking up</title><style>${STYLE}</style></head>
<body><main data-status="${STATUS_PATH}" data-waited="${Math.round(s.waitedSeconds)}">
<h1>${escapeHtml(s.app)} is on its way</h1>
<p><span id="stage" role="status" aria-live="polite"${bad ? ' class="bad"' : ''}>${escapeHtml(describeStatus(s))}</span></p>
<p>${escapeHtml(s.app)} runs on <strong>${escapeHtml(s.node)}</strong>, which was asleep to save power. Expected boot time: ${escapeHtml(boot)}. Waiting for <span id="elapsed">0 s</span>.</p>
<p id="advice">${escapeHtml(adviceFor(s))}</p>
<p><small>This page turns into ${escapeHtml(s.app)} by itself when it answers.</small></p>
</main><script>${SCRIPT}</script></body></html>
`;
}

/** The JSON the page polls. */
export function waitStatusJson(s: WaitStatus): string {
  return `${JSON.stringify({ ...s, text: describeStatus(s), advice: adviceFor(s) })}\n`;
}

/** A complete HTTP/1.1 response that closes the connection (the gateway then hangs up). */
export function httpResponse(status: number, reason: string, contentType: string, body: string, extra: Record<string, string> = {}, headOnly = false): Buffer {
  const payload = Buffer.from(body, 'utf8');
  const headers: Record<string, string> = {
    'content-type': contentType,
    'content-length': String(payload.length),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    connection: 'close',
    [WAITING_HEADER]: 'waiting',
    ...extra,
  };
  const head = `HTTP/1.1 ${status} ${reason}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), headOnly ? Buffer.alloc(0) : payload]);
}
