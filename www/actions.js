// What an operator does from the console: each action is a request of the
// REST API; its errors are shown at the field they name, and an operation
// it starts is followed until it ends (app.js watch). Destructive actions
// ask for confirmation first.
import {h} from './dom.js';
import {api} from './api.js';
import {S, draw, watch, reload} from './app.js';
import {locate} from './jsonpos.js';

// A modal dialog with a form; submit(form) returns true to close it.
function dialog(title, fields, submitText, submit, opts = {}) {
  const general = h('p', {class: 'form-error', role: 'alert'});
  const form = h('form', {method: 'dialog', novalidate: true},
    h('h2', {id: 'dialog-title'}, title),
    fields, general,
    h('div', {class: 'buttons'},
      h('button', {type: 'submit', class: opts.danger ? 'danger' : null}, submitText),
      h('button', {type: 'button', onclick: () => dlg.close()}, 'Cancel')));
  const dlg = h('dialog', {'aria-labelledby': 'dialog-title'}, form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      if (await submit(form, general)) dlg.close();
    } finally {
      btn.disabled = false;
    }
  });
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  form.querySelector('.form-error').textContent = '';
}

// An error at its field: the input whose data-field is the error's field
// (or the nearest enclosing one), else the form's general message.
function showError(form, general, doc, status) {
  const msg = doc?.message || `HTTP ${status}`;
  const field = doc?.field;
  let input = null;
  if (field) {
    const inputs = [...form.querySelectorAll('[data-field]')];
    input = inputs.find((i) => i.dataset.field === field) ||
      inputs.filter((i) => field.startsWith(`${i.dataset.field}.`) || field.startsWith(`${i.dataset.field}[`))
        .sort((a, b) => b.dataset.field.length - a.dataset.field.length)[0];
  }
  if (!input) {
    general.textContent = msg;
    return;
  }
  fieldError(input, msg);
}

function fieldError(input, msg, extra) {
  const id = `${input.id || 'f'}-error`;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', id);
  input.after(h('div', {class: 'field-error', id, role: 'alert'}, msg, extra || null));
  input.focus();
}

function field(label, input, hint) {
  return h('div', {class: 'field'}, h('label', {for: input.id}, label), hint ? h('p', {class: 'hint'}, hint) : null, input);
}

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

// A lifecycle request answered 202 with its operation: followed.
async function operate(method, path, body, what, form, general) {
  const {status, doc} = await api(method, path, body);
  if (status === 202 && doc?.id) {
    watch(doc, what);
    return true;
  }
  if (form) showError(form, general, doc, status);
  else alertBox(`${what}: ${doc?.message || `HTTP ${status}`}`);
  return false;
}

function alertBox(message) {
  dialog('Refused', h('p', {role: 'alert'}, message), 'Close', async () => true);
}

function confirm(title, text, button, act) {
  dialog(title, h('p', null, text), button, act, {danger: true});
}

// ---- on-boarding ----

function onboard() {
  const text = h('textarea', {id: nextId('vnfd'), rows: 18, spellcheck: 'false',
    placeholder: '{"id": "my-vnf", "vdus": [...]}'});
  const file = h('input', {id: nextId('file'), type: 'file', accept: '.json,application/json',
    onchange: async () => { if (file.files[0]) text.value = await file.files[0].text(); }});
  dialog('On-board a VNFD', [
    field('Descriptor (JSON, docs/VNFD.md)', text),
    field('or upload a file', file),
  ], 'On-board', async (form, general) => {
    const doc = parsed(text);
    if (!doc) return false;
    const {status, doc: res} = await api('POST', '/v0/vnfds', doc);
    if (status === 201) {
      reload.vnfds();
      return true;
    }
    return textError(form, general, text, res, status);
  });
}

// The JSON of a text area, or null with the parser's error under it.
function parsed(text) {
  try {
    return JSON.parse(text.value);
  } catch (e) {
    fieldError(text, `Not JSON: ${e.message}`);
    return null;
  }
}

// An error about a JSON text: at the line of the member it names, shown
// under the editor and selected in it. Returns false.
function textError(form, general, text, res, status) {
  const where = res?.field ? locate(text.value, res.field) : null;
  if (!where) {
    showError(form, general, res, status);
    return false;
  }
  const lines = text.value.split('\n');
  fieldError(text, `${res.message}`,
    h('pre', {class: 'excerpt', 'data-line': where.line},
      `line ${where.line}: ${lines[where.line - 1].trim()}`));
  text.setSelectionRange(where.start, where.end);
  return false;
}

// ---- deploying ----

async function deploy(vnfdId) {
  if (!S.vnfds.length) await reload.vnfds();
  const pick = vnfdId || S.vnfds[0]?.id;
  const name = h('input', {id: nextId('name'), 'data-field': 'name', required: true, autocomplete: 'off'});
  const vnfd = h('select', {id: nextId('vnfd'), 'data-field': 'vnfd'},
    S.vnfds.map((v) => h('option', {value: v.id, selected: v.id === pick}, v.id)));
  const site = h('select', {id: nextId('site'), 'data-field': 'site'},
    h('option', {value: ''}, 'default'),
    S.sites.map((s) => h('option', {value: s.id}, s.id)));
  const tenants = S.me.admin ? (await api('GET', '/v0/tenants')).doc?.tenants || [] : [];
  const tenant = S.me.admin ? h('select', {id: nextId('tenant'), 'data-field': 'tenant'},
    h('option', {value: ''}, 'default'),
    tenants.map((t) => h('option', {value: t.id}, t.id))) : null;
  const params = h('fieldset', {'data-field': 'params'}, h('legend', null, 'Parameters'));
  const instances = h('fieldset', {'data-field': 'instances'}, h('legend', null, 'Instances per VDU'));

  // the parameters and VDUs of the chosen descriptor
  async function fill() {
    params.replaceChildren(h('legend', null, 'Parameters'));
    instances.replaceChildren(h('legend', null, 'Instances per VDU'));
    if (!vnfd.value) return;
    const {status, doc} = await api('GET', `/v0/vnfds/${encodeURIComponent(vnfd.value)}`);
    if (status !== 200) return;
    const desc = doc.descriptor || {};
    for (const [k, p] of Object.entries(desc.params || {})) {
      const input = h('input', {id: nextId('param'), 'data-field': `params.${k}`, 'data-param': k,
        'data-type': p.type || 'string', placeholder: p.default === undefined ? '' : String(p.default)});
      params.append(field(`${k}${p.description ? ` (${p.description})` : ''}`, input));
    }
    for (const v of desc.vdus || []) {
      const input = h('input', {id: nextId('inst'), type: 'number', min: 0, 'data-field': `instances.${v.id}`,
        'data-vdu': v.id, placeholder: String(v.scaling?.initial ?? 1)});
      instances.append(field(v.id, input));
    }
  }
  vnfd.addEventListener('change', fill);
  dialog('Deploy', [field('Name', name, 'letters, digits, ".", "_" or "-"'), field('VNFD', vnfd),
    field('Site', site), tenant ? field('Tenant', tenant) : null, params, instances],
  'Deploy', async (form, general) => {
    const body = {name: name.value.trim(), vnfd: vnfd.value};
    if (site.value) body.site = site.value;
    if (tenant?.value) body.tenant = tenant.value;
    for (const input of params.querySelectorAll('[data-param]')) {
      if (input.value === '') continue;
      const n = Number(input.value);
      (body.params ||= {})[input.dataset.param] =
        ['integer', 'number'].includes(input.dataset.type) && input.value.trim() !== '' && !isNaN(n) ? n : input.value;
    }
    for (const input of instances.querySelectorAll('[data-vdu]'))
      if (input.value !== '') (body.instances ||= {})[input.dataset.vdu] = Number(input.value);
    return operate('POST', '/v0/deployments', body, `deploy ${body.name}`, form, general);
  });
  await fill();
  name.focus();
}

// ---- on a deployment ----

function scale(d, vdu, delta) {
  const go = () => operate('POST', `/v0/deployments/${encodeURIComponent(d.id)}/scale`, {vdu, delta},
    `scale ${delta > 0 ? 'out' : 'in'} ${d.id}/${vdu}`);
  if (delta > 0) return go();
  confirm(`Scale in ${d.id}?`, `This destroys the highest-numbered VI of ${vdu}.`, `Scale in ${vdu}`, go);
}

// Heal: the VIs not running; with vi, that one (running: restarted, once confirmed).
function heal(d, vi) {
  const path = `/v0/deployments/${encodeURIComponent(d.id)}/heal`;
  if (!vi) return operate('POST', path, {}, `heal ${d.id}`);
  const go = () => operate('POST', path, {vi: vi.id}, `restart ${vi.name}`);
  if (vi.state !== 'running') return go();
  confirm(`Restart ${vi.name}?`, `Its process ${vi.pid} is stopped and started again in the same VI (address ${vi.ip || '-'} kept).`,
    `Restart ${vi.name}`, go);
}

function undeploy(d) {
  confirm(`Undeploy ${d.id}?`,
    `Every VI of ${d.id} is stopped and destroyed, with its namespace and cgroup. This cannot be undone.`,
    `Undeploy ${d.id}`,
    () => operate('DELETE', `/v0/deployments/${encodeURIComponent(d.id)}`, undefined, `undeploy ${d.id}`));
}

// On a cloud VNFM: the deployment moves to another site of the estate,
// make-before-break (POST .../move, docs/FEDERATION.md "Moves between a
// branch and the cloud"); the operation is followed like any other.
function move(d) {
  const sites = S.sites.filter((s) => s.id !== d.site);
  const site = h('select', {id: nextId('site'), 'data-field': 'site'},
    sites.map((s) => h('option', {value: s.id}, s.id)));
  dialog(`Move ${d.id}`, [h('p', null, `From site ${d.site}: a copy starts at the site chosen and takes ` +
    'its clients over once it passes its probes; then the one here is undeployed. A step that fails ' +
    'leaves this one serving.'), field('To site', site)], 'Move', (form, general) =>
    operate('POST', `/v0/deployments/${encodeURIComponent(d.id)}/move`, {site: site.value},
      `move ${d.id} to ${site.value}`, form, general));
}

// On a cloud VNFM: a branch manager moves to the cloud's host, or back to
// its branch (POST /v0/managers/ID/move, docs/FEDERATION.md "Moving a
// branch manager to the cloud"); its move shows in the managers' table.
function moveManager(m, to) {
  const back = to === m.site;
  dialog(back ? `Move ${m.id} back` : `Move ${m.id} to the cloud`, h('p', null, back
    ? `Manager ${m.id} goes back to its branch ${m.site}: the one in the cloud hands its store to the ` +
      'agent there, which becomes the manager again. Its VNFs keep running.'
    : `Manager ${m.id} of site ${m.site} moves to this cloud VNFM's host (site ${to}): its process at the ` +
      'branch becomes the VIM agent of its site. Its VNFs keep running.'),
  'Move', async (form, general) => {
    const {status, doc} = await api('POST', `/v0/managers/${encodeURIComponent(m.id)}/move`, {site: to});
    if (status !== 202) {
      showError(form, general, doc, status);
      return false;
    }
    reload.managers();
    return true;
  });
}

// New CPU and memory limits of a VDU's VIs, within its vertical bounds.
function resize(d) {
  const vdus = Object.keys(d.instances || {});
  const vdu = h('select', {id: nextId('vdu'), 'data-field': 'vdu'}, vdus.map((v) => h('option', {value: v}, v)));
  const vcpu = h('input', {id: nextId('vcpu'), type: 'number', step: 'any', 'data-field': 'vcpu'});
  const mem = h('input', {id: nextId('mem'), type: 'number', step: 1, 'data-field': 'memory_mb'});
  dialog(`Resize ${d.id}`, [field('VDU', vdu), field('vCPU', vcpu, 'empty: unchanged'),
    field('Memory (MB)', mem, 'empty: unchanged')], 'Resize', (form, general) => {
    const body = {vdu: vdu.value};
    if (vcpu.value !== '') body.vcpu = Number(vcpu.value);
    if (mem.value !== '') body.memory_mb = Number(mem.value);
    return operate('POST', `/v0/deployments/${encodeURIComponent(d.id)}/resize`, body,
      `resize ${d.id}/${body.vdu}`, form, general);
  });
}

// The deployment's monitoring and rules, replaced at once (PUT .../rules).
function rules(d) {
  const text = h('textarea', {id: nextId('rules'), rows: 20, spellcheck: 'false'});
  text.value = JSON.stringify({monitoring: d.monitoring ?? {}, rules: d.rules ?? []}, null, 2);
  dialog(`Rules of ${d.id}`, field('Monitoring and rules (JSON, docs/MONITORING.md); they take effect at once',
    text), 'Save', async (form, general) => {
    const body = parsed(text);
    if (!body) return false;
    const {status, doc} = await api('PUT', `/v0/deployments/${encodeURIComponent(d.id)}/rules`, body);
    if (status === 200) {
      reload.deployment(d.id);
      return true;
    }
    return textError(form, general, text, doc, status);
  });
}

// ---- on an operation ----

function operationButtons(o, cancelling = false) {
  const path = (a) => `/v0/operations/${encodeURIComponent(o.id)}/${a}`;
  const act = async (a, body) => {
    const {status, doc} = await api('POST', path(a), body || {});
    if (status === 202 && doc?.id) watch(doc, `${a} ${o.id}`);
    else if (status !== 200) alertBox(`${a}: ${doc?.message || `HTTP ${status}`}`);
    reload.operation(o.id);
  };
  const b = [];
  if (['starting', 'processing', 'rolling_back'].includes(o.state) && !cancelling)
    b.push(h('button', {type: 'button', onclick: () => act('cancel')}, 'Cancel'));
  if (o.state === 'failed_temp') {
    b.push(h('button', {type: 'button', onclick: () => act('retry')}, 'Retry'));
    b.push(h('button', {type: 'button', class: 'danger', onclick: () => confirm(`Roll back ${o.id}?`,
      'What the operation added is destroyed.', 'Roll back', () => act('rollback').then(() => true))}, 'Roll back…'));
    b.push(h('button', {type: 'button', class: 'danger', onclick: () => confirm(`Fail ${o.id}?`,
      'The operation ends failed and its deployment is released as it is.', 'Fail', () => act('fail').then(() => true))}, 'Fail…'));
  }
  return b.length ? h('div', {class: 'toolbar', role: 'group', 'aria-label': 'Operation actions'}, b) : null;
}

export const actions = {onboard, deploy, scale, heal, resize, rules, undeploy, move, moveManager,
  operationButtons};
