// render-bench.mjs - the dashboard's first render in Debian's Chromium, timed
// (bench/api-latency.sh starts serve on 500 sim hosts / 10,000 VMs and runs it):
//   NC_URL       serve's base URL (http://127.0.0.1:PORT)
//   NC_TOKEN     an API token (viewer is enough); logged in with POST /auth/login
//   NC_RUNS      fresh page loads per view (default 5); the median is printed
//   NC_CHROMIUM  the browser (default /usr/bin/chromium)
// Each run is a new browser context (empty cache, a new session): the time from
// navigation start to the view being on screen, as the dashboard records it
// (window.ncPerf, performance.now() in the first animation frame after the
// view's first render, also performance.mark 'nc-VIEW-rendered'), after its
// first rows are in the DOM; for the VM list also until all VMs are loaded
// (the list fetches 1,000 a page after the first). Prints figures only.
import { chromium } from 'playwright-core';

const base = process.env.NC_URL;
const token = process.env.NC_TOKEN || '';
const runs = Math.max(1, parseInt(process.env.NC_RUNS || '5', 10));
const T = 120000;

const browser = await chromium.launch({
  executablePath: process.env.NC_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)]; };
const fmt = (a) => `median ${median(a)} ms (min ${Math.min(...a)}, max ${Math.max(...a)}; ${a.map(String).join(', ')})`;

// one fresh context: logged in, then VIEW loaded from a new navigation
async function once(view, sel) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  if (token) {
    const r = await ctx.request.post(base + '/auth/login', { data: { token } });
    if (!r.ok()) throw new Error('POST /auth/login: ' + r.status());
  }
  const page = await ctx.newPage();
  page.setDefaultTimeout(T);
  await page.goto(base + '/#/' + view);
  await page.waitForSelector(sel);
  await page.waitForFunction((v) => window.ncPerf && window.ncPerf[v] !== undefined, view);
  const first = await page.evaluate((v) => window.ncPerf[v], view);
  let all = null;
  if (view === 'vms') {
    await page.waitForFunction(() => /^\d+ of \d+ VMs$/.test(document.getElementById('vm-count').textContent));
    all = Math.round(await page.evaluate(() => performance.now()));
  }
  const rows = await page.locator(sel).count();
  await ctx.close();
  return { first, all, rows };
}

const cluster = await (async () => {
  const ctx = await browser.newContext();
  const r = await ctx.request.get(base + '/api/v1/cluster', { headers: token ? { Authorization: 'Bearer ' + token } : {} });
  const j = r.ok() ? await r.json() : {};
  await ctx.close();
  return j.counts || {};
})();
console.log(`Dashboard first render in ${browser.version ? 'Chromium ' + browser.version() : 'Chromium'}, headless, ` +
  `${cluster.hosts} hosts / ${cluster.vms} VMs, ${runs} fresh page loads each (from navigation start)`);
for (const [view, sel, what] of [['overview', '#hosts .host', 'overview (hosts with capacity bars)'],
  ['vms', '#vm-list .vrow', 'VM list, first rows']]) {
  const first = [], all = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    try {
      const r = await once(view, sel);
      first.push(r.first);
      if (r.all !== null) all.push(r.all);
      rows = r.rows;
    } catch (e) {
      console.log(`  ${view}: run ${i + 1} failed: ${String(e.message || e).split('\n')[0]}`);
    }
  }
  if (first.length) console.log(`  ${what.padEnd(40)} ${fmt(first)}; ${rows} rows in the DOM`);
  if (all.length) console.log(`  ${'VM list, all VMs loaded'.padEnd(40)} ${fmt(all)}`);
}
await browser.close();
