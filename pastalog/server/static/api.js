// The HTTP API of docs/API.md, nothing more. Every function returns parsed JSON
// or throws ApiError with the server's message.
import { numColumn } from './format.js';
import { tokenDialog } from './dialogs.js';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function send(method, url, signal, body, binary = false) {
  const headers = { Accept: binary ? 'application/vnd.pastalog.buckets' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(url, { method, signal, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (binary && r.ok) return r.arrayBuffer();
  let answer = null;
  try { answer = await r.json(); } catch (_) { answer = null; }
  if (!r.ok) throw new ApiError(r.status, (answer && answer.error) || `${r.status} ${r.statusText}`);
  return answer;
}

// One prompt at a time, however many requests were refused meanwhile.
let unlocking = null;
const lockListeners = new Set();

/** Be told when the token prompt opens (true) and closes (false). */
export function onLockChange(fn) { lockListeners.add(fn); }

/** Whether the page is waiting for the user to type the server's token. */
export function isLocked() { return unlocking !== null; }

/** Ask the user for the server's token; the server keeps it as an HttpOnly cookie. */
function unlock() {
  if (!unlocking) {
    unlocking = tokenDialog(token => send('POST', '/api/v1/session', undefined, { token }))
      .finally(() => { unlocking = null; for (const fn of lockListeners) fn(false); });
    for (const fn of lockListeners) fn(true);
  }
  return unlocking;
}

async function call(method, url, signal, body, binary = false) {
  try {
    return await send(method, url, signal, body, binary);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    await unlock();
    return send(method, url, signal, body, binary);
  }
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null) p.set(k, String(v));
  }
  return p.toString();
}

/** A listing that answers pages {KEY: [...], next}: every page's items, in order. */
async function allPages(path, key, signal) {
  const items = [];
  let after = null;
  do {
    const r = await call('GET', `${path}?${qs({ limit: 10000, after })}`, signal);
    items.push(...r[key]);
    after = r.next;
  } while (after != null);
  return items;
}

/**
 * Every model with every series: the server answers a page of models at a time, each
 * with its first series (docs/API.md); both are followed to the end.
 */
export async function getModels(signal) {
  const models = await allPages('/api/v1/models', 'models', signal);
  for (const m of models) {
    let seriesAfter = m.series_next;
    while (seriesAfter != null) {
      const more = await call('GET', `/api/v1/models/${encodeURIComponent(m.name)}?${qs({
        series_limit: 10000, series_after: seriesAfter })}`, signal);
      m.series.push(...more.series);
      seriesAfter = more.series_next;
    }
  }
  return { models };
}

/**
 * Every run (docs/RUNS: GET /api/v1/runs), following the server's pages to the end:
 * [{model, status, error, config, tags, notes, provenance, start, end, heartbeat,
 *   restarts, series: {name: {last, min, max, count, last_step}}, series_count}].
 */
export function getRuns(signal) {
  return allPages('/api/v1/runs', 'runs', signal);
}

/** One run (RUN), 404 if the model does not exist. */
export function getRun(model, signal) {
  return call('GET', `/api/v1/runs/${encodeURIComponent(model)}`, signal);
}

/** Change a run's tags and/or notes: patch = {tags?: [..], notes?: str}; answers the RUN. */
export function patchRun(model, patch) {
  return call('PATCH', `/api/v1/runs/${encodeURIComponent(model)}`, undefined, patch);
}

// The columns the page keeps of a bucket answer (buckets.js): all but x1, which is
// x0 + width - 1. Asked for in binary (docs/API.md, format=binary): the page views the
// server's float64 columns in place instead of parsing megabytes of digits.
const FIELDS = ['x0', 's0', 's1', 'count', 'nans', 'min', 'max', 'first', 'last', 'mean', 't0', 't1'];
const FIELDS_PARAM = FIELDS.join(',');

/** A JSON bucket answer (docs/API.md) in the form parseBinaryBuckets gives. */
export function parseBuckets(r) {
  const b = r.buckets || {};
  const cols = {};
  for (const k of FIELDS) cols[k] = numColumn(b[k] || []);
  return { level: r.level, width: r.width, countTotal: r.count_total, seq: r.seq, cols };
}

/**
 * A binary bucket answer (PLK1: magic, uint32 header length, JSON header padded to 8
 * bytes, then each result's columns as little-endian float64) as a list of
 * {level, width, countTotal, seq, cols} (cols: Float64Array views) or {error}.
 */
export function parseBinaryBuckets(buf) {
  const view = new DataView(buf);
  const magic = String.fromCharCode(...new Uint8Array(buf, 0, 4));
  if (magic !== 'PLK1') throw new ApiError(500, 'the server sent a chart answer this page cannot read');
  const hlen = view.getUint32(4, true);
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, hlen)));
  let pos = 8 + hlen;
  return head.results.map(r => {
    if (r.n == null) return { error: r.error };
    const cols = {};
    for (const f of head.fields) {
      cols[f] = new Float64Array(buf, pos, r.n);
      pos += 8 * r.n;
    }
    return { level: r.level, width: r.width, countTotal: r.count_total, seq: r.seq, cols };
  });
}

// Whole-series requests made in the same task for the same series and size go to the
// server as GET /api/v1/buckets of up to MAX_MODELS models each (the overview asks for
// every model at once on load). They leave in a microtask, not a timer: a timer would
// wait behind the layout and first paint of the view that asked (hundreds of ms with
// hundreds of legend entries).
const MAX_MODELS = 50;
const waiting = new Map();

function flushWaiting(key) {
  const group = waiting.get(key);
  waiting.delete(key);
  for (let i = 0; i < group.items.length; i += MAX_MODELS) {
    const items = group.items.slice(i, i + MAX_MODELS);
    const p = new URLSearchParams({ series: group.series, buckets: String(group.n),
      fields: FIELDS_PARAM, format: 'binary' });
    for (const it of items) p.append('model', it.model);
    call('GET', `/api/v1/buckets?${p}`, undefined, undefined, true).then(buf => {
      parseBinaryBuckets(buf).forEach((r, j) => {
        if (r.error) items[j].reject(new ApiError(404, r.error));
        else items[j].resolve(r);
      });
    }, err => items.forEach(it => it.reject(err)));
  }
}

/**
 * Aggregates of one series for a chart: N buckets over steps [x0, x1] (both optional).
 * Returns {level, width, countTotal, seq, cols} (parseBinaryBuckets).
 */
export async function getBuckets(model, series, buckets, x0, x1, signal) {
  const n = Math.max(1, Math.round(buckets));
  if (x0 == null && x1 == null) {
    const key = `${n}\u0000${series}`;
    if (!waiting.has(key)) {
      waiting.set(key, { series, n, items: [] });
      queueMicrotask(() => flushWaiting(key));
    }
    return new Promise((resolve, reject) => waiting.get(key).items.push({ model, resolve, reject }));
  }
  return parseBinaryBuckets(await call('GET', `/api/v1/series?${qs({
    model, series, buckets: n,
    x0: x0 == null ? null : Math.floor(x0), x1: x1 == null ? null : Math.ceil(x1),
    fields: FIELDS_PARAM, format: 'binary',
  })}`, signal, undefined, true))[0];
}

/**
 * Raw points of one series in step order, optionally only steps in [x0, x1]: one page
 * of at most `limit` (the server's cap: 100,000); `next` is the cursor of the rest.
 */
export async function getPoints(model, series, x0, x1, signal, { limit = null, after = null } = {}) {
  const r = await call('GET', `/api/v1/series?${qs({
    model, series, x0: x0 == null ? null : Math.floor(x0), x1: x1 == null ? null : Math.ceil(x1),
    limit, after,
  })}`, signal);
  return {
    steps: numColumn(r.steps), values: numColumn(r.values), times: numColumn(r.times),
    next: r.next ?? null,
  };
}

export function getImages(model, name, signal) {
  return call('GET', `/api/v1/images?${qs({ model, name })}`, signal);
}

export function deleteSeries(model, series) {
  return call('DELETE', `/api/v1/series?${qs({ model, series })}`);
}

export function deleteImages(model, name) {
  return call('DELETE', `/api/v1/images?${qs({ model, name })}`);
}

export function deleteModel(model) {
  return call('DELETE', `/api/v1/models/${encodeURIComponent(model)}`);
}

/**
 * Histogram records of one name (docs/API.md): at most `limit` records over steps
 * [x0, x1] (both optional), evenly spread, the first and last kept.
 */
export function getHistograms(model, name, { x0 = null, x1 = null, limit = null } = {}, signal) {
  return call('GET', `/api/v1/histograms?${qs({
    model, name, x0: x0 == null ? null : Math.floor(x0), x1: x1 == null ? null : Math.ceil(x1), limit,
  })}`, signal);
}

export function deleteHistograms(model, name) {
  return call('DELETE', `/api/v1/histograms?${qs({ model, name })}`);
}
