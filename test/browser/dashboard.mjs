// dashboard.mjs - drives NovaCron's dashboard in Debian's Chromium through
// playwright-core (test/integration/dashboard.sh starts serve and passes):
//   NC_URL            serve's base URL (http://127.0.0.1:PORT)
//   NC_TOKEN_VIEWER, NC_TOKEN_OPERATOR, NC_TOKEN_ADMIN
//                     API tokens; none: serve runs with api.anonymous viewer
//   NC_HOSTS          how many hosts the overview must show
//   NC_XSS_VM         the VM whose name tries XSS
//   NC_OUT            where screenshots go
//   NC_MODE           "full" (default) or "perf": only the first render times
//   NC_CHROMIUM       the browser (default /usr/bin/chromium)
// Prints "ok ..." / "FAIL ..." lines, and "figure ..." lines (never failed on time).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const base = process.env.NC_URL;
const out = process.env.NC_OUT || '.';
const mode = process.env.NC_MODE || 'full';
const tokens = {
  viewer: process.env.NC_TOKEN_VIEWER || '',
  operator: process.env.NC_TOKEN_OPERATOR || '',
  admin: process.env.NC_TOKEN_ADMIN || '',
};
let fails = 0;
const ok = (m) => console.log('ok   ' + m);
const fail = (m) => { console.log('FAIL ' + m); fails++; };
const check = (c, m, why) => (c ? ok(m) : fail(m + (why ? ': ' + why : '')));
const T = 15000;

const browser = await chromium.launch({
  executablePath: process.env.NC_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});

// a page that records every dialog (an XSS would open one), page error and CSP refusal
async function newPage(scheme) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: scheme || 'light' });
  const page = await ctx.newPage();
  page.nc = { dialogs: [], errors: [], csp: [] };
  page.on('dialog', async (d) => { page.nc.dialogs.push(d.message()); await d.dismiss(); });
  page.on('pageerror', (e) => page.nc.errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) page.nc.csp.push(m.text());
  });
  page.setDefaultTimeout(T);
  return page;
}
async function shot(page, name) {
  const f = path.join(out, name + '.png');
  await page.screenshot({ path: f, fullPage: false });
  return f;
}
async function login(page, role) {
  await page.goto(base + '/#/overview');
  if (!tokens[role]) {
    // api.anonymous: viewer: no login screen
    await page.waitForSelector('#hosts');
    return;
  }
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#token', tokens[role]);
  await page.press('#token', 'Enter');
  await page.waitForSelector('#hosts');
}
async function key(page, ...keys) { for (const k of keys) await page.keyboard.press(k); }
const count = (page, sel) => page.locator(sel).count();

async function step(name, fn) {
  try { await fn(); } catch (e) { fail(name + ': ' + String(e.message || e).split('\n')[0]); }
}

if (mode === 'perf') {
  // the first render of the overview and of the VM list, each a fresh page load
  const page = await newPage();
  await login(page, tokens.viewer ? 'viewer' : 'viewer');
  const fig = {};
  for (const [view, sel] of [['overview', '#hosts .host'], ['vms', '#vm-list .vrow']]) {
    await page.goto('about:blank');
    await page.goto(base + '/#/' + view);
    await page.waitForSelector(sel, { timeout: 60000 });
    await page.waitForFunction((v) => window.ncPerf && window.ncPerf[v] !== undefined, view, { timeout: 60000 });
    fig[view] = await page.evaluate((v) => window.ncPerf[v], view);
    const nodes = await page.evaluate(() => document.querySelectorAll('#view *').length);
    console.log(`figure first render of ${view}: ${fig[view]} ms (from navigation; ${nodes} elements in the view)`);
    if (view === 'overview') await shot(page, 'perf-overview');
  }
  // all 10,000 loaded: rows in the DOM stay a screenful
  await page.waitForFunction(() => /^\d+ of (\d+) VMs$/.test(document.getElementById('vm-count').textContent), null, { timeout: 120000 });
  const rows = await count(page, '#vm-list .vrow');
  const total = await page.locator('#vm-count').textContent();
  check(rows < 200, `the VM list keeps only the visible rows in the DOM (${rows} rows for ${total})`);
  await shot(page, 'perf-vms');
  // filter at full size: the time from the input to the list redrawn
  const ms = await page.evaluate(() => {
    const f = document.getElementById('filter');
    const t0 = performance.now();
    f.value = 'db-';
    f.dispatchEvent(new Event('input'));
    return performance.now() - t0;
  });
  const shown = await page.locator('#vm-count').textContent();
  check(/^\d+ of 10000 VMs$/.test(shown) && !/^0 /.test(shown), 'the filter narrows the 10,000 VMs (' + shown + ')');
  console.log(`figure filter 10,000 VMs: ${Math.round(ms)} ms`);
  await browser.close();
  process.exit(fails ? 1 : 0);
}

// ---- the viewer (or anonymous viewer): login, overview, list, XSS, keyboard, no approve ----
const v = await newPage();
await step('login with a token', async () => {
  if (tokens.viewer) {
    await v.goto(base + '/');
    await v.waitForSelector('#login:not([hidden])');
    await v.fill('#token', 'nc_wrong_' + 'x'.repeat(20));
    await v.press('#token', 'Enter');
    await v.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
    ok('a wrong token is refused on the login screen');
    await shot(v, 'login');
  }
  await login(v, 'viewer');
  const who = await v.locator('#who').textContent();
  check(/viewer/.test(who), 'login with a token as viewer (' + who.trim() + ')');
});
await step('overview', async () => {
  const want = Number(process.env.NC_HOSTS || 0);
  await v.waitForFunction((n) => document.querySelectorAll('#hosts .host').length === n, want);
  const bars = await count(v, '#hosts .host .bar');
  check(bars === want * 2, `the overview shows the ${want} hosts with vCPU and memory bars`);
  await v.waitForSelector('#conn[data-state="live"]', { timeout: 10000 }).then(
    () => ok('live updates connected (EventSource), shown in the header'),
    () => fail('live updates: the connection state never became live'));
  await shot(v, 'overview');
});
// XSS: strings from the cluster and from git show as text, and nothing runs
const xss = {
  commit: process.env.NC_XSS_COMMIT || '',   // the revision's commit message (overview)
  note: process.env.NC_XSS_NOTE || '',       // an annotation of NC_XSS_VM (VM detail)
  domain: process.env.NC_XSS_DOMAIN || '',   // an undeclared domain's name (the plan deletes it)
};
const injected = (page) => page.evaluate(() =>
  document.querySelectorAll('#view script, #view img, #view iframe, #view svg, #view object').length);
const viewText = (page) => page.evaluate(() => document.getElementById('view').textContent);
await step('XSS in the overview', async () => {
  if (xss.commit) {
    const t = await viewText(v);
    check(t.includes(xss.commit.split('\n')[0]), 'a commit message with <script> shows as text in the overview');
  }
  check((await injected(v)) === 0, 'the overview made no element from the data');
});
await step('VM list and detail', async () => {
  const vm = process.env.NC_XSS_VM || 'web-1';
  await key(v, 'g', 'v');
  await v.waitForSelector('#vm-list .vrow');
  await v.waitForFunction(() => /^\d+ of \d+ VMs$/.test(document.getElementById('vm-count').textContent));
  const focused = await v.evaluate(() => document.activeElement && document.activeElement.id);
  check(focused === 'filter', 'g v opens the VM list with the filter focused');
  await shot(v, 'vms');
  await v.keyboard.type(vm);
  await v.waitForFunction((n) => [...document.querySelectorAll('#vm-list .vrow')].some((r) => r.dataset.name === n), vm);
  // keyboard: into the list, Enter opens the selected row, Esc comes back
  await key(v, 'ArrowDown');
  const inList = await v.evaluate(() => document.activeElement.id);
  check(inList === 'vm-list', 'ArrowDown moves from the filter into the list');
  const sel = await v.evaluate(() => document.querySelector('#vm-list .vrow[aria-selected="true"]').dataset.name);
  await key(v, 'Enter');
  await v.waitForSelector('#vm-name');
  const h1 = await v.locator('#vm-name').evaluate((e) => e.firstChild.textContent);
  check(h1 === sel, 'Enter opens the selected VM (' + h1 + ')');
  if (xss.note && h1 === vm) {
    const t = await viewText(v);
    check(t.includes(xss.note), 'an annotation with <img onerror> shows as text in the VM detail');
  }
  check((await injected(v)) === 0, 'the VM detail made no element from the data');
  // graphs: before the plan is applied the VM has no history yet (else its images load)
  await v.waitForFunction(() => document.getElementById('graphs-none') ||
    [...document.querySelectorAll('#graphs img.graph')].some((i) => i.complete && i.naturalWidth > 0), null, { timeout: T });
  const gs = await v.evaluate(() => { const n = document.getElementById('graphs-none'); return n ? n.textContent : 'images'; });
  check(gs === 'images' || /no history yet/.test(gs), 'the VM detail says when it has no graphs yet (' + gs + ')');
  await v.waitForTimeout(300);
  await shot(v, 'vm-detail');
  await key(v, 'Escape');
  await v.waitForSelector('#vm-list');
  ok('Esc goes back to the list');
});
await step('keyboard navigation', async () => {
  // from the list (the filter has the focus): Esc leaves the box, then g h
  await key(v, 'Escape');
  await key(v, 'g', 'h');
  await v.waitForSelector('#hosts');
  await key(v, 'Tab');
  let f = await v.evaluate(() => document.activeElement.className + ' ' + (document.activeElement.textContent || '').slice(0, 20));
  // Tab walks the header, then the hosts: a host card can be reached and opened with Enter
  for (let i = 0; i < 30 && !/\bhost\b/.test(f); i++) {
    await key(v, 'Tab');
    f = await v.evaluate(() => document.activeElement.className);
  }
  check(/\bhost\b/.test(f), 'Tab reaches the host cards');
  const outline = await v.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(outline !== 'none', 'the focused card shows its focus (' + outline + ')');
  await key(v, 'Enter');
  await v.waitForSelector('#vm-list');
  ok('Enter on a host card opens its VMs');
  await key(v, '?');
  check(!(await v.locator('#help').isHidden()), '? shows the keyboard help');
  await key(v, 'Escape');
  await key(v, 'g', 'p');
  await v.waitForSelector('#plan-digest');
  ok('g p opens the plan');
});
await step('a viewer sees no Approve button', async () => {
  await v.waitForSelector('#plan-diff');
  const n = await count(v, '#approve');
  const lines = await count(v, '#plan-diff li');
  check(n === 0 && lines > 0, `a viewer sees the pending plan (${lines} lines) and no Approve button`);
  if (xss.domain) {
    const t = await v.locator('#plan-diff').textContent();
    check(t.includes(xss.domain), 'a domain named <img onerror> shows as text in the plan');
  }
  check((await injected(v)) === 0, 'the plan made no element from the data');
  // and the API refuses a viewer's approval too
  const code = await v.evaluate(async () => {
    const r = await fetch('/api/v1/plan/approve', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"digest":"x"}' });
    return r.status;
  });
  check(code === 403 || code === 401, 'POST /api/v1/plan/approve as a viewer is refused (' + code + ')');
  await shot(v, 'plan-viewer');
});
await step('dark scheme', async () => {
  const d = await newPage('dark');
  await login(d, 'viewer');
  const bg = await d.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg !== 'rgb(246, 247, 249)', 'prefers-color-scheme dark gives the dark palette (' + bg + ')');
  await shot(d, 'overview-dark');
  await d.context().close();
});
check(v.nc.dialogs.length === 0, 'no dialog opened (no injected script ran)', v.nc.dialogs.join(', '));
check(v.nc.errors.length === 0, 'no script error in the page', v.nc.errors.join(' | '));
check(v.nc.csp.length === 0, 'no Content-Security-Policy refusal', v.nc.csp.join(' | '));
await v.context().close();

// ---- the operator approves the plan ----
if (tokens.operator) {
  const o = await newPage();
  await step('operator approves', async () => {
    await login(o, 'operator');
    await key(o, 'g', 'p');
    await o.waitForSelector('#approve');
    ok('an operator sees the Approve button');
    await shot(o, 'plan');
    await o.click('#approve');
    await o.waitForFunction(() => /Approved/.test(document.getElementById('verb-msg').textContent));
    ok('an operator approves the plan (its digest, with the X-CSRF-Token header)');
    // a session write without the CSRF header is refused
    const code = await o.evaluate(async () => {
      const r = await fetch('/api/v1/sync', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      return r.status;
    });
    check(code === 403, 'a session write without X-CSRF-Token is refused (' + code + ')');
    // the next pass applies the plan; the overview follows it live (SSE), without a reload
    await key(o, 'g', 'h');
    await o.waitForSelector('#stat-running');
    await o.waitForFunction(() => Number(document.querySelector('#stat-running b').textContent) > 0 &&
      Number(document.querySelector('#stat-pending b').textContent) === 0, null, { timeout: 60000 });
    ok('the overview updates live when the approved plan is applied (running ' +
      (await o.locator('#stat-running b').textContent()) + ', no reload)');
    await o.waitForTimeout(300);
    await shot(o, 'overview-applied');
    await o.goto(base + '/#/vms/' + encodeURIComponent(process.env.NC_XSS_VM || 'web-1'));
    await o.waitForSelector('#vm-compare');
    // its graphs, once telemetry (every second) wrote its history: images serve drew (img-src 'self')
    const loaded = (r) => [...document.querySelectorAll('#graphs img.graph')].some((i) => i.complete && i.naturalWidth > 0 &&
      i.alt.endsWith('last ' + r));
    await o.waitForFunction(loaded, '24h', { timeout: 30000 });
    const g = await o.evaluate(() => { const i = document.querySelector('#graphs img.graph');
      return { n: document.querySelectorAll('#graphs img.graph').length, w: i.naturalWidth, alt: i.alt }; });
    check(g.n >= 4 && g.w > 0, `the VM detail shows ${g.n} graphs (${g.w} px wide, alt "${g.alt}")`);
    // the range by keyboard: ArrowUp on the selector picks the range before (24h, 6h, 1h)
    await o.focus('#graph-range');
    await o.keyboard.press('ArrowUp');
    await o.keyboard.press('ArrowUp');
    await o.waitForFunction(loaded, '1h', { timeout: T });
    ok('the range selector works by keyboard (24h -> 1h, images reloaded)');
    await o.evaluate(() => document.getElementById('graphs-h').scrollIntoView({ block: 'start' }));
    await o.waitForTimeout(300);
    await shot(o, 'vm-detail-applied');
    await o.goto(base + '/#/passes');
    await o.waitForSelector('#passes');
    await shot(o, 'passes');
  });
  check(o.nc.dialogs.length === 0 && o.nc.errors.length === 0, 'no dialog or script error as operator');
  await o.context().close();
} else {
  console.log('skip: operator approval: no operator token (novacron token create is not there yet)');
}

// ---- a person logs in through OpenID Connect (test/oidc/provider.mjs) ----
if (process.env.NC_OIDC) {
  const s = await newPage();
  await step('OIDC login', async () => {
    await s.goto(base + '/');
    await s.waitForSelector('#sso:not([hidden])');
    ok('the login screen offers "Log in with SSO" (api.oidc is set)');
    await s.click('#sso-link');
    await s.waitForSelector('#hosts', { timeout: 30000 });
    const who = await s.locator('#who').textContent();
    check(/oidc:/.test(who) && /operator/.test(who), 'login through the OIDC provider (PKCE) gives a session: ' + who.trim());
    await key(s, 'g', 'p');
    await s.waitForSelector('#plan-digest');
    ok('the OIDC operator reaches the plan');
  });
  await s.context().close();
} else {
  console.log('skip: OIDC login in the browser: no test provider (test/oidc/provider.mjs)');
}

// ---- the admin sees the audit log, with the approval in it ----
if (tokens.admin) {
  const a = await newPage();
  await step('admin audit log', async () => {
    await login(a, 'admin');
    check(!(await a.locator('#nav-audit').isHidden()), 'an admin has the Audit view');
    await key(a, 'g', 'l');
    await a.waitForSelector('#audit');
    const txt = await a.locator('#audit').textContent();
    check(/plan\/approve/.test(txt), 'the audit log shows the approval');
    if (process.env.NC_XSS_AUDIT) {
      check(txt.includes(process.env.NC_XSS_AUDIT), 'a refused write naming <script> shows as text in the audit log');
      check((await injected(a)) === 0, 'the audit log made no element from the data');
    }
    await shot(a, 'audit');
    await key(a, 'g', 'e');
    await a.waitForSelector('#events');
    check((await injected(a)) === 0, 'the events view made no element from the data');
    check(a.nc.dialogs.length === 0 && a.nc.errors.length === 0, 'no dialog or script error as admin');
  });
  await a.context().close();
} else {
  console.log('skip: admin audit view: no admin token');
}

await browser.close();
process.exit(fails ? 1 : 0);
