// The REST API and the event stream, with the operator's token. The token
// is kept in sessionStorage (gone when the tab closes) and only ever sent
// in the Authorization header: never in a URL.

const KEY = 'vnfm.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

// An answer of the API: {status, doc}; doc is the JSON body or null. A
// network failure is status 0 with a message.
export async function api(method, path, body, tok = token.get()) {
  const headers = {Authorization: `Bearer ${tok}`, Accept: 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (e) {
    return {status: 0, doc: {error: 'network', message: `the manager did not answer (${e.message})`}};
  }
  const text = await res.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch { doc = {message: text}; }
  if (res.status === 401) api.onUnauthorized?.(doc);
  return {status: res.status, doc};
}

// The event log as server-sent events (GET /v0/events), read with fetch so
// that the token goes in a header (EventSource cannot send one). It
// reconnects by itself with a backoff and resumes after the last record it
// delivered (Last-Event-ID), so nothing is missed or seen twice.
export class EventStream {
  constructor({after, onRecord, onState}) {
    this.last = after;
    this.onRecord = onRecord;
    this.onState = onState;
    this.backoff = 500;
    this.stopped = false;
    this.ctl = null;
  }

  start() { this.connect(); return this; }

  stop() {
    this.stopped = true;
    this.ctl?.abort();
    clearTimeout(this.timer);
  }

  async connect() {
    if (this.stopped) return;
    this.ctl = new AbortController();
    const headers = {Authorization: `Bearer ${token.get()}`, Accept: 'text/event-stream'};
    if (this.last !== undefined && this.last !== null) headers['Last-Event-ID'] = String(this.last);
    this.onState('connecting');
    try {
      const res = await fetch('/v0/events', {headers, signal: this.ctl.signal, cache: 'no-store'});
      if (res.status === 401 || res.status === 403) {
        this.onState('refused', res.status);
        if (res.status === 401) api.onUnauthorized?.();
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      this.onState('live');
      this.backoff = 500;
      await this.read(res.body.getReader());
    } catch (e) {
      if (this.stopped) return;
    }
    if (this.stopped) return;
    this.onState('reconnecting', this.backoff);
    this.timer = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 10000);
  }

  async read(reader) {
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      buf += dec.decode(value, {stream: true});
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        this.message(buf.slice(0, end));
        buf = buf.slice(end + 2);
      }
    }
  }

  // One message: "id:", "event:" and "data:" lines (comments start with ':').
  message(block) {
    let id = null, data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'data') data += (data ? '\n' : '') + value;
    }
    if (!data) return;
    let rec;
    try { rec = JSON.parse(data); } catch { return; }
    if (id !== null) this.last = Number(id);
    this.onRecord(rec);
  }
}
