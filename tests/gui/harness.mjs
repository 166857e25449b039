// Harness of the console's browser tests (docs/CONSOLE.md): a real vnfmd
// on a free port with a subnet of its own (as tests/bb/vnfm.py starts one),
// its REST API, and Debian's Chromium driven by playwright-core.
import {spawn, execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, mkdirSync, openSync, chmodSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {join, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import {randomBytes, randomInt} from 'node:crypto';
import {chromium} from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = join(ROOT, process.env.BUILD || 'build');
export const VNFDS = join(ROOT, 'examples', 'vnfds');
// Screenshots go to build/gui (SCREENSHOTS=docs: into docs/ for CONSOLE.md).
const SHOTS = process.env.SCREENSHOTS === 'docs' ? join(ROOT, 'docs', 'console') : join(BUILD, 'gui');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a true value; throws after timeout ms.
export async function waitFor(fn, timeout = 30000, what = 'condition') {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(100);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const {port} = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

function uniqueSubnet() {
  const routes = execFileSync('ip', ['-4', 'route'], {encoding: 'utf8'});
  for (;;) {
    const net = `10.${randomInt(150, 200)}.${randomInt(0, 256)}`;
    if (!routes.includes(`${net}.`)) return `${net}.0/24`;
  }
}

export class Daemon {
  constructor(...extra) {
    this.extra = extra;
    this.dir = mkdtempSync(join(tmpdir(), 'vnfm-gui-'));
    this.token = randomBytes(16).toString('hex');
    this.subnet = uniqueSubnet();
    this.log = join(this.dir, 'vnfmd.log');
    // --script-dir: what an admin's descriptor names there runs unsandboxed
    // (tests/bb/vnfm.py: not in the data dir, nor in /tmp)
    mkdirSync(join(BUILD, 'gui'), {recursive: true});
    this.scripts = mkdtempSync(join(BUILD, 'gui', 'scripts-'));
    chmodSync(this.scripts, 0o755);
  }

  async start() {
    this.port ||= await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    const out = openSync(this.log, 'a');
    this.proc = spawn(join(BUILD, 'vnfmd'), ['--data-dir', this.dir, '--listen', `127.0.0.1:${this.port}`,
      '--subnet', this.subnet, '--vnf-path', join(BUILD, 'examples'), '--site', 'local',
      '--site-vcpu', '8', '--site-memory-mb', '4096', '--admin-token', this.token,
      '--script-dir', this.scripts, '--log-level', 'debug', ...this.extra],
    {stdio: ['ignore', out, out], env: {...process.env,
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1'}});
    this.exited = new Promise((r) => this.proc.on('exit', (code, sig) => r({code, sig})));
    await waitFor(async () => {
      if (this.proc.exitCode !== null) throw new Error(`vnfmd exited:\n${this.logText()}`);
      try { return (await fetch(`${this.url}/v0/health`)).status > 0; } catch { return false; }
    }, 60000, `vnfmd at ${this.url}`);
    this.tag = (await this.ok('GET', '/v0/version')).instance;
    return this;
  }

  logText() { return readFileSync(this.log, 'utf8'); }

  // SIGTERM; a clean exit and no sanitizer report.
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    const {code} = await this.exited;
    if (code !== 0) throw new Error(`vnfmd exit status ${code}:\n${this.logText().slice(-3000)}`);
    for (const m of ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:'])
      if (this.logText().includes(m)) throw new Error(`sanitizer report in the vnfmd log:\n${this.logText().slice(-5000)}`);
  }

  kill9() {
    if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }

  // What a dead manager left on the host (vnfmd --cleanup: namespaces,
  // cgroups, a branch's endpoint table), after a test that failed half-way.
  cleanup() {
    if (this.tag && this.proc?.exitCode !== null)
      execFileSync(join(BUILD, 'vnfmd'), ['--cleanup', this.tag], {stdio: 'ignore'});
  }

  async request(method, path, body, tok = this.token, headers = {}) {
    const h = {...headers};
    if (tok) h.Authorization = `Bearer ${tok}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const res = await fetch(this.url + path, {method, headers: h,
      body: body === undefined ? undefined : JSON.stringify(body)});
    const text = await res.text();
    let doc = null;
    try { doc = text ? JSON.parse(text) : null; } catch { doc = text; }
    return {status: res.status, doc, headers: res.headers};
  }

  async ok(method, path, body, tok) {
    const r = await this.request(method, path, body, tok);
    if (r.status >= 300) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.doc)}`);
    return r.doc;
  }

  async waitOp(id, timeout = 90000) {
    return waitFor(async () => {
      const op = await this.ok('GET', `/v0/operations/${id}`);
      return ['starting', 'processing', 'rolling_back'].includes(op.state) ? null : op;
    }, timeout, `operation ${id}`);
  }

  async deploy(body, tok) {
    const op = await this.ok('POST', '/v0/deployments', body, tok);
    const end = await this.waitOp(op.id);
    if (end.state !== 'completed') throw new Error(`deploy ${body.name}: ${JSON.stringify(end)}`);
    return end;
  }

  // Undeploys everything, then checks that no namespace of the manager is left.
  async undeployAll() {
    for (let round = 0; round < 20; round++) {
      const {deployments} = await this.ok('GET', '/v0/deployments');
      if (!deployments.length) break;
      for (const d of deployments) {
        if (d.operation) {
          const op = await this.waitOp(d.operation);
          if (op.state === 'failed_temp') await this.request('POST', `/v0/operations/${op.id}/fail`, {});
        }
        const r = await this.request('DELETE', `/v0/deployments/${encodeURIComponent(d.id)}`);
        if (r.status === 202) await this.waitOp(r.doc.id);
      }
    }
    const left = execFileSync('ip', ['netns', 'list'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
      .split('\n').filter((l) => l.startsWith(`vnfm-${this.tag}-`) && !/^vnfm-\w+-slot/.test(l));
    if (left.length) throw new Error(`namespaces left: ${left}`);
  }
}

export async function browser() {
  return chromium.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage']});
}

// A page of the console, signed in with tok, at width x height.
export async function signedIn(b, d, tok = d.token, viewport = {width: 1280, height: 800}) {
  const ctx = await b.newContext({viewport});
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  // script errors and refusals of the CSP; an API answer of 4xx is the browser's own log line
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.errors.push(m.text());
  });
  await page.goto(`${d.url}/ui/`);
  await page.fill('#token', tok);
  await page.click('button[type=submit]');
  await page.locator('#conn', {hasText: 'live'}).waitFor({timeout: 30000});
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(SHOTS, {recursive: true});
  await page.screenshot({path: join(SHOTS, `${name}.png`), fullPage: false});
}
