/*
 * NovaCron dashboard (docs/dashboard.md).  Plain JS, no framework, no build
 * step.  Every text from the API goes into the page through textContent or
 * createElement (never innerHTML), so a VM named "<script>..." shows as text.
 * Views by the URL's hash: #/overview, #/hosts/NAME, #/vms, #/vms/NAME,
 * #/plan, #/passes, #/alerts, #/events, #/audit.
 */
'use strict';

const state = {
  me: null,            // GET /api/v1/me
  csrf: '',            // for session writes (X-CSRF-Token)
  vms: [],             // the loaded VM list (all pages)
  vmsTotal: 0,
  vmsHost: null,       // the host the list is of, null for all
  es: null,            // the EventSource
  refreshTimer: 0,
  gPending: false,     // "g" was pressed: the next key picks a view
  perf: {},            // first render times (ms), read by the browser test
  graphs: null,        // the graphs panel on screen (graphsPanel)
  graphRange: '24h',   // its range (since=)
};
window.ncPerf = state.perf;

/* ---- small DOM helpers: text only ---- */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) append(e, c);
  return e;
}
function append(parent, c) {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c)) { for (const x of c) append(parent, x); return; }
  parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
}
const $ = (id) => document.getElementById(id);
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

/* ---- formatting ---- */
function bytes(n) {
  if (n === null || n === undefined || isNaN(n)) return '-';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0; n = Number(n);
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + u[i];
}
function when(t) {
  if (!t) return '-';
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  if (isNaN(d)) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
function secs(s) { return s === null || s === undefined ? '-' : Number(s).toFixed(s < 10 ? 2 : 0) + ' s'; }
function show(v) {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
function badge(text, kind) { return el('span', { class: 'badge ' + (kind || String(text)), text: String(text) }); }

/* ---- the API ---- */
class HttpError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}
async function api(path, opts) {
  opts = opts || {};
  const init = { method: opts.method || 'GET', credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (opts.body !== undefined) {
    init.body = JSON.stringify(opts.body);
    init.headers['Content-Type'] = 'application/json';
  }
  if (init.method !== 'GET' && state.csrf) init.headers['X-CSRF-Token'] = state.csrf;
  const r = await fetch(path, init);
  let data = null;
  const text = await r.text();
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!r.ok) {
    const msg = data && data.error ? data.error : (r.status + ' ' + r.statusText);
    if (r.status === 401 && !opts.noLogin) showLogin(msg);
    throw new HttpError(r.status, msg);
  }
  return data;
}
const enc = encodeURIComponent;
function canWrite() { return state.me && (state.me.role === 'operator' || state.me.role === 'admin'); }
function isAdmin() { return state.me && state.me.role === 'admin'; }

/* ---- login and session ---- */
function showLogin(msg) {
  closeStream();
  state.me = null;
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('conn').hidden = true;
  $('who').textContent = '';
  clear($('view'));
  $('login').hidden = false;
  $('login-error').textContent = msg && msg !== 'Unauthorized' ? msg : '';
  probeSso();
  $('token').focus();
}

let ssoProbed = false;
async function probeSso() {
  if (ssoProbed) return;
  ssoProbed = true;
  // GET /auth/oidc answers {"enabled": true, ...} when serve has api.oidc
  try {
    const r = await fetch('/auth/oidc', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const j = r.ok ? await r.json() : null;
    $('sso').hidden = !(j && j.enabled === true);
  } catch (e) {
    $('sso').hidden = true;
  }
}

async function login(ev) {
  ev.preventDefault();
  const token = $('token').value.trim();
  $('login-error').textContent = '';
  try {
    const r = await api('/auth/login', { method: 'POST', body: { token }, noLogin: true });
    if (r && r.csrf) state.csrf = r.csrf;
    $('token').value = '';
    await start();
  } catch (e) {
    $('login-error').textContent = e.status === 401 || e.status === 403 ? 'That token was not accepted.' : String(e.message);
  }
}

async function logout() {
  try { await api('/auth/logout', { method: 'POST', body: {}, noLogin: true }); } catch (e) { /* gone already */ }
  state.csrf = '';
  location.hash = '#/overview';
  showLogin('');
}

async function start() {
  let me;
  try {
    me = await api('/api/v1/me', { noLogin: true });
  } catch (e) {
    if (e.status === 401) { showLogin(''); return; }
    $('login').hidden = true;
    clear($('view'));
    append($('view'), el('p', { class: 'error', role: 'alert', text: 'The API did not answer: ' + e.message }));
    return;
  }
  state.me = me;
  if (me.csrf) state.csrf = me.csrf;
  $('login').hidden = true;
  $('nav').hidden = false;
  $('nav-audit').hidden = !isAdmin() || me.tenants !== null;
  $('logout').hidden = me.who === 'anonymous';
  $('who').textContent = (me.who || '') + ' \u00b7 ' + (me.role || '');
  openStream();
  route();
}

/* ---- live updates (Server-Sent Events) ---- */
function setConn(s, label) {
  const c = $('conn');
  c.hidden = false;
  c.dataset.state = s;
  c.textContent = label;
  c.title = 'Live updates: ' + label;
}
function closeStream() {
  if (state.es) { state.es.close(); state.es = null; }
}
function openStream() {
  closeStream();
  if (typeof EventSource === 'undefined') { setConn('off', 'no live updates'); return; }
  setConn('connecting', 'connecting');
  const es = new EventSource('/api/v1/events/stream');
  state.es = es;
  es.onopen = () => setConn('live', 'live');
  es.onerror = () => setConn(es.readyState === EventSource.CLOSED ? 'off' : 'connecting',
    es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting');
  for (const t of ['pass_started', 'pass_finished', 'action', 'drift', 'alert', 'plan', 'paused', 'audit'])
    es.addEventListener(t, (m) => onEvent(t, m));
}
function onEvent(type, m) {
  let ev = null;
  try { ev = JSON.parse(m.data); } catch (e) { return; }
  if (state.view === 'events' && state.eventsList) addEventRow(state.eventsList, ev, true);
  if (type === 'pass_started') return;
  // the views read a snapshot of the last pass: read again, at most once a second
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => { state.refreshTimer = 0; refresh(); }, 1000);
}
function refresh() {
  if (!state.me || document.activeElement && document.activeElement.tagName === 'INPUT') return;
  if (['overview', 'plan', 'passes', 'alerts', 'vm', 'host'].includes(state.view)) route(true);
  else if (state.view === 'vms') loadVms(state.vmsHost, true);
}

/* ---- routing ---- */
function route(quiet) {
  if (!state.me) return;
  const h = location.hash.replace(/^#\/?/, '');
  const parts = h.split('/');
  const v = parts[0] || 'overview';
  const arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : null;
  const known = { overview: viewOverview, hosts: viewHost, vms: arg === null ? viewVms : viewVm, plan: viewPlan,
    passes: viewPasses, alerts: viewAlerts, events: viewEvents, audit: viewAudit };
  const fn = known[v] || viewOverview;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.view === v) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const seq = (state.seq = (state.seq || 0) + 1);
  fn(arg, quiet, seq).catch((e) => {
    if (seq !== state.seq) return;
    if (e.status === 401) return;
    const view = $('view');
    clear(view);
    append(view, el('p', { class: 'error', role: 'alert', text: e.message }));
  });
}
function current(seq) { return seq === state.seq; }
function mount(name, quiet, ...nodes) {
  const view = $('view');
  const focused = document.activeElement && document.activeElement.id;
  state.view = name;
  state.eventsList = null;
  clear(view);
  append(view, nodes);
  if (quiet && focused && $(focused)) $(focused).focus();
  else if (!quiet) $('main').focus({ preventScroll: true });
}
function mark(name) {
  // the first time a view is on screen: time since the page started (ms)
  if (state.perf[name] !== undefined) return;
  requestAnimationFrame(() => {
    const t = performance.now();
    state.perf[name] = Math.round(t);
    try { performance.mark('nc-' + name + '-rendered'); } catch (e) { /* old browser */ }
  });
}

/* ---- overview: hosts with capacity and health ---- */
function meter(label, used, cap, fmt) {
  const pct = cap > 0 ? Math.round((used / cap) * 100) : 0;   // above 100 when overcommitted
  const fill = el('i', { class: pct >= 95 ? 'full' : pct >= 80 ? 'hi' : null });
  fill.style.width = Math.min(100, pct) + '%';
  return el('div', { class: 'meter' },
    label + ' ' + fmt(used) + ' / ' + fmt(cap) + ' (' + pct + '%)',
    el('div', { class: 'bar', role: 'meter', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': Math.max(100, pct), 'aria-valuenow': pct }, fill));
}
function hostHealth(h) {
  if (!h.up) return ['down', 'down'];
  if (h.maintenance) return ['maintenance', 'maintenance'];
  if (h.health) return [h.health, h.health];
  return ['up', 'ok'];
}
function hostCard(h) {
  const [label, kind] = hostHealth(h);
  const cap = h.capacity || {}, used = h.used || {};
  return el('a', { class: 'host', href: '#/hosts/' + enc(h.name), 'data-host': h.name },
    el('div', { class: 'name' }, el('span', { text: h.name, title: h.name }), badge(label, kind)),
    meter('vCPU', used.vcpus || 0, cap.vcpus || 0, String),
    meter('Memory', used.memory || 0, cap.memory || 0, bytes),
    el('div', { class: 'meter' }, (h.vms || 0) + ' VMs', h.error ? el('span', { class: 'error', text: ' \u00b7 ' + h.error }) : null));
}
function stat(n, label, id) { return el('div', { class: 'stat', id }, el('b', { text: show(n) }), el('span', { text: label })); }

async function viewOverview(arg, quiet, seq) {
  const [cl, hosts] = await Promise.all([api('/api/v1/cluster'), api('/api/v1/hosts')]);
  if (!current(seq)) return;
  const c = cl.counts || {};
  const rev = cl.revision ? (cl.revision.summary || (cl.revision.id || '').slice(0, 12)) : 'none yet';
  const lp = cl.lastPass;
  const grid = el('div', { class: 'hosts', id: 'hosts' });
  const frag = document.createDocumentFragment();
  for (const h of hosts.items || []) frag.appendChild(hostCard(h));
  grid.appendChild(frag);
  mount('overview', quiet,
    el('h1', { text: 'Cluster' }),
    cl.paused ? el('div', { class: 'banner', role: 'status', text: 'Reconciliation is paused.' }) : null,
    cl.invalid ? el('div', { class: 'banner error', role: 'alert', id: 'invalid' },
      'The newest revision ' + show(cl.invalid.id).slice(0, 12) + ' was refused; the one in force stays: ' + show(cl.invalid.error)) : null,
    c.pending && cl.mode === 'approve' ? el('div', { class: 'banner', role: 'status' },
      'A plan waits for approval: ', el('a', { href: '#/plan', text: c.pending + ' actions' })) : null,
    el('div', { class: 'stats' },
      stat((c.hostsUp ?? '-') + ' / ' + (c.hosts ?? '-'), 'hosts up'),
      stat(c.vms, 'VMs', 'stat-vms'), stat(c.running, 'running', 'stat-running'), stat(c.stopped, 'stopped', 'stat-stopped'),
      stat(c.drift, 'drifted', 'stat-drift'), stat(c.pending, 'pending actions', 'stat-pending'), stat(cl.mode || '-', 'apply mode')),
    el('p', { class: 'muted' }, 'Revision ', el('span', { class: 'mono', id: 'revision', text: rev, title: cl.revision ? show(cl.revision.id) : null }),
      ' \u00b7 last pass ', lp ? when(lp.time) + ' (' + (lp.result || '') + ', ' + secs(lp.seconds) + ')' : 'none yet',
      lp && lp.error ? el('span', { class: 'error', text: ' \u00b7 ' + lp.error }) : null,
      cl.leader !== undefined && cl.leader !== null ? ' \u00b7 leader: ' + show(cl.leader) : null),
    canWrite() ? el('div', { class: 'actions-row' },
      el('button', { type: 'button', id: 'sync', onclick: () => verb('/api/v1/sync', {}, 'A pass starts now.') }, 'Sync now'),
      el('button', { type: 'button', id: 'pause', onclick: () => verb(cl.paused ? '/api/v1/resume' : '/api/v1/pause', {},
        cl.paused ? 'Resumed.' : 'Paused.') }, cl.paused ? 'Resume reconciliation' : 'Pause reconciliation'),
      el('span', { id: 'verb-msg', role: 'status' })) : null,
    el('h2', { text: 'Hosts (' + (hosts.items || []).length + ')' }),
    grid);
  mark('overview');
}

/* ---- graphs: PNGs serve draws from the telemetry history (GET /api/v1/{vms,hosts}/NAME/graphs) ---- */
const GRAPH_METRICS = {
  vms: ['cpu_usage', 'memory_used_ratio', 'disk_read_bytes_per_second', 'disk_write_bytes_per_second',
    'network_receive_bytes_per_second', 'network_transmit_bytes_per_second'],
  hosts: ['cpu_usage', 'memory_used_ratio', 'vms_running'],
};
const GRAPH_RANGES = ['1h', '6h', '24h', '7d', '30d'];
const GRAPH_REFRESH_MS = 30000;   // serve keeps a PNG 30 s: asking sooner brings the same one
// the panel of one object; a quiet re-render of the same object keeps it (and its images)
function graphsPanel(kind, name) {
  const key = kind + '/' + name;
  if (state.graphs && state.graphs.key === key && !state.graphs.empty) { graphsReload(false); return state.graphs.node; }
  const base = '/api/v1/' + kind + '/' + enc(name) + '/graphs';
  const sel = el('select', { id: 'graph-range' },
    GRAPH_RANGES.map((r) => el('option', { value: r, selected: r === state.graphRange, text: 'last ' + r })));
  const grid = el('div', { class: 'graphs', id: 'graphs', 'aria-live': 'polite' });
  const node = el('section', { 'aria-labelledby': 'graphs-h' },
    el('h2', { id: 'graphs-h', text: 'Graphs' }),
    el('p', {}, el('label', { for: 'graph-range', text: 'Range ' }), sel),
    grid);
  const st = state.graphs = { key, base, node, grid, imgs: [], loaded: 0, label: (kind === 'vms' ? 'VM ' : 'host ') + name };
  sel.addEventListener('change', () => { state.graphRange = sel.value; graphsReload(true); });
  api(base).then((list) => {
    if (state.graphs !== st) return;
    const have = new Map((list.items || []).map((m) => [m.metric, m]));
    const pick = GRAPH_METRICS[kind].filter((m) => have.has(m));
    if (!list.history || !pick.length) {
      st.empty = true;   // the next refresh asks again
      append(grid, el('p', { class: 'muted', id: 'graphs-none', text: 'No graphs: ' + (list.why || 'no history yet') + '.' }));
      return;
    }
    for (const m of pick) {
      const img = el('img', { class: 'graph', 'data-metric': m });
      img.addEventListener('error', () => img.classList.add('broken'));
      st.imgs.push(img);
      append(grid, el('figure', {}, img, el('figcaption', { class: 'muted', text: m + ': ' + have.get(m).title })));
    }
    graphsReload(true);
  }).catch((e) => {
    if (state.graphs === st) append(grid, el('p', { class: 'error', id: 'graphs-none', text: e.message }));
  });
  return node;
}
// new images at most every 30 s (pass events), or at once when the range changes
function graphsReload(force) {
  const st = state.graphs;
  if (!st || !st.imgs.length) return;
  const now = Date.now();
  if (!force && now - st.loaded < GRAPH_REFRESH_MS) return;
  st.loaded = now;
  const r = state.graphRange;
  for (const img of st.imgs) {
    const m = img.dataset.metric;
    img.classList.remove('broken');
    img.alt = m + ' of ' + st.label + ', last ' + r;
    img.src = st.base + '/' + enc(m) + '.png?since=' + enc(r) + '&t=' + now;
  }
}

/* ---- a host: its facts and its VMs ---- */
async function viewHost(name, quiet, seq) {
  const h = await api('/api/v1/hosts/' + enc(name));
  if (!current(seq)) return;
  const [label, kind] = hostHealth(h);
  const cap = h.capacity || {}, used = h.used || {};
  const list = vmList(true);
  mount('host', quiet,
    el('p', {}, el('a', { href: '#/overview', text: '\u2190 Overview' })),
    el('h1', {}, h.name + ' ', badge(label, kind)),
    el('div', { class: 'panel' },
      el('div', { class: 'mono', text: h.uri || '' }),
      meter('vCPU', used.vcpus || 0, cap.vcpus || 0, String),
      meter('Memory', used.memory || 0, cap.memory || 0, bytes),
      h.error ? el('p', { class: 'error', text: h.error }) : null),
    graphsPanel('hosts', h.name),
    el('h2', { text: 'VMs on ' + h.name }),
    list.node);
  await loadVms(h.name, false, seq);
}

/* ---- the VM list: virtualised, filtered, sorted ---- */
const VM_COLS = [
  ['name', 'Name'], ['host', 'Host'], ['tenant', 'Tenant'], ['state', 'State'],
  ['vcpus', 'vCPU'], ['memory', 'Memory'], ['pending', 'Pending'],
];
function vmKey(v, k) {
  if (k === 'state') return (v.state && v.state.observed) || '';
  const x = v[k];
  return x === null || x === undefined ? '' : x;
}
function vmList(small) {
  const L = state.list = {
    rows: [], sel: 0, sortKey: 'name', sortDir: 1, filter: '', rowH: 32, small,
  };
  const head = el('div', { class: 'vhead', role: 'row' });
  for (const [k, label] of VM_COLS) {
    const b = el('button', { type: 'button', 'data-sort': k, text: label, onclick: () => sortBy(k) });
    if (k === 'name') b.setAttribute('aria-sort', 'ascending');
    head.appendChild(el('span', { role: 'columnheader' }, b));
  }
  L.head = head;
  L.space = el('div', { class: 'vspace' });
  L.body = el('div', { class: 'vbody', id: 'vm-list', tabindex: 0, role: 'grid', 'aria-label': 'VMs', 'aria-rowcount': 0 }, L.space);
  if (small) L.body.classList.add('small');
  L.body.addEventListener('scroll', () => paint());
  L.body.addEventListener('keydown', listKey);
  L.body.addEventListener('click', (e) => {
    const r = e.target.closest('.vrow');
    if (r) { L.sel = Number(r.dataset.i); openSel(); }
  });
  L.count = el('span', { class: 'muted', id: 'vm-count', role: 'status' });
  L.filterBox = el('input', { type: 'search', id: 'filter', placeholder: 'Filter by name, host, tenant, state  ( / )',
    'aria-label': 'Filter VMs', autocomplete: 'off' });
  L.filterBox.addEventListener('input', () => { L.filter = L.filterBox.value.trim().toLowerCase(); apply(); });
  L.filterBox.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'Enter') { e.preventDefault(); L.body.focus(); }
  });
  L.node = el('div', {}, el('div', { class: 'toolbar' }, L.filterBox, L.count), el('div', { class: 'vlist' }, head, L.body));
  return L;
}
function sortBy(k) {
  const L = state.list;
  if (L.sortKey === k) L.sortDir = -L.sortDir; else { L.sortKey = k; L.sortDir = 1; }
  for (const b of L.head.querySelectorAll('button')) {
    if (b.dataset.sort === k) b.setAttribute('aria-sort', L.sortDir > 0 ? 'ascending' : 'descending');
    else b.removeAttribute('aria-sort');
  }
  apply();
}
function apply() {
  const L = state.list;
  if (!L) return;
  const f = L.filter;
  let rows = state.vms;
  if (f) {
    rows = rows.filter((v) => [v.name, v.host, v.tenant, v.state && v.state.observed, v.state && v.state.desired]
      .some((x) => x && String(x).toLowerCase().includes(f)));
  }
  const k = L.sortKey, d = L.sortDir;
  rows = rows.slice().sort((a, b) => {
    const x = vmKey(a, k), y = vmKey(b, k);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return c !== 0 ? c * d : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  L.rows = rows;
  if (L.sel >= rows.length) L.sel = Math.max(0, rows.length - 1);
  L.space.style.height = rows.length * L.rowH + 'px';
  L.body.setAttribute('aria-rowcount', rows.length);
  const loaded = state.vms.length < state.vmsTotal ? ' (loading ' + state.vms.length + ' of ' + state.vmsTotal + ')' : '';
  L.count.textContent = rows.length + ' of ' + state.vms.length + ' VMs' + loaded;
  paint(true);
}
function paint(force) {
  const L = state.list;
  if (!L) return;
  const top = L.body.scrollTop, h = L.body.clientHeight || 600;
  const first = Math.max(0, Math.floor(top / L.rowH) - 5);
  const last = Math.min(L.rows.length, Math.ceil((top + h) / L.rowH) + 5);
  if (!force && L.first === first && L.last === last) return;
  L.first = first; L.last = last;
  const frag = document.createDocumentFragment();
  for (let i = first; i < last; i++) {
    const v = L.rows[i];
    const st = v.state || {};
    const row = el('div', { class: 'vrow' + (v.drift ? ' drift' : ''), role: 'row', id: 'vm-row-' + i, 'data-i': i,
      'data-name': v.name, 'aria-rowindex': i + 1, 'aria-selected': i === L.sel ? 'true' : 'false' },
    el('span', { role: 'gridcell', text: v.name, title: v.name }),
    el('span', { role: 'gridcell', text: v.host || '-' }),
    el('span', { role: 'gridcell', text: v.tenant || '-' }),
    el('span', { role: 'gridcell' }, show(st.desired) + ' / ', badge(show(st.observed), st.observed === st.desired ? 'ok' : 'pending')),
    el('span', { role: 'gridcell', text: show(v.vcpus) }),
    el('span', { role: 'gridcell', text: bytes(v.memory) }),
    el('span', { role: 'gridcell', text: v.pending ? show(v.pending) : '' }));
    row.style.top = i * L.rowH + 'px';
    frag.appendChild(row);
  }
  clear(L.space);
  L.space.appendChild(frag);
  if (L.rows.length) L.body.setAttribute('aria-activedescendant', 'vm-row-' + L.sel);
  else L.body.removeAttribute('aria-activedescendant');
}
function select(i) {
  const L = state.list;
  if (!L || !L.rows.length) return;
  L.sel = Math.max(0, Math.min(L.rows.length - 1, i));
  const y = L.sel * L.rowH, h = L.body.clientHeight;
  if (y < L.body.scrollTop) L.body.scrollTop = y;
  else if (y + L.rowH > L.body.scrollTop + h) L.body.scrollTop = y + L.rowH - h;
  paint(true);
}
function openSel() {
  const L = state.list;
  const v = L && L.rows[L.sel];
  if (v) location.hash = '#/vms/' + enc(v.name);
}
function listKey(e) {
  const L = state.list;
  const page = Math.max(1, Math.floor(L.body.clientHeight / L.rowH) - 1);
  const keys = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1, PageDown: page, PageUp: -page };
  if (e.key in keys) { e.preventDefault(); select(L.sel + keys[e.key]); }
  else if (e.key === 'Home') { e.preventDefault(); select(0); }
  else if (e.key === 'End') { e.preventDefault(); select(L.rows.length - 1); }
  else if (e.key === 'Enter') { e.preventDefault(); openSel(); }
}

async function loadVms(host, quiet, seq) {
  seq = seq || state.seq;
  const base = '/api/v1/vms?limit=1000' + (host ? '&host=' + enc(host) : '');
  let first = await api(base + '&offset=0');
  if (!current(seq)) return;
  state.vmsHost = host;
  state.vms = (first.items || []).slice();
  state.vmsTotal = first.total || state.vms.length;
  apply();
  mark(host ? 'host' : 'vms');
  // the rest in pages, shown as they come
  while (state.vms.length < state.vmsTotal) {
    const page = await api(base + '&offset=' + state.vms.length);
    if (!current(seq)) return;
    const items = page.items || [];
    if (!items.length) break;
    for (const v of items) state.vms.push(v);
    state.vmsTotal = page.total || state.vmsTotal;
    apply();
  }
  first = null;
}

async function viewVms(arg, quiet, seq) {
  const L = vmList(false);
  mount('vms', quiet, el('h1', { text: 'Virtual machines' }), L.node);
  if (!quiet) L.filterBox.focus();
  await loadVms(null, quiet, seq);
}

/* ---- one VM: desired vs observed, drift, placement, actions, backups, events ---- */
function flatten(obj, prefix, out) {
  out = out || {};
  if (obj === null || obj === undefined) return out;
  if (typeof obj !== 'object') { out[prefix] = obj; return out; }
  if (Array.isArray(obj)) {
    // a list of named things (disks, nics): one row per field of each, by name
    if (obj.length && obj.every((x) => x && typeof x === 'object' && typeof x.name === 'string')) {
      for (const x of obj) {
        const { name, ...rest } = x;
        flatten(rest, prefix + ' ' + name, out);
      }
    } else if (obj.length) {
      out[prefix] = obj.map(show).join(', ');
    }
    return out;
  }
  for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? prefix + '.' + k : k, out);
  return out;
}
function table(cols, rows, opts) {
  opts = opts || {};
  const head = el('tr', {}, cols.map(([, label, cls]) => el('th', { scope: 'col', class: cls, text: label })));
  const body = el('tbody', {});
  for (const r of rows) {
    const tr = el('tr', { class: opts.rowClass ? opts.rowClass(r) : null });
    for (const [k, , cls, fmt] of cols) {
      const v = fmt ? fmt(r[k], r) : show(r[k]);
      tr.appendChild(el('td', { class: cls }, v));
    }
    body.appendChild(tr);
  }
  if (!rows.length) body.appendChild(el('tr', {}, el('td', { colspan: cols.length, class: 'muted', text: opts.empty || 'None.' })));
  return el('table', { id: opts.id }, el('thead', {}, head), body);
}

function fieldValue(v, r) {
  if (typeof v === 'number' && /(memory|size|bytes)$/i.test(r.field)) return bytes(v) + ' (' + v + ')';
  return show(v);
}
async function viewVm(name, quiet, seq) {
  const [vm, events] = await Promise.all([api('/api/v1/vms/' + enc(name)),
    api('/api/v1/events').catch(() => ({ items: [] }))]);
  if (!current(seq)) return;
  const d = flatten(vm.desired, ''), o = flatten(vm.observed, '');
  const drift = new Set(vm.drift || []);
  const fields = [...new Set([...Object.keys(d), ...Object.keys(o)])].sort();
  const isDrift = (f) => drift.has(f) || [...drift].some((x) => f.startsWith(x + '.') || f.startsWith(x.replace(/^(\w+) /, '$1s ') + '.'));
  const cmp = fields.map((f) => ({ field: f, desired: d[f], observed: vm.observed ? o[f] : undefined, drift: isDrift(f) }));
  const pl = vm.placement || {};
  const evs = (events.items || []).filter((e) => e.object === vm.name || e.object === 'vm/' + vm.name).slice(-50).reverse();
  const backupBtn = canWrite() ? el('button', { type: 'button', id: 'backup-now', onclick: () => verb('/api/v1/vms/' + enc(vm.name) + '/backup', {}, 'Backup requested.') }, 'Back up now') : null;
  mount('vm', quiet,
    el('p', {}, el('a', { href: '#/vms', text: '\u2190 VMs' })),
    el('h1', { id: 'vm-name' }, vm.name, vm.tenant ? el('span', { class: 'muted', text: '  tenant ' + vm.tenant }) : null),
    drift.size ? el('div', { class: 'banner', role: 'status', text: 'Drift: ' + [...drift].join(', ') }) : null,
    el('p', {}, 'Placed on ', vm.host ? el('a', { href: '#/hosts/' + enc(vm.host), text: vm.host }) : '-',
      pl.why ? el('span', { class: 'muted', text: ' \u2014 ' + pl.why }) : null),
    el('h2', { text: 'Desired and observed' }),
    vm.observed ? null : el('p', { class: 'muted', text: 'Not observed on any host.' }),
    table([['field', 'Field', 'mono'], ['desired', 'Desired (spec)', null, fieldValue], ['observed', 'Observed (cluster)', null, fieldValue]], cmp,
      { id: 'vm-compare', rowClass: (r) => (r.drift ? 'drift' : null) }),
    el('h2', { text: 'Pending actions' }),
    diffList(vm.actions || []),
    el('h2', { text: 'Backups' }),
    el('div', { class: 'actions-row' }, backupBtn, el('span', { id: 'verb-msg', role: 'status' })),
    table([['id', 'Backup', 'mono'], ['time', 'Time', null, when], ['schedule', 'Schedule'], ['bytes', 'Size', 'num', bytes]],
      vm.backups || [], { empty: 'No backups.' }),
    graphsPanel('vms', vm.name),
    el('h2', { text: 'Events' }),
    eventTable(evs));
}
async function verb(path, body, ok) {
  const msg = $('verb-msg');
  try {
    await api(path, { method: 'POST', body });
    if (msg) { msg.className = ''; msg.textContent = ok; }
  } catch (e) {
    if (msg) { msg.textContent = e.message; msg.className = 'error'; }
  }
}

/* ---- the plan, as a diff ---- */
function diffLine(a) {
  const k = a.kind || '';
  const sym = { create: '+', recover: '+', upload: '+', delete: '-', migrate: '\u2192' }[k] || '~';
  const cls = { '+': 'add', '-': 'del', '\u2192': 'mig' }[sym] || 'chg';
  const obj = a.object && a.object !== 'vm' ? a.object + ' ' : '';
  const where = k === 'migrate' ? '  from ' + (a.host || '?') + ' to ' + (a.target || '?') : a.host ? '  on ' + a.host : '';
  const li = el('li', { class: cls, 'data-kind': k }, sym + ' ' + k + ' ' + obj + (a.vm || '') + where + (a.drift ? '  (drift)' : ''));
  for (const c of a.changes || [])
    li.appendChild(el('span', { class: 'why', text: c.field + ': ' + show(c.from) + ' \u2192 ' + show(c.to) + (c.restart ? '  (restart)' : '') }));
  if (a.reason) li.appendChild(el('span', { class: 'why', text: a.reason }));
  else if (!a.changes && a.text) li.appendChild(el('span', { class: 'why', text: a.text }));
  return li;
}
const DIFF_FIRST = 500;   // lines shown at first; the rest on demand (a plan of 10,000 creates)
function diffList(actions) {
  if (!actions.length) return el('p', { class: 'muted', text: 'Nothing to do.' });
  const ul = el('ul', { class: 'diff', id: 'plan-diff' }, actions.slice(0, DIFF_FIRST).map(diffLine));
  if (actions.length <= DIFF_FIRST) return ul;
  const more = el('button', { type: 'button', id: 'plan-more', onclick: () => {
    const frag = document.createDocumentFragment();
    for (const a of actions.slice(DIFF_FIRST)) frag.appendChild(diffLine(a));
    ul.appendChild(frag);
    more.remove();
  } }, 'Show all ' + actions.length + ' actions');
  return el('div', {}, ul, el('p', {}, more));
}
async function viewPlan(arg, quiet, seq) {
  const p = await api('/api/v1/plan');
  if (!current(seq)) return;
  const acts = p.actions || [];
  const n = (k) => acts.filter((a) => a.kind === k).length;
  const waiting = p.mode === 'approve' && !p.approved && acts.length > 0;
  let btn = null;
  if (waiting && canWrite()) {
    btn = el('button', { type: 'button', class: 'primary', id: 'approve', onclick: async () => {
      btn.disabled = true;
      const msg = $('verb-msg');
      try {
        await api('/api/v1/plan/approve', { method: 'POST', body: { digest: p.digest } });
        msg.className = ''; msg.textContent = 'Approved: the next pass applies it.';
      } catch (e) {
        msg.className = 'error'; msg.textContent = e.message; btn.disabled = false;
      }
    } }, 'Approve ' + acts.length + ' actions');
  }
  mount('plan', quiet,
    el('h1', { text: 'Pending plan' }),
    el('p', {}, 'Mode ', el('b', { text: p.mode || '-' }), ' \u00b7 digest ', el('span', { class: 'mono', id: 'plan-digest', text: p.digest || '-' }),
      p.approved ? ' \u00b7 approved' : null),
    el('p', { class: 'muted' }, n('create') + ' to create, ' + (n('update') + n('start') + n('stop')) + ' to change, ' +
      n('delete') + ' to delete, ' + n('migrate') + ' to migrate'),
    el('div', { class: 'actions-row' }, btn,
      waiting && !canWrite() ? el('span', { class: 'muted', text: 'An operator or admin approves this plan.' }) : null,
      el('span', { id: 'verb-msg', role: 'status' })),
    diffList(acts));
  mark('plan');
}

/* ---- passes, alerts, events, audit ---- */
async function viewPasses(arg, quiet, seq) {
  const r = await api('/api/v1/passes');
  if (!current(seq)) return;
  mount('passes', quiet, el('h1', { text: 'Recent passes' }),
    table([['id', '#', 'num'], ['time', 'Started', null, when], ['seconds', 'Took', 'num', secs], ['result', 'Result', null, (v) => badge(show(v), v === 'ok' ? 'ok' : 'error')],
      ['revision', 'Revision', 'mono', (v) => show(v).slice(0, 12)], ['done', 'Done', 'num'], ['failed', 'Failed', 'num'], ['skipped', 'Skipped', 'num'], ['error', 'Error']],
    r.items || [], { id: 'passes', empty: 'No pass yet.' }));
}
async function viewAlerts(arg, quiet, seq) {
  const r = await api('/api/v1/alerts');
  if (!current(seq)) return;
  mount('alerts', quiet, el('h1', { text: 'Alerts' }),
    table([['severity', 'Severity', null, (v) => badge(show(v))], ['state', 'State', null, (v) => badge(show(v))], ['rule', 'Rule'],
      ['object', 'Object'], ['since', 'Since', null, when], ['value', 'Value'], ['summary', 'Summary']],
    r.items || [], { id: 'alerts', empty: 'No alerts.' }));
}
function eventTable(items, id) {
  return table([['time', 'Time', null, when], ['type', 'Type', null, (v) => badge(show(v), 'info')], ['object', 'Object'], ['message', 'Message']],
    items, { id, empty: 'No events.' });
}
function addEventRow(tbl, ev, top) {
  const tr = el('tr', {}, el('td', { text: when(ev.time) }), el('td', {}, badge(show(ev.type), 'info')),
    el('td', { text: show(ev.object) }), el('td', { text: show(ev.message) }));
  const body = tbl.tBodies[0];
  if (top) body.insertBefore(tr, body.firstChild); else body.appendChild(tr);
}
async function viewEvents(arg, quiet, seq) {
  const r = await api('/api/v1/events');
  if (!current(seq)) return;
  const t = eventTable((r.items || []).slice().reverse(), 'events');
  mount('events', quiet, el('h1', { text: 'Events' }), el('p', { class: 'muted', text: 'Newest first; new ones appear live.' }), t);
  state.eventsList = t;
}
function newestFirst(items) {
  const t = (x) => (typeof x.time === 'number' ? x.time * 1000 : Date.parse(x.time) || 0);
  return items.map((x, i) => [x, i]).sort((a, b) => t(b[0]) - t(a[0]) || b[1] - a[1]).map((x) => x[0]);
}
async function viewAudit(arg, quiet, seq) {
  if (!isAdmin() || state.me.tenants !== null) { mount('audit', quiet, el('h1', { text: 'Audit log' }), el('p', { text: 'Admins of every tenant only.' })); return; }
  const r = await api('/api/v1/audit');
  if (!current(seq)) return;
  mount('audit', quiet, el('h1', { text: 'Audit log' }),
    table([['time', 'Time', null, when], ['who', 'Who'], ['peer', 'From'], ['method', 'Method'], ['path', 'Path', 'mono'],
      ['target', 'Target'], ['code', 'Code', 'num'], ['result', 'Result']], newestFirst(r.items || []), { id: 'audit', empty: 'Nothing recorded.' }));
}

/* ---- keyboard ---- */
function typing(t) { return t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable); }
function toggleHelp(on) {
  $('help').hidden = !on;
  if (on) $('help-close').focus(); else if (state.helpFrom) state.helpFrom.focus();
}
function back() {
  const v = state.view;
  if (v === 'vm') location.hash = '#/vms';
  else if (v === 'host') location.hash = '#/overview';
  else history.back();
}
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (!$('help').hidden) {
    if (e.key === 'Escape' || e.key === '?') { e.preventDefault(); toggleHelp(false); }
    else if (e.key === 'Tab') { e.preventDefault(); $('help-close').focus(); }   // focus stays in the dialog
    return;
  }
  if (typing(e.target)) {
    if (e.key === 'Escape') { e.target.blur(); if (state.list) state.list.body.focus(); }
    return;
  }
  if (!state.me) return;
  if (state.gPending) {
    state.gPending = false;
    const to = { h: 'overview', v: 'vms', p: 'plan', s: 'passes', a: 'alerts', e: 'events', l: 'audit' }[e.key];
    if (to) { e.preventDefault(); location.hash = '#/' + to; }
    return;
  }
  if (e.key === 'g') { state.gPending = true; setTimeout(() => { state.gPending = false; }, 1500); return; }
  if (e.key === '/') {
    const f = $('filter');
    if (f) { e.preventDefault(); f.focus(); f.select(); }
    else { e.preventDefault(); location.hash = '#/vms'; }
    return;
  }
  if (e.key === '?') { e.preventDefault(); state.helpFrom = document.activeElement; toggleHelp(true); return; }
  if (e.key === 'Escape') { e.preventDefault(); back(); }
});

/* ---- start ---- */
function boot() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('help-close').addEventListener('click', () => toggleHelp(false));
  window.addEventListener('hashchange', () => route());
  window.addEventListener('resize', () => paint(true));
  start();
}
boot();
