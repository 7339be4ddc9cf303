// The HTTP API of docs/API.md, nothing more. Every function returns parsed JSON
// or throws ApiError with the server's message.
import { numColumn } from './format.js';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, url, signal) {
  const r = await fetch(url, { method, signal, headers: { Accept: 'application/json' } });
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  if (!r.ok) throw new ApiError(r.status, (body && body.error) || `${r.status} ${r.statusText}`);
  return body;
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null) p.set(k, String(v));
  }
  return p.toString();
}

export function getModels(signal) {
  return call('GET', '/api/v1/models', signal);
}

export function getModel(model, signal) {
  return call('GET', `/api/v1/models/${encodeURIComponent(model)}`, signal);
}

/**
 * Aggregates of one series for a chart: N buckets over steps [x0, x1] (both optional).
 * Returns {level, width, countTotal, cols} with numeric columns (Float64Array).
 */
export async function getBuckets(model, series, buckets, x0, x1, signal) {
  const r = await call('GET', `/api/v1/series?${qs({
    model, series, buckets: Math.max(1, Math.round(buckets)),
    x0: x0 == null ? null : Math.floor(x0), x1: x1 == null ? null : Math.ceil(x1),
  })}`, signal);
  const b = r.buckets || {};
  const cols = {};
  for (const k of ['x0', 'x1', 'count', 'nans', 'min', 'max', 'first', 'last', 'mean', 't0', 't1']) {
    cols[k] = numColumn(b[k] || []);
  }
  return { level: r.level, width: r.width, countTotal: r.count_total, cols };
}

/** Raw points of one series in step order, optionally only steps in [x0, x1]. */
export async function getPoints(model, series, x0, x1, signal) {
  const r = await call('GET', `/api/v1/series?${qs({
    model, series, x0: x0 == null ? null : Math.floor(x0), x1: x1 == null ? null : Math.ceil(x1),
  })}`, signal);
  return { steps: numColumn(r.steps), values: numColumn(r.values), times: numColumn(r.times) };
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
