// Building the page: every value goes in as text (textContent or an
// attribute), never as HTML. The page's Content-Security-Policy requires
// Trusted Types with no policy, so a string given to innerHTML would throw.

// h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', child, [more]) ->
// an element. Attributes starting with "on" become listeners; null,
// undefined and false children and attributes are left out.
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, kids);
  return el;
}

function add(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) add(el, k);
    else if (k instanceof Node) el.append(k);
    else el.append(document.createTextNode(String(k)));
  }
}

// How to find the focused element of el again once el is drawn anew: by its
// data-key, or a button or link by its text (and target).
function finder(el) {
  const a = document.activeElement;
  if (!a || a === el || !el.contains(a)) return null;
  const key = a.getAttribute('data-key');
  if (key) return () => el.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (!a.matches('button, a[href]')) return null;
  const text = a.textContent, href = a.getAttribute('href');
  return () => [...el.querySelectorAll(a.tagName)].find((x) => x.textContent === text && x.getAttribute('href') === href);
}

// Replaces the children of el with nodes, keeping the keyboard focus on the
// same control, and in a text field the caret and the selection (a live
// update must not take them from the operator: a Delete after "select all"
// would otherwise meet a field with nothing selected).
export function replace(el, ...nodes) {
  const find = finder(el);
  const a = document.activeElement;
  const sel = find && typeof a.selectionStart === 'number'
    ? [a.selectionStart, a.selectionEnd, a.selectionDirection] : null;
  el.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  const b = find?.();
  b?.focus({preventScroll: true});
  if (sel && b && b.value === a.value && typeof b.setSelectionRange === 'function') b.setSelectionRange(...sel);
}

// A table: cols are [heading, (row) -> cell content] pairs.
export function table(cols, rows, opts = {}) {
  return h('div', {class: 'scroll'},
    h('table', {class: opts.class || null, 'aria-label': opts.label || null},
      h('thead', null, h('tr', null, cols.map(([name]) => h('th', {scope: 'col'}, name)))),
      h('tbody', null, rows.length
        ? rows.map((r) => h('tr', opts.rowAttrs ? opts.rowAttrs(r) : null,
          cols.map(([name, f]) => h('td', {'data-label': name}, f(r)))))
        : h('tr', null, h('td', {colspan: cols.length, class: 'empty'}, opts.empty || 'none')))));
}

// A state in words and colour: the class is derived from the word, and the
// word is always shown (readable without colour).
export function badge(state) {
  const s = String(state ?? 'unknown');
  const tone = /^(active|running|completed|ok|primary|fired|raised|info)$/.test(s) ? 'good'
    : /^(failed|degraded|exited|error|unreachable|rolled_back|failed_temp|no-credentials|critical|cleared-fail)$/.test(s) ? 'bad'
      : /^(warning|warn|stale|opening|skipped)$/.test(s) ? 'warn' : 'busy';
  return h('span', {class: `badge ${tone}`}, s.replace(/_/g, ' '));
}

// Local time as HH:MM:SS, with the date (YYYY-MM-DD) when older than a day.
// Formatted by hand: the first Intl formatter of a page loads the locale's
// data (150 ms on a loaded machine), and toLocaleTimeString makes a
// formatter at each call (it was most of the first draw of 100 rows).
const two = (n) => String(n).padStart(2, '0');

export function when(t) {
  if (!t) return '';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  const clock = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return Date.now() - d < 86400000 ? clock
    : `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${clock}`;
}

export function link(href, text, attrs = {}) {
  return h('a', {href, ...attrs}, text);
}

// A small line chart of values (oldest first), scaled to its own range
// from 0; its label says what it shows, for those who cannot see it.
export function sparkline(values, label, width = 120, height = 28) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('role', 'img');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('aria-label', label);
  const max = Math.max(...values, 0) || 1;
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const line = document.createElementNS(NS, 'polyline');
  line.setAttribute('points', values.map((v, i) =>
    `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' '));
  svg.append(line);
  return svg;
}
