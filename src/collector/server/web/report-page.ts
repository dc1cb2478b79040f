/**
 * The collector's report page (GET /reports): one self-contained HTML document, its CSS and
 * JavaScript inline, nothing loaded from elsewhere. The page is static; the data comes from
 * /api/v1/reports/NAME with the API token in the Authorization header. An approver can also
 * approve or deny a request by id (POST /api/v1/approvals/ID/approve|deny); the server's
 * refusal (e.g. ASC_COLLECTOR_SELF_APPROVAL for one's own request) is shown as it comes.
 *
 * Security: event fields are written by agents and so are attacker-controlled. The script
 * puts them into the page with textContent and setAttribute('title') only, never as markup.
 * The Content-Security-Policy allows exactly this script and this style (by SHA-256 hash),
 * no other script, style, image, font, frame or form target, requires Trusted Types (so an
 * innerHTML assignment would throw instead of parsing data), and lets the page talk only to
 * its own origin. The token lives in sessionStorage (this tab, gone when it closes), never in
 * a URL, a cookie or localStorage; the inputs have no name, so no form can send them.
 */
import { pageCsp, pageHeaders } from './page-policy.js';
// The report names, titles and column labels are the contract's: the CLI prints the same labels.
import { COLUMN_LABELS, REPORT_NAMES, REPORT_TITLES } from '../../../collector-api/reports.js';

/** sessionStorage key of the API token. */
export const TOKEN_STORAGE_KEY = 'ascend.apiToken';

const STYLE = `
:root { color-scheme: light dark; --border: #8884; --muted: #777; --error-bg: #fdd; --error-fg: #700; }
@media (prefers-color-scheme: dark) { :root { --error-bg: #511; --error-fg: #fcc; } }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 1.5rem 2rem; }
h1 { font-size: 1.3rem; margin: 1rem 0; }
fieldset { border: 1px solid var(--border); border-radius: 6px; margin: 0 0 1rem; padding: .6rem .8rem; }
legend { padding: 0 .3rem; font-weight: 600; }
label { display: inline-flex; flex-direction: column; gap: .15rem; margin: 0 .8rem .5rem 0; font-size: .85rem; }
input, select, button { font: inherit; padding: .25rem .4rem; }
.row { display: flex; flex-wrap: wrap; align-items: flex-end; }
.actions { display: flex; gap: .5rem; margin-bottom: .5rem; }
#token-state { color: var(--muted); margin-left: .5rem; align-self: center; }
#error { background: var(--error-bg); color: var(--error-fg); border-radius: 6px; padding: .5rem .8rem; margin: 0 0 1rem; white-space: pre-wrap; }
#status { color: var(--muted); margin: 0 0 .5rem; }
.table-wrap { overflow-x: auto; border: 1px solid var(--border); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
th { position: sticky; top: 0; background: Canvas; white-space: nowrap; }
td { max-width: 28rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.null { color: var(--muted); }
[hidden] { display: none !important; }
`;

const SCRIPT = `
'use strict';
(() => {
  const KEY = ${JSON.stringify(TOKEN_STORAGE_KEY)};
  const LABELS = ${JSON.stringify(COLUMN_LABELS)};
  const $ = (id) => document.getElementById(id);
  const tokenInput = $('token'), tokenState = $('token-state'), errorBox = $('error'), statusLine = $('status');
  const table = $('report-table'), wrap = $('table-wrap'), decisionLine = $('decision');

  function storedToken() {
    try { return sessionStorage.getItem(KEY) || ''; } catch { return ''; }
  }
  function showTokenState() {
    const has = storedToken() !== '';
    tokenState.textContent = has ? 'A token is set for this tab.' : 'No token set.';
    $('forget').disabled = !has;
  }
  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = text === '';
  }
  function clearTable() {
    table.replaceChildren();
    wrap.hidden = true;
  }

  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = tokenInput.value.trim();
    tokenInput.value = '';
    if (t === '' || /\\s/.test(t)) { showError('Enter one API token (no spaces).'); return; }
    try { sessionStorage.setItem(KEY, t); } catch { showError('This browser does not allow session storage; the token cannot be kept.'); return; }
    showError('');
    showTokenState();
  });
  $('forget').addEventListener('click', () => {
    try { sessionStorage.removeItem(KEY); } catch { /* nothing stored */ }
    clearTable();
    statusLine.textContent = '';
    showTokenState();
  });

  function isoOrEmpty(id) {
    const v = $(id).value;
    if (v === '') return '';
    const t = new Date(v);
    if (Number.isNaN(t.getTime())) throw new Error('"' + id + '" is not a date and time');
    return t.toISOString();
  }
  function reportUrl(format) {
    const q = new URLSearchParams();
    const from = isoOrEmpty('from'), to = isoOrEmpty('to');
    if (from) q.set('from', from);
    if (to) q.set('to', to);
    for (const id of ['computer', 'user', 'passcode']) {
      const v = $(id).value.trim();
      if (v !== '') q.set(id, v);
    }
    q.set('format', format);
    return '/api/v1/reports/' + encodeURIComponent($('report').value) + '?' + q.toString();
  }

  /** GET with the bearer token; resolves to the Response when 2xx, else throws the server's message. */
  async function get(format, url) {
    const token = storedToken();
    if (token === '') throw new Error('Enter an API token first (viewer role or above).');
    let res;
    try {
      res = await fetch(url || reportUrl(format), { headers: { Authorization: 'Bearer ' + token, Accept: format === 'csv' ? 'text/csv' : 'application/json' }, cache: 'no-store', credentials: 'omit', redirect: 'error' });
    } catch (e) {
      throw new Error('Cannot reach the collector: ' + (e && e.message ? e.message : String(e)));
    }
    if (res.ok) return res;
    throw await failure(res);
  }

  /** The server's refusal as one line: its message, code and status. */
  async function failure(res) {
    let message = 'HTTP ' + res.status;
    try {
      const body = await res.json();
      if (body && body.error && typeof body.error.message === 'string') message = body.error.message + (typeof body.error.code === 'string' ? ' (' + body.error.code + ', HTTP ' + res.status + ')' : ' (HTTP ' + res.status + ')');
    } catch { /* not JSON: keep the status */ }
    if (res.status === 401) {
      try { sessionStorage.removeItem(KEY); } catch { /* nothing stored */ }
      showTokenState();
      message += ' The token was forgotten; enter another.';
    }
    return new Error(message);
  }

  /** Approves or denies one request (approver role); the server refuses an approver's own request. */
  async function decide(verdict) {
    if (busy) return;
    const id = $('approval-id').value.trim();
    showError('');
    decisionLine.textContent = '';
    if (!/^[0-9A-Fa-f-]{36}$/.test(id)) { showError('Enter the id of an approval request (the Id column of the Approval requests report).'); return; }
    const token = storedToken();
    if (token === '') { showError('Enter an API token first (approver role or above).'); return; }
    busy = true;
    $('approve').disabled = true;
    $('deny').disabled = true;
    try {
      let res;
      try {
        res = await fetch('/api/v1/approvals/' + encodeURIComponent(id) + '/' + verdict, { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json', Accept: 'application/json' }, body: '{}', cache: 'no-store', credentials: 'omit', redirect: 'error' });
      } catch (e) {
        throw new Error('Cannot reach the collector: ' + (e && e.message ? e.message : String(e)));
      }
      if (!res.ok) throw await failure(res);
      const body = await res.json();
      const r = body && body.request ? body.request : {};
      decisionLine.textContent = (verdict === 'approve' ? 'Approved ' : 'Denied ') + cellValue(r.id) + ': ' + cellValue(r.user) + ' on ' + cellValue(r.computer) + ', ' + cellValue(r.processPath) + '.';
      $('approval-id').value = '';
    } catch (e) {
      showError(e && e.message ? e.message : String(e));
    } finally {
      busy = false;
      $('approve').disabled = false;
      $('deny').disabled = false;
    }
  }

  function cellValue(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    return String(v);
  }

  function render(body) {
    const columns = body.columns;
    const thead = document.createElement('thead');
    const hr = document.createElement('tr');
    for (const c of columns) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = Object.prototype.hasOwnProperty.call(LABELS, c) ? LABELS[c] : c;
      th.setAttribute('title', c);
      hr.append(th);
    }
    thead.append(hr);
    const tbody = document.createElement('tbody');
    for (const row of body.rows) {
      const tr = document.createElement('tr');
      for (const c of columns) {
        const td = document.createElement('td');
        const v = Object.prototype.hasOwnProperty.call(row, c) ? row[c] : null;
        const text = cellValue(v);
        td.textContent = text;
        if (v === null || v === undefined) td.className = 'null';
        else if (text.length > 30) td.setAttribute('title', text);
        tr.append(td);
      }
      tbody.append(tr);
    }
    table.replaceChildren(thead, tbody);
    wrap.hidden = false;
    const n = body.rows.length;
    const first = pageNumber === 1 ? '' : 'Page ' + pageNumber + ': ';
    const more = typeof body.nextCursor === 'string' ? ' More rows follow: Next page.' : '';
    statusLine.textContent = first + (n === 0 ? 'No rows.' : n + (n === 1 ? ' row.' : ' rows.')) + more;
    // The next page keeps the filters of the first (the cursor is bound to them).
    nextUrl = typeof body.nextCursor === 'string' ? pageQuery + '&cursor=' + encodeURIComponent(body.nextCursor) : null;
    $('next').hidden = nextUrl === null;
  }

  /** The query of the report shown (its first page), the next page's URL (null on the last), and the page number. */
  let pageQuery = '';
  let nextUrl = null;
  let pageNumber = 1;

  let busy = false;
  async function run(what) {
    if (busy) return;
    busy = true;
    $('show').disabled = true;
    $('csv').disabled = true;
    $('next').disabled = true;
    showError('');
    statusLine.textContent = what === 'csv' ? 'Preparing the CSV...' : 'Loading...';
    try {
      if (what === 'csv') {
        const res = await get('csv');
        const blob = await res.blob();
        const url = URL.createObjectURL(new Blob([blob], { type: 'text/csv' }));
        const a = document.createElement('a');
        a.href = url;
        a.download = $('report').value + '.csv';
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
        statusLine.textContent = 'CSV downloaded.';
      } else {
        let url;
        if (what === 'next' && nextUrl !== null) {
          url = nextUrl;
          pageNumber++;
        } else {
          pageQuery = reportUrl('json');
          url = pageQuery;
          pageNumber = 1;
        }
        clearTable();
        $('next').hidden = true;
        const res = await get('json', url);
        const body = await res.json();
        if (!body || !Array.isArray(body.rows)) throw new Error('The collector answered without a report.');
        // A collector older than the columns field: the keys of the first row, in their order.
        if (!Array.isArray(body.columns)) body.columns = body.rows.length > 0 && body.rows[0] ? Object.keys(body.rows[0]) : [];
        render(body);
      }
    } catch (e) {
      statusLine.textContent = '';
      showError(e && e.message ? e.message : String(e));
    } finally {
      busy = false;
      $('show').disabled = false;
      $('csv').disabled = false;
      $('next').disabled = false;
    }
  }

  $('filters').addEventListener('submit', (ev) => { ev.preventDefault(); void run('json'); });
  $('csv').addEventListener('click', () => { void run('csv'); });
  $('next').addEventListener('click', () => { void run('next'); });
  $('report').addEventListener('change', () => { clearTable(); $('next').hidden = true; nextUrl = null; statusLine.textContent = ''; showError(''); });
  // Enter in the id field decides nothing: approving takes a click on Approve.
  $('decide-form').addEventListener('submit', (ev) => { ev.preventDefault(); });
  $('approve').addEventListener('click', () => { void decide('approve'); });
  $('deny').addEventListener('click', () => { void decide('deny'); });
  showTokenState();
})();
`;

// Names and titles are the contract's constants (no markup in them), never request data.
const OPTIONS = REPORT_NAMES.map((n) => `<option value="${n}">${REPORT_TITLES[n]}</option>`).join('');

/** The page. Static: nothing from a request or the database is in it. */
export const REPORT_PAGE_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Ascend reports</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Ascend Privilege Manager: reports</h1>
<form id="token-form" autocomplete="off">
<fieldset>
<legend>API token</legend>
<div class="row">
<label>Token (viewer role or above; kept in this tab only)<input id="token" type="password" autocomplete="off" spellcheck="false" size="50"></label>
<div class="actions"><button id="use-token" type="submit">Use token</button><button id="forget" type="button">Forget token</button></div>
<span id="token-state" role="status"></span>
</div>
</fieldset>
</form>
<form id="filters" autocomplete="off">
<fieldset>
<legend>Report</legend>
<div class="row">
<label>Report<select id="report">${OPTIONS}</select></label>
<label>From<input id="from" type="datetime-local" step="1"></label>
<label>To (before)<input id="to" type="datetime-local" step="1"></label>
<label>Computer<input id="computer" type="text" spellcheck="false"></label>
<label>User<input id="user" type="text" spellcheck="false"></label>
<label>Passcode id<input id="passcode" type="text" spellcheck="false"></label>
</div>
<div class="actions"><button id="show" type="submit">Show report</button><button id="csv" type="button">Download CSV</button></div>
</fieldset>
</form>
<form id="decide-form" autocomplete="off">
<fieldset>
<legend>Decide an approval request (approver role; never your own request)</legend>
<div class="row">
<label>Request id<input id="approval-id" type="text" spellcheck="false" size="40"></label>
<div class="actions"><button id="approve" type="button">Approve</button><button id="deny" type="button">Deny</button></div>
<span id="decision" role="status"></span>
</div>
</fieldset>
</form>
<div id="error" role="alert" hidden></div>
<p id="status" role="status"></p>
<div id="table-wrap" class="table-wrap" hidden><table id="report-table"></table></div>
<div class="actions"><button id="next" type="button" hidden>Next page</button></div>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** The page's Content-Security-Policy: only its own inline script and style, only its own origin. */
export const REPORT_PAGE_CSP = pageCsp(SCRIPT, STYLE);

/** The security headers the page is sent with. */
export const REPORT_PAGE_HEADERS = pageHeaders(REPORT_PAGE_CSP);
