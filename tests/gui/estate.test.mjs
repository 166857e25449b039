// The console of a cloud VNFM (docs/FEDERATION.md, docs/CONSOLE.md): its
// branch managers with their reachability and load, on real managers (a
// cloud and a branch that joins it; simulated sites, so no VNF runs).
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {Daemon, browser, signedIn, screenshot} from './harness.mjs';

let cloud, branch, b, page;

before(async () => {
  cloud = await new Daemon('--role', 'cloud', '--site', 'cloud', '--site-driver', 'sim').start();
  const {token} = await cloud.ok('POST', '/v0/join-tokens', {site: 'b1'});
  branch = await new Daemon('--site', 'b1', '--site-driver', 'sim', '--cloud-url', cloud.url,
    '--fed-insecure', '--join-token', token).start();
  b = await browser();
});

after(async () => {
  await b?.close();
  try {
    await branch?.stop();
    await cloud?.stop();
  } finally {
    branch?.kill9();
    cloud?.kill9();
  }
});

const cell = (label, text) =>
  page.locator(`tr[data-manager] td[data-label="${label}"]`, {hasText: text}).waitFor({timeout: 30000});

test('a cloud VNFM shows its branch managers, reachable with their load, then not', async () => {
  page = await signedIn(b, cloud);
  await page.locator('h2', {hasText: 'Branch managers'}).waitFor();
  await cell('Site', 'b1');
  await cell('State', 'active');
  await cell('Reachable', 'yes');
  // the weighed load and each of its parts (docs/FEDERATION.md "Elastic managers")
  await cell('Load', /^[\d.]+ \(vnfs \d+, vis \d+, probes_per_s [\d.]+, ops_running \d+, ops_queued \d+, cpu [\d.]+, memory_mb [\d.]+\)$/);
  // the branch's site, as its manager reports it
  await page.locator('tr[data-site="b1"] td[data-label="Driver"]', {hasText: 'branch'}).waitFor();
  await screenshot(page, 'estate');

  await branch.stop(); // no more reports: unreachable once it has missed enough
  await cell('Reachable', 'no');
  await cell('State', 'unreachable');
  const [m] = (await cloud.ok('GET', '/v0/managers')).managers;
  assert.equal(m.reachable, false);
});
