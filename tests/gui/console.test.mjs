// The console in a real browser (docs/CONSOLE.md): Debian's Chromium on a
// real vnfmd with real VNF processes. Each test asserts what an operator
// sees; they run in order and share the manager and the browser.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {Daemon, browser, signedIn, screenshot, waitFor, VNFDS} from './harness.mjs';

const XSS = '<img src=x onerror="window.__pwned=1">';
let d, b, page;

before(async () => {
  d = await new Daemon().start();
  b = await browser();
});

after(async () => {
  await b?.close();
  try {
    await d?.undeployAll();
    await d?.stop();
  } finally {
    d?.kill9();
  }
});

// The state cell of a VI row, once it reads text.
const viState = (p, vi, text) =>
  p.locator(`tr[data-vi="${vi}"] td[data-label="State"]`, {hasText: text}).waitFor({timeout: 90000});

test('the console is served under /ui/ with its types, caching and security headers', async () => {
  const index = await fetch(`${d.url}/ui/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  const csp = index.headers.get('content-security-policy');
  for (const part of ["default-src 'none'", "script-src 'self'", "require-trusted-types-for 'script'",
    "frame-ancestors 'none'"])
    assert.ok(csp.includes(part), `CSP has ${part}: ${csp}`);
  assert.ok(!csp.includes('unsafe'), csp);
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const types = {'app.js': 'text/javascript; charset=utf-8', 'console.css': 'text/css; charset=utf-8',
    'favicon.svg': 'image/svg+xml'};
  for (const [file, type] of Object.entries(types)) {
    const r = await fetch(`${d.url}/ui/${file}`);
    assert.equal(r.status, 200, file);
    assert.equal(r.headers.get('content-type'), type, file);
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{16}"$/);
    const again = await fetch(`${d.url}/ui/${file}`, {headers: {'If-None-Match': etag}});
    assert.equal(again.status, 304, `${file} with its ETag`);
    assert.equal((await again.text()).length, 0);
  }
  const bare = await fetch(`${d.url}/ui`, {redirect: 'manual'});
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.get('location'), '/ui/');
  assert.equal((await fetch(`${d.url}/ui/nope.js`)).status, 404);
  // the files need no token; the API still does
  assert.equal((await fetch(`${d.url}/v0/deployments`)).status, 401);
});

test('a wrong token is refused at its field; the right one shows the estate', async () => {
  const ctx = await b.newContext({viewport: {width: 1280, height: 800}});
  const p = await ctx.newPage();
  await p.goto(`${d.url}/ui/`);
  await p.fill('#token', 'not-a-token-of-this-manager');
  await p.click('button[type=submit]');
  await p.locator('#token-error', {hasText: 'Not signed in'}).waitFor();
  assert.equal(await p.getAttribute('#token', 'aria-invalid'), 'true');
  await ctx.close();

  page = await signedIn(b, d);
  // the token is in session storage, never in the URL
  assert.equal(await page.evaluate(() => sessionStorage.getItem('vnfm.token')), d.token);
  assert.ok(!page.url().includes(d.token));
  await page.locator('tr[data-site="local"] td[data-label="VIM"]', {hasText: 'ok'}).waitFor();
  assert.match(await page.textContent('header'), /admin/);
});

test("the overview shows the manager's worker pools, and follows their resizes", async () => {
  await page.click('nav a[href="#/"]');
  const row = page.locator('tr[data-component="provisioning"]');
  await row.waitFor();
  assert.equal(await row.locator('td[data-label="Sized by"]').textContent(), 'loop');
  // each resize is an event: the row follows the API without a reload
  let last = '';
  await waitFor(async () => {
    const c = (await d.ok('GET', '/v0/vnfm/components')).components.find((x) => x.name === 'provisioning');
    last = `API ${JSON.stringify(c)}, shown ${await row.textContent()}`;
    return c.resizes > 0 &&
      await row.locator('td[data-label="Threads"]').textContent() === `${c.threads} (${c.min} to ${c.max})` &&
      (await row.locator('td[data-label="Resizes"]').textContent()).startsWith(`${c.resizes} (last `);
  }, 30000, 'the row as the API says').catch((e) => { throw new Error(`${e.message}: ${last}`); });
  assert.equal(await page.locator('[data-ha]').count(), 0, 'a manager on its own is no cluster');
});

test('on-boarding: a bad descriptor shows the error at its field, the fixed one is listed', async () => {
  const good = readFileSync(join(VNFDS, 'demo-web.json'), 'utf8');
  const bad = good.replace('"vcpu": 0.5', '"vcpu": 100');
  assert.notEqual(bad, good);
  await page.click('nav a[href="#/vnfds"]');
  await page.click('text=On-board VNFD…');
  await page.fill('dialog textarea', bad);
  await page.click('dialog button[type=submit]');
  const err = page.locator('dialog .field-error');
  await err.waitFor();
  assert.match(await err.textContent(), /vdus\[0\]\.vcpu/);
  // the line of the field, as it is in the text
  const line = bad.split('\n').findIndex((l) => l.includes('"vcpu": 100')) + 1;
  assert.equal(await page.getAttribute('dialog pre.excerpt', 'data-line'), String(line));
  assert.match(await page.textContent('dialog pre.excerpt'), /"vcpu": 100/);
  assert.equal(await page.getAttribute('dialog textarea', 'aria-invalid'), 'true');
  await screenshot(page, 'onboard-error');
  await page.fill('dialog textarea', good);
  await page.click('dialog button[type=submit]');
  await page.locator('dialog').waitFor({state: 'detached'});
  await page.locator('tr[data-vnfd="demo-web"]').waitFor();
});

test('deploy: the VI appears and becomes running without a reload', async () => {
  await page.evaluate(() => { window.__same = 1; });
  await page.click('tr[data-vnfd="demo-web"] button');
  await page.fill('dialog input[data-field="name"]', 'web1');
  await page.fill('dialog input[data-field="params.greeting"]', 'hello from the console');
  await page.click('dialog button[type=submit]');
  await page.locator('dialog').waitFor({state: 'detached'});
  await page.locator('.op-progress', {hasText: 'deploy web1'}).waitFor();
  await page.click('nav a[href="#/deployments"]');
  await page.click('tr[data-deployment="web1"] a');
  await viState(page, 'web1/web/0', 'running');
  await page.locator('.op-progress', {hasText: 'completed'}).waitFor({timeout: 90000});
  const dep = await d.ok('GET', '/v0/deployments/web1');
  const vi = dep.vis[0];
  const row = page.locator('tr[data-vi="web1/web/0"]');
  assert.equal(await row.locator('td[data-label="Address"]').textContent(), vi.ip);
  assert.equal(await row.locator('td[data-label="PID"]').textContent(), String(vi.pid));
  assert.equal(dep.params.greeting, 'hello from the console');
  assert.equal(await page.evaluate(() => window.__same), 1, 'the page was not reloaded');
  await screenshot(page, 'deployment');
});

test('a killed VNF process: the heal shows in the events and the decisions with its reason', async () => {
  const {pid} = (await d.ok('GET', '/v0/deployments/web1')).vis[0];
  process.kill(pid, 'SIGKILL');
  await page.locator('tr[data-vi="web1/web/0"] td[data-label="Restarts"]', {hasText: '1'})
    .waitFor({timeout: 60000});
  await viState(page, 'web1/web/0', 'running');
  const newPid = (await d.ok('GET', '/v0/deployments/web1')).vis[0].pid;
  assert.notEqual(newPid, pid);
  await page.locator('tr[data-vi="web1/web/0"] td[data-label="PID"]', {hasText: String(newPid)}).waitFor();

  await page.click('nav a[href="#/events"]');
  await page.selectOption('select[data-key="log-category"]', 'lifecycle');
  await page.fill('input[data-key="log-object"]', 'web1');
  await page.locator('table.events td', {hasText: `process ${pid} killed by signal 9`}).first().waitFor();

  await page.click('nav a[href="#/decisions"]');
  const decision = page.locator('li.decision', {hasText: 'process-exit'}).first();
  await decision.waitFor({timeout: 30000});
  assert.match(await decision.locator('.reason').textContent(), new RegExp(`process ${pid} killed by signal 9`));
  await decision.locator('.badge', {hasText: 'completed'}).first().waitFor({timeout: 60000});
  assert.match(await decision.textContent(), /heal/);
  await screenshot(page, 'decisions');
});

test('scale out and in (with confirmation)', async () => {
  await page.goto(`${d.url}/ui/#/deployments/web1`);
  await page.locator('#conn', {hasText: 'live'}).waitFor();
  await page.click('text=Scale out web');
  await viState(page, 'web1/web/1', 'running');
  await page.locator('.op-progress', {hasText: 'scale out web1/web'}).locator('.badge', {hasText: 'completed'})
    .waitFor({timeout: 60000});
  await page.locator('button', {hasText: 'Scale in web'}).and(page.locator(':enabled')).waitFor();
  await page.click('text=Scale in web');
  // nothing happens before the confirmation
  await page.locator('dialog', {hasText: 'Scale in web1?'}).waitFor();
  assert.equal((await d.ok('GET', '/v0/deployments/web1')).vis.length, 2);
  await page.click('dialog button[type=submit]');
  await page.locator('tr[data-vi="web1/web/1"]').waitFor({state: 'detached', timeout: 60000});
  assert.equal((await d.ok('GET', '/v0/deployments/web1')).vis.length, 1);
});

test('one VI restarted from its row (with confirmation); Heal only when a VI is down', async () => {
  await page.goto(`${d.url}/ui/#/deployments/web1`);
  await page.locator('#conn', {hasText: 'live'}).waitFor();
  const {pid} = (await d.ok('GET', '/v0/deployments/web1')).vis[0];
  const row = page.locator('tr[data-vi="web1/web/0"]');
  await row.locator('td[data-label="PID"]', {hasText: String(pid)}).waitFor();
  assert.equal(await page.locator('button', {hasText: /^Heal$/}).isDisabled(), true, 'every VI runs');
  await row.locator('button', {hasText: 'Restart'}).click();
  // nothing happens before the confirmation
  await page.locator('dialog', {hasText: 'Restart web1/web/0?'}).waitFor();
  assert.match(await page.locator('dialog').textContent(), new RegExp(`Its process ${pid} is stopped`));
  assert.equal((await d.ok('GET', '/v0/deployments/web1')).vis[0].pid, pid);
  await page.click('dialog button[type=submit]');
  await page.locator('.op-progress', {hasText: 'restart web1/web/0'}).locator('.badge', {hasText: 'completed'})
    .waitFor({timeout: 60000});
  const now = (await d.ok('GET', '/v0/deployments/web1')).vis[0];
  assert.notEqual(now.pid, pid);
  await row.locator('td[data-label="PID"]', {hasText: String(now.pid)}).waitFor();
  await viState(page, 'web1/web/0', 'running');
});

test('metrics chart live; rules edited with the error at its field; resize', async () => {
  await d.ok('POST', '/v0/vnfds', JSON.parse(readFileSync(join(VNFDS, 'demo-autoscale.json'), 'utf8')));
  await d.deploy({name: 'auto1', vnfd: 'demo-autoscale'});
  // the monitor keeps a history of each series before any page asks for it
  const history = async () =>
    (await d.ok('GET', '/v0/deployments/auto1/metrics?metric=cpu')).metrics.cpu?.vis[0]?.history.length ?? 0;
  await waitFor(async () => (await history()) >= 5, 60000, '5 CPU values in the history');
  await page.goto(`${d.url}/ui/#/deployments/auto1`);
  // CPU and memory of the VI (cgroup probes, every second), as numbers and charts that
  // start from the history and grow
  const points = (metric) => page.evaluate((sel) =>
    document.querySelector(sel)?.getAttribute('points').split(' ').length ?? 0,
  `tr[data-metric="${metric}/auto1/web/0"] svg.spark polyline`);
  await page.locator('tr[data-metric="cpu/auto1/web/0"] svg.spark').waitFor({timeout: 30000});
  const first = await points('cpu');
  assert.ok(first >= 5, `the CPU chart starts from the history: ${first} points when first shown`);
  assert.ok(await points('memory') >= 5, 'the memory chart starts from the history');
  await waitFor(async () => (await points('cpu')) > first, 30000, 'the CPU chart grows');
  assert.match(await page.textContent('tr[data-metric="memory/auto1/web/0"] td[data-label="Last"]'), /^[0-9.]+%$/);
  await page.locator('tr[data-rule="overloaded"]').first().waitFor();
  await page.evaluate(() => [...document.querySelectorAll('h2')].find((e) => e.textContent === 'Metrics').scrollIntoView());
  await screenshot(page, 'metrics');

  await page.click('text=Edit rules…');
  const text = await page.inputValue('dialog textarea');
  const bad = text.replace('"threshold": 1000', '"threshold": "lots"');
  assert.notEqual(bad, text);
  await page.fill('dialog textarea', bad);
  await page.click('dialog button[type=submit]');
  await page.locator('dialog .field-error', {hasText: 'threshold'}).waitFor();
  const line = bad.split('\n').findIndex((l) => l.includes('"threshold": "lots"')) + 1;
  assert.equal(await page.getAttribute('dialog pre.excerpt', 'data-line'), String(line));
  const doc = JSON.parse(text);
  doc.rules = doc.rules.filter((r) => r.name === 'process-died');
  await page.fill('dialog textarea', JSON.stringify(doc, null, 2));
  await page.click('dialog button[type=submit]');
  await page.locator('dialog').waitFor({state: 'detached'});
  await page.locator('tr[data-rule="overloaded"]').first().waitFor({state: 'detached'});
  await page.locator('tr[data-rule="process-died"]').first().waitFor();
  assert.deepEqual((await d.ok('GET', '/v0/deployments/auto1')).rules.map((r) => r.name), ['process-died']);

  await page.click('text=Resize…');
  await page.fill('dialog input[data-field="vcpu"]', '5');
  await page.click('dialog button[type=submit]');
  await page.locator('dialog .field-error', {hasText: 'vcpu_max'}).waitFor();
  assert.equal(await page.getAttribute('dialog input[data-field="vcpu"]', 'aria-invalid'), 'true');
  await page.fill('dialog input[data-field="vcpu"]', '1');
  await page.click('dialog button[type=submit]');
  await page.locator('.op-progress', {hasText: 'resize auto1/web'}).locator('.badge', {hasText: 'completed'})
    .waitFor({timeout: 60000});
  await page.locator('tr[data-vi="auto1/web/0"] td[data-label="vCPU"]', {hasText: /^1$/}).waitFor();
});

test('an operation paused in failed_temp: rolled back, then failed, from its page', async () => {
  const vnfd = JSON.parse(readFileSync(join(VNFDS, 'demo-web.json'), 'utf8'));
  vnfd.id = 'broken-web';
  vnfd.vdus[0].command = ['no-such-vnf-binary'];
  vnfd.retry = {attempts: 2, backoff_ms: 20};
  await d.ok('POST', '/v0/vnfds', vnfd);
  // a SOL003 task pauses where it fails (docs/SOL003.md)
  const inst = await d.ok('POST', '/vnflcm/v1/vnf_instances', {vnfdId: 'broken-web'});
  const paused = async () => {
    await d.ok('POST', `/vnflcm/v1/vnf_instances/${inst.id}/instantiate`, {flavourId: 'default'});
    const {operation} = await d.ok('GET', `/v0/deployments/${inst.id}`);
    const op = await d.waitOp(operation);
    assert.equal(op.state, 'failed_temp', JSON.stringify(op));
    await page.click('nav a[href="#/operations"]');
    await page.click(`tr[data-operation="${op.id}"] a[href^="#/operations/"]`);
    await page.locator('h1', {hasText: 'failed temp'}).waitFor();
    await page.locator('li[data-stage] .error-text, p.error-text', {hasText: 'no-such-vnf-binary'}).first().waitFor();
    return op;
  };
  let op = await paused();
  await page.click('text=Roll back…');
  await page.locator('dialog', {hasText: `Roll back ${op.id}?`}).waitFor();
  assert.equal((await d.ok('GET', `/v0/operations/${op.id}`)).state, 'failed_temp');
  await page.click('dialog button[type=submit]');
  await page.locator('h1', {hasText: 'rolled back'}).waitFor({timeout: 60000});
  await page.locator('button', {hasText: 'Retry'}).waitFor({state: 'detached'});

  op = await paused();
  await page.click('text=Fail…');
  await page.click('dialog button[type=submit]');
  await page.locator('h1 .badge', {hasText: /^failed$/}).waitFor({timeout: 30000});
  assert.equal((await d.ok('GET', `/v0/operations/${op.id}`)).state, 'failed');
  await d.ok('POST', `/vnflcm/v1/vnf_instances/${inst.id}/terminate`, {terminationType: 'FORCEFUL'});
});

test('a running operation cancelled from its page stops in failed_temp; Retry completes it', async () => {
  // a custom action that runs until the test opens its gate (at most 60 s),
  // so that the operation is surely running when Cancel is clicked
  const opened = join(d.dir, 'gate.open');
  const gate = join(d.scripts, 'gate.sh');
  writeFileSync(gate, `#!/bin/sh\nfor i in $(seq 1200); do [ -e ${opened} ] && exit 0; sleep 0.05; done\nexit 1\n`,
    {mode: 0o755});
  const vnfd = JSON.parse(readFileSync(join(VNFDS, 'demo-web.json'), 'utf8'));
  vnfd.id = 'gated-web';
  vnfd.lifecycle = {post_deployment: [{script: gate}]};
  await d.ok('POST', '/v0/vnfds', vnfd);
  const op = await d.ok('POST', '/v0/deployments', {name: 'gated1', vnfd: 'gated-web'});
  await waitFor(async () => (await d.ok('GET', `/v0/operations/${op.id}`)).stage === 'post_deployment',
    60000, 'the deploy in its post_deployment stage');
  await page.goto(`${d.url}/ui/#/operations/${op.id}`);
  await page.locator('h1 .badge', {hasText: 'processing'}).waitFor();
  await page.click('button:text-is("Cancel")');
  // asked, it stops once the action in flight has ended
  await page.locator('p.note', {hasText: 'Cancel requested (GRACEFUL)'}).waitFor();
  assert.equal((await d.ok('GET', `/v0/operations/${op.id}`)).state, 'processing');
  writeFileSync(opened, '');
  await page.locator('h1 .badge', {hasText: 'failed temp'}).waitFor({timeout: 60000});
  await page.locator('p.error-text', {hasText: 'cancelled (GRACEFUL)'}).waitFor();
  await page.locator('button:text-is("Cancel")').waitFor({state: 'detached'});
  assert.equal((await d.ok('GET', '/v0/deployments/gated1')).operation, op.id, 'the deployment stays busy');
  // Retry runs the stage again: the gate is open now
  await page.click('button:text-is("Retry")');
  await page.locator('h1 .badge', {hasText: 'completed'}).waitFor({timeout: 60000});
  const dep = await d.ok('GET', '/v0/deployments/gated1');
  assert.equal(dep.status, 'active');
  assert.equal(dep.operation, null);
});

test('values from the API render as text, never as HTML', async () => {
  const vnfd = JSON.parse(readFileSync(join(VNFDS, 'demo-web.json'), 'utf8'));
  vnfd.id = 'xss-web';
  vnfd.description = XSS;
  await d.ok('POST', '/v0/vnfds', vnfd);
  // a VNF instance named so through SOL003, and a parameter
  await d.ok('POST', '/vnflcm/v1/vnf_instances', {vnfdId: 'xss-web', vnfInstanceName: XSS});
  await d.deploy({name: 'xss1', vnfd: 'xss-web', params: {greeting: XSS}});
  await page.click('nav a[href="#/deployments"]');
  await page.locator('td', {hasText: XSS}).first().waitFor();
  await page.click('tr[data-deployment="xss1"] a');
  await page.locator('dd', {hasText: XSS}).waitFor();
  await page.click('nav a[href="#/vnfds"]');
  await page.locator('tr[data-vnfd="xss-web"] td', {hasText: XSS}).waitFor();
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(page.errors, []);
});

test('a tenant sees only its objects; the admin sees all', async () => {
  await d.ok('POST', '/v0/tenants', {id: 'acme'});
  const tok = (await d.ok('POST', '/v0/tenants/acme/tokens', {})).token;
  await d.ok('POST', '/v0/vnfds', JSON.parse(readFileSync(join(VNFDS, 'demo-web.json'), 'utf8')
    .replace('"demo-web"', '"acme-web"')), tok);
  await d.deploy({name: 'acme1', vnfd: 'acme-web'}, tok);
  const t = await signedIn(b, d, tok);
  assert.match(await t.textContent('header'), /tenant acme/);
  await t.click('nav a[href="#/deployments"]');
  await t.locator('tr[data-deployment="acme1"]').waitFor();
  assert.deepEqual(await t.locator('tr[data-deployment]').evaluateAll((rows) => rows.map((r) => r.dataset.deployment)), ['acme1']);
  await t.click('nav a[href="#/events"]');
  await t.locator('table.events td', {hasText: 'acme1'}).first().waitFor();
  const objects = await t.locator('table.events td[data-label="Object"]').allTextContents();
  assert.ok(objects.every((o) => !o.includes('web1') && !o.includes('xss1')), objects.join(', '));
  await t.goto(`${d.url}/ui/#/deployments/web1`);
  await t.locator('main', {hasText: 'not visible to this token'}).waitFor();
  await t.context().close();

  await page.click('nav a[href="#/deployments"]');
  await page.locator('tr[data-deployment="acme1"] td[data-label="Tenant"]', {hasText: 'acme'}).waitFor();
  assert.ok(await page.locator('tr[data-deployment="web1"]').count());
});

test('undeploy asks first, then the deployment goes', async () => {
  await page.goto(`${d.url}/ui/#/deployments/web1`);
  await page.locator('#conn', {hasText: 'live'}).waitFor();
  await page.click('text=Undeploy…');
  await page.locator('dialog', {hasText: 'Undeploy web1?'}).waitFor();
  await page.click('dialog button:has-text("Cancel")');
  assert.equal((await d.request('GET', '/v0/deployments/web1')).status, 200);
  await page.click('text=Undeploy…');
  await page.click('dialog button[type=submit]');
  await page.locator('.op-progress', {hasText: 'undeploy web1'}).locator('.badge', {hasText: 'completed'})
    .waitFor({timeout: 60000});
  await page.click('nav a[href="#/deployments"]');
  await page.locator('tr[data-deployment="web1"]').waitFor({state: 'detached'});
  assert.equal((await d.request('GET', '/v0/deployments/web1')).status, 404);
});

test('a live update keeps the caret and the selection of the field being typed in', async () => {
  await page.click('nav a[href="#/events"]');
  const field = page.locator('input[data-key="log-object"]');
  await field.waitFor();
  // typed and selected in one go: live updates draw the page anew meanwhile
  await page.evaluate(async () => {
    const {draw} = await import('/ui/app.js');
    const f = document.querySelector('input[data-key="log-object"]');
    f.focus();
    f.value = 'web';
    f.dispatchEvent(new Event('input'));
    f.select();
    f.dataset.old = '1';
    draw();
  });
  await page.locator('input[data-key="log-object"]:not([data-old])').waitFor();
  await page.keyboard.press('Delete'); // what fill('') does after selecting the text
  assert.equal(await field.inputValue(), '');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.key), 'log-object');
});

test('the event stream reconnects after a restart of the manager and misses nothing', async () => {
  await page.click('nav a[href="#/events"]');
  await page.selectOption('select[data-key="log-category"]', '');
  await page.fill('input[data-key="log-object"]', '');
  await d.stop();
  await page.locator('#conn', {hasText: 'reconnecting'}).waitFor();
  await d.start();
  await d.deploy({name: 'after1', vnfd: 'demo-web'});
  await page.locator('#conn', {hasText: 'live'}).waitFor({timeout: 30000});
  await page.locator('table.events td[data-label="Object"]', {hasText: 'after1'}).first().waitFor();
  // every record once, in order, with none missing since the page opened
  const seqs = await page.evaluate(async () => (await import('/ui/app.js')).S.events.map((e) => e.seq));
  const log = (await d.ok('GET', `/v0/logs?after=${seqs[0] - 1}&limit=10000`)).logs.map((e) => e.seq);
  assert.deepEqual(seqs, log.slice(0, seqs.length));
  assert.ok(seqs.length > 10);
});

test('keyboard only: sign in, move between views, open and close a dialog', async () => {
  const ctx = await b.newContext({viewport: {width: 1280, height: 800}});
  const k = await ctx.newPage();
  await k.goto(`${d.url}/ui/`);
  await k.keyboard.type(d.token); // the token field has the focus
  await k.keyboard.press('Enter');
  await k.locator('#conn', {hasText: 'live'}).waitFor();
  // Tab until a control is reached, then Enter
  const reach = async (text) => {
    for (let i = 0; i < 40; i++) {
      await k.keyboard.press('Tab');
      if ((await k.evaluate(() => document.activeElement?.textContent?.trim())) === text) return;
    }
    assert.fail(`${text} cannot be reached with Tab`);
  };
  await k.keyboard.press('Tab'); // the first stop: past the header and the menu
  assert.equal(await k.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await reach('Deployments');
  await k.keyboard.press('Enter');
  await k.waitForURL(/#\/deployments$/);
  await reach('Deploy…');
  // a live update draws the view anew: the focus stays on the button
  await k.evaluate(() => { document.querySelector('main h1').dataset.old = '1'; });
  const vnfd = JSON.parse(readFileSync(join(VNFDS, 'demo-web.json'), 'utf8'));
  vnfd.id = 'kbd-web';
  await d.ok('POST', '/v0/vnfds', vnfd);
  await k.locator('main h1:not([data-old])').waitFor();
  assert.equal(await k.evaluate(() => document.activeElement.textContent), 'Deploy…');
  await k.keyboard.press('Enter');
  await k.locator('dialog[open]').waitFor();
  await k.keyboard.press('Escape');
  await k.locator('dialog').waitFor({state: 'detached'});
  await ctx.close();
});

test('screenshots at desktop and phone widths', async () => {
  await page.click('nav a[href="#/"]');
  await page.locator('tr[data-site="local"]').waitFor();
  // the manager's own count of deployments by status, whatever page the list is on; SOL003
  // instances not instantiated (of the tests above) among them
  const counts = {};
  for (const x of (await d.ok('GET', '/v0/deployments')).deployments) counts[x.status] = (counts[x.status] || 0) + 1;
  assert.ok(counts.not_instantiated, JSON.stringify(counts));
  for (const [st, n] of Object.entries(counts))
    await page.locator('p[data-counts]', {hasText: `${st.replace(/_/g, ' ')} ${n}`}).waitFor();
  await screenshot(page, 'overview-desktop');
  const phone = await signedIn(b, d, d.token, {width: 390, height: 844});
  await phone.click('nav a[href="#/deployments"]');
  await phone.locator('tr[data-deployment="after1"]').waitFor();
  // a phone shows the table as cards: no sideways scrolling
  assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
  await screenshot(phone, 'deployments-phone');
  await phone.context().close();
});
