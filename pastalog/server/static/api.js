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

async function send(method, url, signal, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(url, { method, signal, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body) });
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

async function call(method, url, signal) {
  try {
    return await send(method, url, signal);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    await unlock();
    return send(method, url, signal);
  }
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null) p.set(k, String(v));
  }
  return p.toString();
}

/**
 * Every model with every series: the server answers a page of models at a time, each
 * with its first series (docs/API.md); both are followed to the end.
 */
export async function getModels(signal) {
  const models = [];
  let after = null;
  do {
    const r = await call('GET', `/api/v1/models?${qs({ limit: 10000, after })}`, signal);
    models.push(...r.models);
    after = r.next;
  } while (after != null);
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
 * One bucket answer of the server (docs/API.md, buckets=N) as
 * {level, width, countTotal, seq, cols} with numeric columns (Float64Array).
 */
export function parseBuckets(r) {
  const b = r.buckets || {};
  const cols = {};
  for (const k of ['x0', 'x1', 's0', 's1', 'count', 'nans', 'min', 'max', 'first', 'last', 'mean', 't0', 't1']) {
    cols[k] = numColumn(b[k] || []);
  }
  return { level: r.level, width: r.width, countTotal: r.count_total, seq: r.seq, cols };
}

// Whole-series requests made in the same tick for the same series and size go to the
// server as one GET /api/v1/buckets (the overview asks for 50 models at once on load).
const MAX_MODELS = 50;
const waiting = new Map();

function flushWaiting(key) {
  const group = waiting.get(key);
  waiting.delete(key);
  for (let i = 0; i < group.items.length; i += MAX_MODELS) {
    const items = group.items.slice(i, i + MAX_MODELS);
    const p = new URLSearchParams({ series: group.series, buckets: String(group.n) });
    for (const it of items) p.append('model', it.model);
    call('GET', `/api/v1/buckets?${p}`).then(answer => {
      answer.results.forEach((r, j) => {
        if (r.error) items[j].reject(new ApiError(404, r.error));
        else items[j].resolve(parseBuckets(r));
      });
    }, err => items.forEach(it => it.reject(err)));
  }
}

/**
 * Aggregates of one series for a chart: N buckets over steps [x0, x1] (both optional).
 * Returns parseBuckets()'s {level, width, countTotal, seq, cols}.
 */
export async function getBuckets(model, series, buckets, x0, x1, signal) {
  const n = Math.max(1, Math.round(buckets));
  if (x0 == null && x1 == null) {
    const key = `${n}\u0000${series}`;
    if (!waiting.has(key)) {
      waiting.set(key, { series, n, items: [] });
      setTimeout(() => flushWaiting(key), 0);
    }
    return new Promise((resolve, reject) => waiting.get(key).items.push({ model, resolve, reject }));
  }
  return parseBuckets(await call('GET', `/api/v1/series?${qs({
    model, series, buckets: n,
    x0: x0 == null ? null : Math.floor(x0), x1: x1 == null ? null : Math.ceil(x1),
  })}`, signal));
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
