// The console of a cloud VNFM (docs/FEDERATION.md, docs/CONSOLE.md): its
// branch managers with their reachability and load, each branch site's pool
// load and the moves the pool decides, on real managers (a cloud and a branch
// that joins it, keeping service endpoints; simulated sites: no VNF runs, and
// a simulated VI uses half of its memory, so loads do not depend on the
// machine).
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {Daemon, browser, signedIn, screenshot, waitFor} from './harness.mjs';

let cloud, branch, b, page;

// An address of the host's for the branch's service endpoints (not loopback:
// docs/FEDERATION.md "The service endpoint"): that of the default route's
// device, else the first global one.
function hostAddress() {
  const dev = execFileSync('ip', ['-4', '-o', 'route', 'show', 'default'], {encoding: 'utf8'}).match(/ dev (\S+)/)?.[1];
  const addrs = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global', ...(dev ? ['dev', dev] : [])],
    {encoding: 'utf8'});
  return addrs.match(/inet (\d+\.\d+\.\d+\.\d+)/)[1];
}

before(async () => {
  cloud = await new Daemon('--role', 'cloud', '--site', 'cloud', '--site-driver', 'sim').start();
  const {token} = await cloud.ok('POST', '/v0/join-tokens', {site: 'b1'});
  branch = await new Daemon('--site', 'b1', '--site-driver', 'sim', '--cloud-url', cloud.url,
    '--fed-insecure', '--join-token', token, '--service-address', hostAddress()).start();
  b = await browser();
});

after(async () => {
  await b?.close();
  try {
    await cloud?.undeployAll();
    await branch?.stop();
    await cloud?.stop();
  } finally {
    for (const d of [branch, cloud]) {
      d?.kill9();
      await d?.exited;
      d?.cleanup();
    }
  }
});

const cell = (label, text, row = 'tr[data-manager]') =>
  page.locator(`${row} td[data-label="${label}"]`, {hasText: text}).waitFor({timeout: 30000});

test('a cloud VNFM shows its branch managers, reachable with their load', async () => {
  page = await signedIn(b, cloud);
  await page.locator('h2', {hasText: 'Branch managers'}).waitFor();
  await cell('Site', 'b1');
  await cell('State', 'active');
  await cell('Reachable', 'yes');
  // the weighed load and each of its parts (docs/FEDERATION.md "Elastic managers")
  // the manager policy's judging of it, in words (no policy: no streak)
  await cell('Judging', /^no streak$/);
  await cell('Load', /^[\d.]+ \(vnfs \d+, vis \d+, probes_per_s [\d.]+, ops_running \d+, ops_queued \d+, cpu [\d.]+, memory_mb [\d.]+\)$/);
  // the branch's site, as its manager reports it
  await page.locator('tr[data-site="b1"] td[data-label="Driver"]', {hasText: 'branch'}).waitFor();
});

test('a branch site\'s pool load, and the pool moving a deployment to the cloud', async () => {
  await branch.ok('PUT', '/v0/sites/b1', {capacity: {memory_mb: 2000}});
  await cloud.ok('POST', '/v0/vnfds', {id: 'pool-web', vdus: [{id: 'web', command: ['vnf-demo', '--listen', '{{ip}}:8080'],
    vcpu: 0.1, memory_mb: 600, ready: {tcp: 8080, timeout_s: 10}}]});
  await cloud.deploy({name: 'big', vnfd: 'pool-web', site: 'b1'});
  // what the branch reports: its VIs use 300 MB of 2000, hold 600; the WAN to the cloud
  const pool = 'tr[data-pool-site="b1"]';
  await cell('Memory used', 'Memory 300 MB of 2000 MB (15%)', pool);
  await cell('Allocated', '0.1 vCPU, 600 MB', pool);
  await cell('Disk used', /^Disk 0 MB of \d+ MB \(0%\)$/, pool);
  await cell('Managers', /^1$/, pool);
  await cell('Deployments', /^1$/, pool);
  await cell('CPU used', /^CPU [\d.]+ cores of 8 cores \(\d+%\)$/, pool);
  await cell('WAN', /^latency [\d.]+ ms, rtt [\d.]+ ms, loss [\d.]+%, \d+ kbit\/s; [1-9]\d* reports, 0 failed$/, pool);
  await cell('Pool', 'load 15%; no pool policy', pool);
  await cell('Judging', /^no pool policy$/, pool);
  await page.locator('section', {hasText: 'Moves'}).locator('td.empty', {hasText: 'No moves.'}).waitFor();

  // over a policy that does not act yet (10,000 reports), then one that does
  await cloud.ok('PUT', '/v0/sites/b1/pool', {overload: 0.1, for_reports: 10000});
  await cell('Pool', 'overloaded: load 15%, above 10%', pool);
  // the pool's judging in words: the streak of reports over the policy (GET /v0/sites/b1/pool)
  await cell('Judging', /^over for [1-9]\d* reports? \(needs 10000\)$/, pool);
  // the branch's own manager counted too: a candidate, refused (a simulated site's manager cannot move)
  await cloud.ok('PUT', '/v0/sites/b1/pool', {overload: 0.1, for_reports: 2, cooldown_s: 600, count_manager: true});
  const move = page.locator('tr[data-move]');
  await move.locator('td[data-label="State"]', {hasText: 'completed'}).waitFor({timeout: 60000});
  assert.equal(await move.locator('td[data-label="Deployment"]').textContent(), 'big');
  assert.equal(await move.locator('td[data-label="From"]').textContent(), 'b1');
  assert.equal(await move.locator('td[data-label="To"]').textContent(), 'cloud');
  const [decision] = (await cloud.ok('GET', '/v0/decisions?rule=pool')).decisions;
  assert.equal(decision.state, 'completed', JSON.stringify(decision));
  assert.equal(await move.locator('td[data-label="Why"]').textContent(), `decision ${decision.id} of rule pool`);
  // the decision, with its state and reason in words
  const item = page.locator(`li[data-decision="${decision.id}"]`);
  await item.locator('.badge', {hasText: 'completed'}).waitFor({timeout: 30000});
  assert.match(await item.textContent(), /Rule pool completed at site b1: move/);
  assert.match(await item.locator('.reason').textContent(), /^Why: load 0\.\d+ of branch b1 above overload 0\.1 for 2 reports/);
  assert.match(await item.textContent(), /Chosen:big → cloud op-\w+: chosen: it uses 0\.01 vCPU, 300 MB memory and 0 MB disk/);
  assert.match(await item.textContent(), /Not done:grow: the policy allows no capacity change/);
  assert.match(await item.textContent(), /Rejected:manager mgr-\w+: busy: manager mgr-\w+ cannot move: its site's VIs are not its process VIM's/);
  // the branch is left with nothing
  await cell('Pool', /^normal: load \d(\.\d+)?%, overloaded above 10%$/, pool);
  // the decision taken, the site cools down for its 600 s
  await cell('Judging', /; cooling down, (59\d|600) s left$/, pool);
  await cell('Deployments', /^0$/, pool);
  const big = await cloud.ok('GET', '/v0/deployments/big');
  assert.equal(big.site, 'cloud');
  await page.evaluate(() => [...document.querySelectorAll('h2')].find((e) => e.textContent === 'Branch managers').scrollIntoView());
  await screenshot(page, 'estate');
  // the deployment's page says where it went, when, why, and where its clients go
  await page.click('tr[data-move] td[data-label="Deployment"] a');
  const last = page.locator('p[data-last-move]');
  await last.locator('.badge', {hasText: 'completed'}).waitFor();
  assert.match(await last.textContent(), new RegExp(`^Last move: b1 → cloud completed ${big.move.operation} · started [\\d:]+ · ` +
    `by decision ${decision.id} of rule pool · service endpoint ${big.service_endpoint.replace(/\./g, '\\.')}$`));
  // the operator moves it back from its page, the operation followed to its end
  await page.click('button:has-text("Move…")');
  await page.selectOption('dialog select[data-field="site"]', 'b1');
  await page.click('dialog button[type=submit]');
  await waitFor(async () => (await cloud.ok('GET', '/v0/deployments/big')).site === 'b1', 60000, 'big back at b1');
  await page.locator('p[data-last-move]', {hasText: /^Last move: cloud → b1 completed/}).waitFor({timeout: 30000});
  assert.deepEqual(page.errors, []);
  await page.evaluate(() => { location.hash = '#/'; });
  // a branch manager on a simulated site cannot move to the cloud: the dialog says why
  await page.click('tr[data-manager] button:has-text("Move to cloud…")');
  await page.click('dialog button[type=submit]');
  await page.locator('dialog .form-error', {hasText: /cannot move: its site's VIs are not its process VIM's/}).waitFor();
  await page.click('dialog button:has-text("Cancel")');
  assert.equal((await cloud.ok('GET', '/v0/managers')).managers[0].move ?? null, null);

  // undeployed in the cloud, it takes its endpoint at the branch with it
  await cloud.undeployAll();
  await waitFor(async () => !execFileSync('nft', ['list', 'tables'], {encoding: 'utf8'}).includes(`vnfm_ep_${branch.tag}`),
    30000, 'the branch\'s endpoint table gone');
});

test('a branch manager that stops reporting turns unreachable', async () => {
  await branch.stop(); // no more reports: unreachable once it has missed enough
  await cell('Reachable', 'no');
  await cell('State', 'unreachable');
  const [m] = (await cloud.ok('GET', '/v0/managers')).managers;
  assert.equal(m.reachable, false);
});
