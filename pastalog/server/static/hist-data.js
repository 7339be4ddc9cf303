// The records of one histogram name: fetched thinned from GET /api/v1/histograms,
// live records of the websocket's "histogram" events folded in by step, and their
// quantiles computed once per record.
import * as api from './api.js';
import { num, numColumn } from './format.js';
import { recordQuantiles } from './quantiles.js';
import { debounce } from './dom.js';

/** Records asked for per name; live records past twice this re-fetch a thinned set. */
export const LIMIT = 200;

/**
 * One record of the API (or a websocket event) → numbers: {step, time, edges, counts,
 * min, max, count, sum, sumsq, nan, posinf, neginf, q}. Throws TypeError on a record
 * whose edges and counts do not fit together.
 */
export function parseRecord(r) {
  const edges = numColumn(r.edges), counts = numColumn(r.counts);
  // a record of no finite value has no bins at all (docs/API.md)
  const fits = edges.length === counts.length + 1 || (edges.length === 0 && counts.length === 0);
  if (!fits || !Number.isFinite(num(r.step))) {
    throw new TypeError(`a histogram record needs a step and one edge more than counts: step ${r.step}, ` +
      `${edges.length} edges, ${counts.length} counts`);
  }
  for (let i = 1; i < edges.length; i++) {
    if (!(edges[i] >= edges[i - 1])) throw new TypeError(`histogram edges must increase: ${edges[i - 1]}, ${edges[i]} at step ${r.step}`);
  }
  const rec = {
    step: num(r.step), time: num(r.time), edges, counts,
    min: num(r.min), max: num(r.max), count: num(r.count), sum: num(r.sum), sumsq: num(r.sumsq),
    nan: num(r.nan) || 0, posinf: num(r.posinf) || 0, neginf: num(r.neginf) || 0,
  };
  rec.q = recordQuantiles(rec);
  return rec;
}

export class HistData {
  /** @param {object} o {model, name, onChange(), onError(message)} */
  constructor(o) {
    this.o = o;
    this.records = [];       // in step order (a step logged twice: in arrival order)
    this.total = 0;          // records the store has in range (the server's "total" plus live ones since)
    this.range = null;       // [x0, x1]: steps zoomed to (fetched thinned within them), or null: all
    this.loading = false;
    this.loaded = false;
    this.error = null;
    this.dropped = 0;        // records that could not be read
    this._early = [];        // live records that came while a fetch was under way
    this._abort = null;
    this._zoomLoad = debounce(() => this.load(), 150);   // once the zoom gesture ends
    this._thinTimer = null;
  }

  /** Zoom to steps [x0, x1] (null: all): fetch the records there, thinned anew. */
  setRange(range) {
    const same = String(range) === String(this.range);
    this.range = range ? [Math.floor(range[0]), Math.ceil(range[1])] : null;
    if (!same) this._zoomLoad();
  }

  async load() {
    if (this._abort) this._abort.abort();
    const abort = this._abort = new AbortController();
    this.loading = true;
    this._early = [];
    try {
      const r = await api.getHistograms(this.o.model, this.o.name,
        { limit: LIMIT, x0: this.range && this.range[0], x1: this.range && this.range[1] }, abort.signal);
      if (abort.signal.aborted) return;
      const recs = [];
      for (const x of r.records || []) {
        try { recs.push(parseRecord(x)); } catch (e) { this.dropped++; console.warn('pastalog:', e.message); }
      }
      recs.sort((a, b) => a.step - b.step);
      this.records = recs;
      this.total = num(r.total) || recs.length;
      this.error = null;
      // live records the answer may have missed: those after its last one
      const last = recs.at(-1);
      for (const rec of this._early) {
        if (!last || rec.step > last.step || (rec.step === last.step && rec.time > last.time)) this._insert(rec);
      }
    } catch (e) {
      if (abort.signal.aborted) return;
      this.error = e.message;
      if (this.o.onError) this.o.onError(e.message);
    } finally {
      if (this._abort === abort) { this._abort = null; this.loading = false; this.loaded = true; this._early = []; }
    }
    this.o.onChange();
  }

  /** A live "histogram" event of this name. */
  add(ev) {
    let rec;
    try { rec = parseRecord(ev); } catch (e) { this.dropped++; console.warn('pastalog:', e.message); return; }
    if (this.range && !(rec.step >= this.range[0] && rec.step <= this.range[1])) return;   // zoomed elsewhere
    if (this.loading) this._early.push(rec);
    this._insert(rec);
    this.total++;
    // too many held: fetch a thinned set again, within a second however fast records come
    if (this.records.length > 2 * LIMIT && !this._thinTimer) {
      this._thinTimer = setTimeout(() => { this._thinTimer = null; this.load(); }, 1000);
    }
    this.o.onChange();
  }

  /** Insert in step order, after the records of the same step. */
  _insert(rec) {
    const a = this.records;
    let lo = 0, hi = a.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (a[m].step <= rec.step) lo = m + 1; else hi = m; }
    a.splice(lo, 0, rec);
  }

  /** Index of the record whose step is nearest `step` (-1 when there is none). */
  nearest(step) {
    const a = this.records;
    if (!a.length) return -1;
    let lo = 0, hi = a.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (a[m].step < step) lo = m + 1; else hi = m; }
    if (lo === a.length) return lo - 1;
    if (lo > 0 && step - a[lo - 1].step <= a[lo].step - step) return lo - 1;
    return lo;
  }

  /** NaN / +inf / −inf totals over the records held. */
  nonFinite() {
    const t = { nan: 0, posinf: 0, neginf: 0 };
    for (const r of this.records) { t.nan += r.nan; t.posinf += r.posinf; t.neginf += r.neginf; }
    return t;
  }

  destroy() {
    this._zoomLoad.cancel();
    clearTimeout(this._thinTimer);
    if (this._abort) this._abort.abort();
  }
}
