// The console's first load (issue 16 "Performance", docs/BENCHMARKS.md):
// a vnfmd on a simulated site (docs/VIM_SIM.md) with DEPLOYMENTS
// deployments and EVENTS records in its event log, then Chromium opens
// /ui/ signed in, ROUNDS times, and we measure what crossed the wire and
// when the page was interactive: the first row of the deployments list put
// into the page, from the start of the navigation (the page's own clock),
// and of that, the page's own work once the list's answer was in (the
// part that does not wait on the manager or the network).
//
//   make all && (cd tests/gui && npm ci) && node bench/console_load.mjs
//   DEPLOYMENTS=1000 EVENTS=100000 ROUNDS=5 node bench/console_load.mjs
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {Daemon, browser, VNFDS} from '../tests/gui/harness.mjs';

const N = Number(process.env.DEPLOYMENTS || 1000);
const EVENTS = Number(process.env.EVENTS || 100000);
const ROUNDS = Number(process.env.ROUNDS || 5);
const PARALLEL = 16;

async function pool(n, fn) {
  let next = 0;
  await Promise.all(Array.from({length: PARALLEL}, async () => {
    while (next < n) await fn(next++);
  }));
}

const d = await new Daemon('--site-driver', 'sim', '--site-vcpu', '100000', '--site-memory-mb', '100000000',
  '--log-level', 'info').start();
try {
  const vnfd = JSON.parse(readFileSync(join(VNFDS, 'demo-web.json'), 'utf8'));
  await d.ok('POST', '/v0/vnfds', vnfd);
  let t0 = Date.now();
  await pool(N, async (i) => {
    const op = await d.ok('POST', '/v0/deployments', {name: `d${i}`, vnfd: 'demo-web'});
    await d.waitOp(op.id, 600000);
  });
  console.log(`${N} deployments in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // audit records (one per change of a tenant) up to EVENTS in the log
  await d.ok('POST', '/v0/tenants', {id: 'filler'});
  t0 = Date.now();
  let have = (await d.ok('GET', '/v0/logs?tail=1&limit=1')).logs[0].seq;
  await pool(Math.max(0, EVENTS - have), (i) => d.ok('PUT', '/v0/tenants/filler', {description: `change ${i}`}));
  have = (await d.ok('GET', '/v0/logs?tail=1&limit=1')).logs[0].seq;
  console.log(`event log at seq ${have} (${((Date.now() - t0) / 1000).toFixed(1)} s to fill)`);

  const b = await browser();
  const rows = [];
  for (let r = 0; r < ROUNDS; r++) {
    const ctx = await b.newContext({viewport: {width: 1280, height: 800}});
    await ctx.addInitScript((tok) => {
      sessionStorage.setItem('vnfm.token', tok);
      // when the list's first row is put into the page, in the page's own clock
      new MutationObserver((_, o) => {
        if (!document.querySelector('tr[data-deployment]')) return;
        window.drawnAt = performance.now();
        o.disconnect();
      }).observe(document, {subtree: true, childList: true});
    }, d.token);
    const page = await ctx.newPage();
    await page.goto(`${d.url}/ui/#/deployments`);
    // from the start of the navigation to the first frame that shows the list
    const ms = Math.round(await (await page.waitForFunction(() => window.drawnAt, null,
      {timeout: 60000})).jsonValue());
    const bytes = await page.evaluate(() => {
      const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
      const sum = (f) => all.filter(f).reduce((s, e) => s + (e.transferSize || e.encodedBodySize || 0), 0);
      const list = all.find((e) => new URL(e.name).pathname === '/v0/deployments');
      return {files: sum((e) => new URL(e.name).pathname.startsWith('/ui/')),
        api: sum((e) => !new URL(e.name).pathname.startsWith('/ui/')), requests: all.length,
        own: Math.round(window.drawnAt - list.responseEnd)};
    });
    if (process.env.VERBOSE) console.log(await page.evaluate(() => performance.getEntriesByType('resource')
      .map((e) => `${Math.round(e.startTime)}-${Math.round(e.responseEnd)} ms ${e.transferSize} B ${new URL(e.name).pathname}${new URL(e.name).search}`).join('\n')));
    const shown = await page.locator('tr[data-deployment]').count();
    rows.push({ms, ...bytes, shown});
    console.log(`round ${r + 1}: interactive in ${ms} ms (${bytes.own} ms of it after the list's answer); transferred ${(bytes.files / 1024).toFixed(1)} KiB of files + ${(bytes.api / 1024).toFixed(1)} KiB of API answers in ${bytes.requests} requests; ${shown} rows drawn`);
    await ctx.close();
  }
  await b.close();
  const med = (k) => rows.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
  console.log(`median: interactive ${med('ms')} ms (${med('own')} ms after the list's answer), files ${(med('files') / 1024).toFixed(1)} KiB, API ${(med('api') / 1024).toFixed(1)} KiB`);
} finally {
  await d.stop(); // a simulated site: nothing of the VIs is on the host
}
