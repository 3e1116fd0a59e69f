// The status page and its login page, self-contained: one inline style and one inline script, both
// allowed by hash in a strict Content-Security-Policy, nothing loaded from anywhere. The script
// renders a card per node from GET /ui/status (polled every 2 s), never as HTML (textContent only),
// and sends POST /ui/wake|sleep/NODE, /ui/hold and /ui/release with the session's CSRF token. The
// hold form is in the HTML, not redrawn by the poll, so what a person types survives it. Pure:
// strings in, strings out.
import { createHash } from 'node:crypto';

const STYLE = `*{box-sizing:border-box}body{font:16px/1.45 system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}
header{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between;padding:.75rem 1rem;background:#18181b;color:#fff}
h1{font-size:1.2rem;margin:0}main{padding:1rem;display:grid;gap:1rem;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr))}
.card{background:#fff;border-radius:.75rem;padding:1rem;box-shadow:0 1px 4px #0002}.card h2{font-size:1.1rem;margin:0 0 .25rem}
.state{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:600;background:#e4e4e7}
.s-awake{background:#bbf7d0}.s-asleep{background:#c7d2fe}.s-waking,.s-draining,.s-suspending{background:#fde68a}.s-failed{background:#fecaca}
dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .75rem;margin:.5rem 0}dt{color:#52525b}dd{margin:0;overflow-wrap:anywhere}
button{font:inherit;min-height:2.75rem;padding:.4rem 1rem;border-radius:.5rem;border:1px solid #52525b;background:#fff;cursor:pointer}
button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #2563eb;outline-offset:2px}
.actions{display:flex;flex-wrap:wrap;gap:.5rem}.confirm{margin-top:.5rem;padding:.5rem;border:2px solid #b91c1c;border-radius:.5rem}
.danger{background:#b91c1c;color:#fff;border-color:#b91c1c}#msg{min-height:1.5rem;padding:0 1rem}
form.login{max-width:24rem;margin:15vh auto;background:#fff;padding:1.5rem;border-radius:.75rem;display:grid;gap:.75rem}
input{font:inherit;padding:.5rem;border:1px solid #52525b;border-radius:.5rem;width:100%}.error{color:#b91c1c}
header button{background:#27272a;color:#fff;border-color:#a1a1aa}a{color:#1d4ed8}
.below{padding:0 1rem 1rem}.hold form{align-items:center}.hold form input{flex:1 1 12rem;width:auto}select{font:inherit;padding:.5rem;border-radius:.5rem}
.hold ul{padding-left:1.2rem}.hold li{margin:.25rem 0}.hold li button{margin-left:.5rem}`;

const SCRIPT = `(function(){var csrf=document.querySelector('meta[name=csrf]').content,grid=document.getElementById('nodes'),
msg=document.getElementById('msg'),apps=[],open={};
function el(t,c,x){var e=document.createElement(t);if(c)e.className=c;if(x!==undefined)e.textContent=x;return e;}
function said(b){return b.action?'Asked: '+b.action+' '+b.node:b.held?'Maintenance hold until '+new Date(b.until).toLocaleString():'Hold released: '+b.released;}
function post(path,body,then){var h={'x-csrf-token':csrf};if(body)h['content-type']='application/json';
fetch(path,{method:'POST',headers:h,body:body?JSON.stringify(body):undefined,credentials:'same-origin'}).then(function(r){
return r.json().then(function(b){msg.textContent=r.ok?said(b):'Refused: '+(b.error||r.status);if(then&&r.ok)then();refresh();});
}).catch(function(){msg.textContent='The power manager did not answer.';});}
var holdKey='',releasing=null;function renderHolds(nodes){var by={},ids=[];nodes.forEach(function(n){(n.holds||[]).forEach(function(h){
if(!by[h.id]){by[h.id]={h:h,nodes:[]};ids.push(h.id);}by[h.id].nodes.push(n.node);});});
var key=JSON.stringify(ids.map(function(i){return [by[i].h,by[i].nodes];}))+'|'+releasing;if(key===holdKey)return;holdKey=key;
var ul=document.getElementById('holds');ul.replaceChildren.apply(ul,ids.map(function(i){var x=by[i],li=el('li');li.dataset.hold=i;
li.appendChild(el('span','',x.h.reason+', until '+new Date(x.h.until).toLocaleString()+' ('+x.nodes.join(', ')+')'));
var b=el('button','','Release…');b.type='button';b.addEventListener('click',function(){releasing=i;renderHolds(last);});li.appendChild(b);
if(releasing===i){var box=el('div','confirm');box.setAttribute('role','alertdialog');box.setAttribute('aria-label','Confirm release of the hold '+i);
box.appendChild(el('p','','Release the hold "'+i+'"? Idle nodes may sleep again.'));var y=el('button','danger','Release now');y.type='button';
y.addEventListener('click',function(){releasing=null;post('/ui/release',{id:i});});var no=el('button','','Cancel');no.type='button';
no.addEventListener('click',function(){releasing=null;renderHolds(last);});box.appendChild(y);box.appendChild(no);li.appendChild(box);setTimeout(function(){y.focus();},0);}
return li;}));if(!ids.length)ul.appendChild(el('li','','No hold: idle nodes may sleep.'));}
function row(dl,k,v){dl.appendChild(el('dt','',k));dl.appendChild(el('dd','',v));}
function card(n){var c=el('section','card');c.setAttribute('aria-labelledby','n-'+n.node);c.dataset.node=n.node;
var h=el('h2','',n.node);h.id='n-'+n.node;c.appendChild(h);var st=el('span','state s-'+n.state,n.state);st.dataset.testid='state';c.appendChild(st);
var dl=el('dl');row(dl,'since',new Date(n.since).toLocaleString());row(dl,'reason',n.reason);
row(dl,'last wake',n.lastWakeLatencySeconds===undefined?'not measured':Math.round(n.lastWakeLatencySeconds)+' s');
row(dl,'saved',n.energySavedKwh.toFixed(2)+' kWh');row(dl,'pods',(n.pods||[]).length?n.pods.join(', '):'none');
if(n.inFlight)row(dl,'doing',n.inFlight);if(n.holds&&n.holds.length)row(dl,'held',n.holds.map(function(h){return h.reason+' until '+new Date(h.until).toLocaleString();}).join('; '));
if(n.nextPredictedWake)row(dl,'next predicted wake',new Date(n.nextPredictedWake.at).toLocaleString()+': '+n.nextPredictedWake.reason);c.appendChild(dl);
var links=apps.filter(function(a){return a.node===n.node;});if(links.length){var p=el('p');links.forEach(function(a){
var l=el('a','',a.name);l.href='http://'+location.hostname+':'+a.gatewayPort+'/';p.appendChild(l);p.appendChild(document.createTextNode(' '));});c.appendChild(p);}
var act=el('div','actions'),w=el('button','','Wake');w.type='button';w.disabled=n.state==='awake';
w.addEventListener('click',function(){post('/ui/wake/'+encodeURIComponent(n.node));});act.appendChild(w);
var s=el('button','','Sleep…');s.type='button';s.disabled=n.state!=='awake';s.setAttribute('aria-expanded',String(!!open[n.node]));
s.addEventListener('click',function(){open[n.node]=true;render(last);});act.appendChild(s);c.appendChild(act);
if(open[n.node]){var box=el('div','confirm');box.setAttribute('role','alertdialog');box.setAttribute('aria-label','Confirm sleep of '+n.node);
box.appendChild(el('p','','Put '+n.node+' to sleep? Its pods stop until it wakes.'));var yes=el('button','danger','Sleep now');yes.type='button';
yes.addEventListener('click',function(){delete open[n.node];post('/ui/sleep/'+encodeURIComponent(n.node));});
var no=el('button','','Cancel');no.type='button';no.addEventListener('click',function(){delete open[n.node];render(last);});
box.appendChild(yes);box.appendChild(no);c.appendChild(box);}return c;}
var last=[];function render(nodes){last=nodes;renderHolds(nodes);var f=document.activeElement,fid=f&&f.closest&&f.closest('.card')?f.closest('.card').dataset.node+'|'+f.textContent:'';
grid.replaceChildren.apply(grid,nodes.map(card));if(fid){var parts=fid.split('|');var c=grid.querySelector('[data-node="'+CSS.escape(parts[0])+'"]');
if(c){var b=Array.prototype.find.call(c.querySelectorAll('button,a'),function(x){return x.textContent===parts[1];});if(b)b.focus();}}
var y=grid.querySelector('.confirm .danger');if(y&&document.activeElement!==y&&!(f&&f.closest&&f.closest('.confirm')))y.focus();}
function refresh(){fetch('/ui/status',{cache:'no-store',credentials:'same-origin'}).then(function(r){if(r.status===401){location.href='/';return;}
if(!r.ok){msg.textContent='Status unavailable ('+r.status+')';return;}return r.json().then(function(b){apps=b.apps;render(b.status.nodes);
document.getElementById('who').textContent=(b.status.leader?'leader ':'standby ')+b.status.identity;});}).catch(function(){msg.textContent='The power manager did not answer.';});}
var hc=document.getElementById('hold-confirm'),hr=document.getElementById('hold-reason'),hf=document.getElementById('hold-for');
document.getElementById('hold-form').addEventListener('submit',function(e){e.preventDefault();
document.getElementById('hold-q').textContent='Hold every node awake for '+hf.options[hf.selectedIndex].text+' ('+hr.value+')? Sleeping nodes wake; none is put to sleep until the hold ends or is released.';
hc.hidden=false;document.getElementById('hold-yes').focus();});
document.getElementById('hold-yes').addEventListener('click',function(){hc.hidden=true;post('/ui/hold',{for:hf.value,reason:hr.value},function(){hr.value='';});});
document.getElementById('hold-no').addEventListener('click',function(){hc.hidden=true;hr.focus();});
document.getElementById('logout').addEventListener('click',function(){fetch('/logout',{method:'POST',headers:{'x-csrf-token':csrf}}).then(function(){location.href='/';});});
refresh();setInterval(refresh,2000);})();`;

const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** Only this page's own style and script run; fetches and forms go to this origin only. */
export const STATUS_PAGE_CSP = `default-src 'none'; style-src ${hash(STYLE)}; script-src ${hash(SCRIPT)}; connect-src 'self'; img-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

/** Headers on every page and answer of the status page (OWASP Secure Headers). */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': STATUS_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  'cache-control': 'no-store',
};

/** The durations the hold form offers (value: a duration the server reads; 1 h preselected, as `power hold`). */
const HOLD_CHOICES = [
  ['30m', '30 minutes'],
  ['1h', '1 hour'],
  ['2h', '2 hours'],
  ['4h', '4 hours'],
  ['8h', '8 hours'],
  ['1d', '1 day'],
]
  .map(([v, t]) => `<option value="${v}"${v === '1h' ? ' selected' : ''}>${t}</option>`)
  .join('');

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const head = (title: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style>`;

/** The login form; `loginCsrf` is also in the login cookie (double submit), `error` says why the last try failed. */
export function loginPageHtml(cluster: string, loginCsrf: string, error?: string): string {
  return `${head(`${cluster}: power`)}</head><body>
<form class="login" method="post" action="/login">
<h1>${escapeHtml(cluster)}: power manager</h1>
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="csrf" value="${escapeHtml(loginCsrf)}">
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<button type="submit">Log in</button>
<p><small>The token is the power manager's API token (secret <code>power-api-token</code>).</small></p>
</form></body></html>
`;
}

export function statusPageHtml(cluster: string, csrf: string): string {
  return `${head(`${cluster}: power`)}<meta name="csrf" content="${escapeHtml(csrf)}"></head><body>
<header><h1>${escapeHtml(cluster)}: power</h1><span id="who"></span><button type="button" id="logout">Log out</button></header>
<p id="msg" role="status" aria-live="polite"></p>
<main id="nodes" aria-label="Nodes"></main>
<div class="below"><section class="card hold" aria-labelledby="hold-h"><h2 id="hold-h">Maintenance hold</h2>
<p>Keeps every node awake: sleeping nodes wake, none is put to sleep until the hold ends or is released.</p>
<ul id="holds"></ul>
<form id="hold-form" class="actions"><label for="hold-for">For</label><select id="hold-for">${HOLD_CHOICES}</select>
<label for="hold-reason">Reason</label><input id="hold-reason" maxlength="150" required placeholder="disk swap">
<button type="submit">Hold…</button></form>
<div id="hold-confirm" class="confirm" role="alertdialog" aria-label="Confirm the maintenance hold" hidden><p id="hold-q"></p>
<button type="button" class="danger" id="hold-yes">Hold now</button> <button type="button" id="hold-no">Cancel</button></div></section></div>
<script>${SCRIPT}</script></body></html>
`;
}
