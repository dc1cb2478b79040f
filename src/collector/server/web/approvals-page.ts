/**
 * The collector's approvals page (GET /approvals): one self-contained HTML document, its CSS
 * and JavaScript inline, nothing loaded from elsewhere, under the same rules as /reports.
 * An approver signs in with Active Directory (POST /api/v1/sign-in: the session token it
 * answers) or enters an API token; the page then long-polls GET /api/v1/approvals/watch and
 * shows the pending requests (user, computer, program, arguments, justification, rule, age)
 * and the ones decided in the last day (who decided, when, why). Approve takes a time limit
 * and a reason, deny a reason; the server's refusal (ASC_COLLECTOR_SELF_APPROVAL for one's
 * own request) is shown on the request's row as it comes.
 *
 * Security: every field of a request was written by an agent, a reason by an approver: the
 * script puts them into the page with textContent only, never as markup. The CSP allows
 * exactly this script and style (by hash), requires Trusted Types with no policy (so an
 * innerHTML assignment throws), and lets the page talk only to its own origin. The token lives
 * in sessionStorage (this tab only); the password field is cleared as soon as it is sent; the
 * inputs have no name, so no form can send them anywhere.
 */
import { pageCsp, pageHeaders } from './page-policy.js';
import { TOKEN_STORAGE_KEY } from './report-page.js';

const STYLE = `
:root { color-scheme: light dark; --border: #8884; --muted: #777; --error-bg: #fdd; --error-fg: #700; --ok: #060; }
@media (prefers-color-scheme: dark) { :root { --error-bg: #511; --error-fg: #fcc; --ok: #8d8; } }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 1.5rem 2rem; }
h1 { font-size: 1.3rem; margin: 1rem 0; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .5rem; }
fieldset { border: 1px solid var(--border); border-radius: 6px; margin: 0 0 1rem; padding: .6rem .8rem; }
legend { padding: 0 .3rem; font-weight: 600; }
label { display: inline-flex; flex-direction: column; gap: .15rem; margin: 0 .8rem .5rem 0; font-size: .85rem; }
input, select, button { font: inherit; padding: .25rem .4rem; }
.row { display: flex; flex-wrap: wrap; align-items: flex-end; }
.actions { display: flex; gap: .5rem; margin-bottom: .5rem; }
#who { color: var(--muted); margin: 0 0 .5rem; }
#error { background: var(--error-bg); color: var(--error-fg); border-radius: 6px; padding: .5rem .8rem; margin: 0 0 1rem; white-space: pre-wrap; }
#live { color: var(--muted); }
.table-wrap { overflow-x: auto; border: 1px solid var(--border); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
th { background: Canvas; white-space: nowrap; }
td { max-width: 22rem; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
td.decide { max-width: none; white-space: nowrap; }
td.decide input { width: 14rem; }
.note { display: block; white-space: normal; max-width: 28rem; margin-top: .3rem; }
.note.refused { color: var(--error-fg); }
.note.done { color: var(--ok); }
.empty { color: var(--muted); }
[hidden] { display: none !important; }
`;

const SCRIPT = `
'use strict';
(() => {
  const KEY = ${JSON.stringify(TOKEN_STORAGE_KEY)};
  const $ = (id) => document.getElementById(id);
  const errorBox = $('error'), who = $('who'), live = $('live');
  const pendingBody = $('pending-body'), decidedBody = $('decided-body'), pendingMore = $('pending-more');
  const LIMITS = [['', 'No time limit'], ['900', '15 minutes'], ['3600', '1 hour'], ['14400', '4 hours'], ['28800', '8 hours']];
  /** Pending rows by request id: kept across refreshes so a reason being typed survives them. */
  const rows = new Map();
  let tag = '', generation = 0, lastPending = [];

  function storedToken() { try { return sessionStorage.getItem(KEY) || ''; } catch { return ''; } }
  function forgetToken() { try { sessionStorage.removeItem(KEY); } catch { /* nothing stored */ } }
  function showError(text) { errorBox.textContent = text; errorBox.hidden = text === ''; }
  function text(v) { return v === null || v === undefined ? '' : String(v); }
  function cell(value, cls) {
    const td = document.createElement('td');
    td.textContent = text(value);
    if (cls) td.className = cls;
    return td;
  }
  function age(iso, now) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return '';
    const s = Math.max(0, Math.floor((now - t) / 1000));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d';
  }
  function duration(s) {
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    return Math.floor(s / 3600) + ' h' + (s % 3600 >= 60 ? ' ' + Math.floor((s % 3600) / 60) + ' min' : '');
  }
  function when(iso) {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? '' : new Date(t).toLocaleString();
  }

  /** The server's refusal as one line: its message, code and status. */
  async function failure(res) {
    let message = 'HTTP ' + res.status, code = '';
    try {
      const body = await res.json();
      if (body && body.error && typeof body.error.message === 'string') {
        code = typeof body.error.code === 'string' ? body.error.code : '';
        message = body.error.message + (code ? ' (' + code + ', HTTP ' + res.status + ')' : ' (HTTP ' + res.status + ')');
        if (typeof body.error.hint === 'string') message += '; ' + body.error.hint;
      }
    } catch { /* not JSON: keep the status */ }
    const e = new Error(message);
    e.status = res.status;
    e.code = code;
    return e;
  }
  async function call(method, path, body, token) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit', redirect: 'error' });
    } catch (e) {
      throw new Error('Cannot reach the collector: ' + (e && e.message ? e.message : String(e)));
    }
    if (!res.ok) throw await failure(res);
    return res.json();
  }

  function signedOut(message) {
    forgetToken();
    generation++;
    tag = '';
    rows.clear();
    pendingBody.replaceChildren();
    decidedBody.replaceChildren();
    $('lists').hidden = true;
    $('sign-in').hidden = false;
    who.textContent = 'Not signed in.';
    live.textContent = '';
    showError(message || '');
  }
  function signedIn(token) {
    try { sessionStorage.setItem(KEY, token); } catch { showError('This browser does not allow session storage; the token cannot be kept.'); return; }
    showError('');
    $('sign-in').hidden = true;
    $('lists').hidden = false;
    who.textContent = 'Signed in.';
    void watch(++generation);
  }

  $('ad-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = $('ad-user').value.trim(), password = $('ad-password').value;
    $('ad-password').value = '';
    if (user === '' || password === '') { showError('Enter your user name and password.'); return; }
    $('ad-sign-in').disabled = true;
    try {
      const body = await call('POST', '/api/v1/sign-in', { user, password });
      if (!body || typeof body.token !== 'string') throw new Error('The collector answered without a session.');
      signedIn(body.token);
    } catch (e) {
      showError('Sign-in refused: ' + (e && e.message ? e.message : String(e)));
    } finally {
      $('ad-sign-in').disabled = false;
    }
  });
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    $('token').value = '';
    if (t === '' || /\\s/.test(t)) { showError('Enter one API token (no spaces).'); return; }
    signedIn(t);
  });
  $('sign-out').addEventListener('click', async () => {
    const token = storedToken();
    // An Active Directory session ends on the server too; an API token is only forgotten here.
    if (token && $('who').dataset.source === 'ad') { try { await call('POST', '/api/v1/sign-out', undefined, token); } catch { /* gone already */ } }
    signedOut('');
  });

  function pendingRow(r) {
    const tr = document.createElement('tr');
    tr.dataset.id = r.id;
    const ageCell = cell('', 'age');
    tr.append(cell(r.user), cell(r.computer), cell(r.processPath), cell(r.args), cell(r.justification), cell(r.rule), ageCell);
    const td = document.createElement('td');
    td.className = 'decide';
    const limit = document.createElement('select');
    limit.className = 'limit';
    limit.title = 'How long the approval may be used';
    for (const [v, label] of LIMITS) {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = label;
      limit.append(o);
    }
    const reason = document.createElement('input');
    reason.className = 'reason';
    reason.type = 'text';
    reason.maxLength = 500;
    reason.placeholder = 'Reason';
    reason.autocomplete = 'off';
    const approve = document.createElement('button');
    approve.type = 'button';
    approve.className = 'approve';
    approve.textContent = 'Approve';
    const deny = document.createElement('button');
    deny.type = 'button';
    deny.className = 'deny';
    deny.textContent = 'Deny';
    const note = document.createElement('span');
    note.className = 'note';
    note.setAttribute('role', 'status');
    approve.addEventListener('click', () => { void decide(r.id, 'approve', { limit, reason, approve, deny, note }); });
    deny.addEventListener('click', () => { void decide(r.id, 'deny', { limit, reason, approve, deny, note }); });
    td.append(limit, ' ', reason, ' ', approve, ' ', deny, note);
    tr.append(td);
    return { tr, ageCell, createdAt: r.createdAt };
  }

  async function decide(id, verdict, ui) {
    const token = storedToken();
    if (token === '') { signedOut('Sign in first.'); return; }
    const reason = ui.reason.value.trim();
    const body = {};
    if (reason !== '') body.reason = reason;
    if (verdict === 'approve' && ui.limit.value !== '') body.timeLimitSeconds = Number(ui.limit.value);
    ui.approve.disabled = ui.deny.disabled = true;
    ui.note.className = 'note';
    ui.note.textContent = verdict === 'approve' ? 'Approving...' : 'Denying...';
    try {
      await call('POST', '/api/v1/approvals/' + encodeURIComponent(id) + '/' + verdict, body, token);
      ui.note.className = 'note done';
      ui.note.textContent = verdict === 'approve' ? 'Approved.' : 'Denied.';
    } catch (e) {
      if (e && e.status === 401) { signedOut('The session ended (' + e.message + '); sign in again.'); return; }
      ui.note.className = 'note refused';
      ui.note.textContent = (e && e.code === 'ASC_COLLECTOR_SELF_APPROVAL' ? 'Refused: you may not approve this request. ' : 'Refused: ') + (e && e.message ? e.message : String(e));
      ui.approve.disabled = ui.deny.disabled = false;
    }
  }

  function renderPending(list) {
    lastPending = list;
    const seen = new Set();
    for (const r of list) {
      seen.add(r.id);
      if (!rows.has(r.id)) rows.set(r.id, pendingRow(r));
    }
    for (const id of [...rows.keys()]) if (!seen.has(id)) rows.delete(id);
    if (list.length === 0) {
      const tr = document.createElement('tr');
      const td = cell('No pending requests.', 'empty');
      td.colSpan = 8;
      tr.append(td);
      pendingBody.replaceChildren(tr);
    } else {
      pendingBody.replaceChildren(...list.map((r) => rows.get(r.id).tr));
    }
    tick();
  }
  function tick() {
    const now = Date.now();
    for (const row of rows.values()) row.ageCell.textContent = age(row.createdAt, now);
  }
  function renderDecided(list) {
    if (list.length === 0) {
      const tr = document.createElement('tr');
      const td = cell('Nothing decided in the last day.', 'empty');
      td.colSpan = 8;
      tr.append(td);
      decidedBody.replaceChildren(tr);
      return;
    }
    decidedBody.replaceChildren(...list.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.id = r.id;
      const limit = r.status === 'approved' ? (r.timeLimitSeconds === null ? 'no time limit' : 'for ' + duration(r.timeLimitSeconds)) : '';
      tr.append(cell(r.user), cell(r.computer), cell(r.processPath), cell(r.status + (limit ? ' (' + limit + ')' : ''), 'status'), cell(r.decidedBy, 'by'), cell(when(r.decidedAt), 'when'), cell(r.reason, 'reason'), cell(r.usedAt ? when(r.usedAt) : '', 'used'));
      return tr;
    }));
  }

  /** The long-poll: asks for the state, waits for it to change, again, until signed out. */
  async function watch(gen) {
    let failures = 0;
    while (gen === generation) {
      const token = storedToken();
      if (token === '') { signedOut(''); return; }
      try {
        const q = new URLSearchParams({ wait: '25' });
        if (tag !== '') q.set('since', tag);
        const body = await call('GET', '/api/v1/approvals/watch?' + q.toString(), undefined, token);
        if (gen !== generation) return;
        failures = 0;
        if (body.me) {
          who.textContent = 'Signed in as ' + text(body.me.name) + ' (' + text(body.me.role) + (body.me.source === 'ad' ? ', Active Directory' : ', API token') + ').';
          who.dataset.source = body.me.source === 'ad' ? 'ad' : 'token';
        }
        if (body.tag !== tag) {
          tag = body.tag;
          renderPending(Array.isArray(body.pending) ? body.pending : []);
          pendingMore.hidden = body.pendingMore !== true;
          renderDecided(Array.isArray(body.decided) ? body.decided : []);
        }
        live.textContent = 'Live: updated ' + new Date().toLocaleTimeString() + '.';
        showError('');
      } catch (e) {
        if (gen !== generation) return;
        if (e && (e.status === 401 || e.status === 403)) { signedOut(e.message + (e.status === 401 ? ' Sign in again.' : ' An approver role or above is needed.')); return; }
        failures++;
        live.textContent = 'Not live: retrying...';
        showError(e && e.message ? e.message : String(e));
        await new Promise((r) => setTimeout(r, Math.min(30000, 1000 * 2 ** Math.min(failures, 5))));
      }
    }
  }

  setInterval(tick, 10000);
  if (storedToken() !== '') signedIn(storedToken()); else signedOut('');
})();
`;

/** The page. Static: nothing from a request or the database is in it. */
export const APPROVALS_PAGE_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Ascend approvals</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Ascend Privilege Manager: approvals</h1>
<p id="who" role="status"></p>
<div id="sign-in" hidden>
<form id="ad-form" autocomplete="off">
<fieldset>
<legend>Sign in with Active Directory</legend>
<div class="row">
<label>User (alice, CORP\\alice or alice@corp.example)<input id="ad-user" type="text" autocomplete="off" spellcheck="false" size="30"></label>
<label>Password<input id="ad-password" type="password" autocomplete="off" size="24"></label>
<div class="actions"><button id="ad-sign-in" type="submit">Sign in</button></div>
</div>
</fieldset>
</form>
<form id="token-form" autocomplete="off">
<fieldset>
<legend>Or use an API token</legend>
<div class="row">
<label>Token (approver role or above; kept in this tab only)<input id="token" type="password" autocomplete="off" spellcheck="false" size="50"></label>
<div class="actions"><button id="use-token" type="submit">Use token</button></div>
</div>
</fieldset>
</form>
</div>
<div id="error" role="alert" hidden></div>
<div id="lists" hidden>
<div class="actions"><button id="sign-out" type="button">Sign out</button><span id="live" role="status"></span></div>
<h2>Pending requests</h2>
<div class="table-wrap"><table id="pending"><thead><tr><th scope="col">User</th><th scope="col">Computer</th><th scope="col">Program</th><th scope="col">Arguments</th><th scope="col">Justification</th><th scope="col">Rule</th><th scope="col">Age</th><th scope="col">Decide (never your own request)</th></tr></thead><tbody id="pending-body"></tbody></table></div>
<p id="pending-more" role="status" hidden>More requests are pending than shown here (the oldest first): decide these, or list them all with "ascend server approval list".</p>
<h2>Decided in the last day</h2>
<div class="table-wrap"><table id="decided"><thead><tr><th scope="col">User</th><th scope="col">Computer</th><th scope="col">Program</th><th scope="col">Decision</th><th scope="col">By</th><th scope="col">When</th><th scope="col">Reason</th><th scope="col">Run at</th></tr></thead><tbody id="decided-body"></tbody></table></div>
</div>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** The page's Content-Security-Policy: only its own inline script and style, only its own origin. */
export const APPROVALS_PAGE_CSP = pageCsp(SCRIPT, STYLE);

/** The security headers the page is sent with (those of /reports, with this page's policy). */
export const APPROVALS_PAGE_HEADERS = pageHeaders(APPROVALS_PAGE_CSP);
