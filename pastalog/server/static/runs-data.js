// The runs table's data, without DOM: its columns (status, start, duration, tags,
// notes, each config key, each series' last or best value), sorting (numbers
// numerically, strings naturally, nulls last), and filtering (text, /regex/, tags,
// parallel-coordinate brushes). Kept cheap enough for 10,000 runs: values are
// computed once per column and run, sorting compares numbers only.
import { fmtValue, fmtTime, fmtDuration } from './format.js';

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** "best" of a series: the minimum for losses and errors, else the maximum. */
export function lowerIsBetter(series) { return /loss|err/i.test(series); }

/** A config value as the text shown (lists as JSON, booleans and null spelled). */
export function configText(v) {
  if (v === undefined) return '';
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : fmtValue(v);   // as the user wrote it
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** A value for sorting: a finite number, a string, or null (sorted last). */
function sortable(v) {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Seconds a run ran: end (or last heartbeat) − start; a running run counts to now. */
export function duration(run, now = Date.now() / 1000) {
  if (run.start == null) return null;
  const end = run.status === 'running' ? Math.max(now, run.end ?? 0) : (run.end ?? run.heartbeat);
  return end == null ? null : Math.max(0, end - run.start);
}

/** A user's filter text → a predicate over strings: plain text (case-insensitive), or /regex/flags. */
export function textFilter(text) {
  const t = (text || '').trim();
  if (!t) return { test: null, error: null, regex: false };
  const m = /^\/(.*)\/([a-z]*)$/s.exec(t);
  if (m) {
    try {
      const rx = new RegExp(m[1], m[2].replace(/[gy]/g, ''));
      return { test: s => rx.test(s), error: null, regex: true };
    } catch (e) {
      return { test: null, error: `bad regex: ${e.message}`, regex: true };
    }
  }
  const low = t.toLowerCase();
  return { test: s => s.toLowerCase().includes(low), error: null, regex: false };
}

export class RunsModel {
  constructor() {
    this.runs = [];            // in name order
    this.configKeys = [];
    this.seriesNames = [];
    this.metricMode = {};      // series → 'last' | 'best'
    this._vals = new Map();    // column key → array of sortable values (index = run order)
    this._texts = null;        // per run: [name, ...tags, notes, ...config values] as strings
  }

  /** Take a new list of runs (any order); caches are dropped. */
  setRuns(runs) {
    this.runs = runs.slice().sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
    this.index = new Map(this.runs.map((r, i) => [r.model, i]));
    const keys = new Set(), series = new Set();
    for (const r of this.runs) {
      for (const k in r.config) keys.add(k);
      for (const k in r.series) series.add(k);
    }
    this.configKeys = [...keys].sort(collator.compare);
    this.seriesNames = [...series].sort(collator.compare);
    this._keySet = null;
    this.invalidate(null);
  }

  /** Whether every config key and series of a run already has its column. */
  knows(run) {
    if (!this._keySet) { this._keySet = new Set(this.configKeys); this._seriesSet = new Set(this.seriesNames); }
    for (const k in run.config) if (!this._keySet.has(k)) return false;
    for (const k in run.series) if (!this._seriesSet.has(k)) return false;
    return true;
  }

  /** Forget cached values of some runs (null: all of them). */
  invalidate(models) {
    if (models == null || models.length > 50) { this._vals.clear(); this._texts = null; return; }
    for (const m of models) {
      const i = this.index.get(m);
      if (i == null) continue;
      for (const [key, arr] of this._vals) arr[i] = sortable(this.value(key, this.runs[i]));
      if (this._texts) this._texts[i] = this._textsOf(this.runs[i]);
    }
  }

  /** Every column: {key, label, group: 'run'|'config'|'metric', numeric}. */
  columns() {
    const cols = [
      { key: 'status', label: 'status', group: 'run' },
      { key: 'name', label: 'name', group: 'run' },
      { key: 'start', label: 'start', group: 'run', numeric: true },
      { key: 'duration', label: 'duration', group: 'run', numeric: true },
      { key: 'tags', label: 'tags', group: 'run' },
      { key: 'notes', label: 'notes', group: 'run' },
    ];
    for (const k of this.configKeys) cols.push({ key: `c:${k}`, label: k, group: 'config' });
    for (const s of this.seriesNames) {
      const mode = this.metricMode[s] || 'last';
      cols.push({ key: `m:${s}`, label: s, group: 'metric', numeric: true, series: s, mode,
        title: mode === 'best' ? `${s}: best (${lowerIsBetter(s) ? 'minimum' : 'maximum'})` : `${s}: last value` });
    }
    return cols;
  }

  setMetricMode(series, mode) {
    this.metricMode[series] = mode;
    this._vals.delete(`m:${series}`);
  }

  /** The raw value of a column for a run. */
  value(key, run) {
    if (key === 'status') return run.status;
    if (key === 'name') return run.model;
    if (key === 'start') return run.start;
    if (key === 'duration') return duration(run);
    if (key === 'tags') return run.tags.length ? run.tags.join(', ') : null;
    if (key === 'notes') return run.notes || null;
    if (key.startsWith('c:')) return run.config[key.slice(2)];
    if (key.startsWith('m:')) return this.metric(run, key.slice(2));
    return null;
  }

  /** A series' last value, or its best (min or max) when that column is switched to best. */
  metric(run, series) {
    const s = run.series[series];
    if (!s) return null;
    if ((this.metricMode[series] || 'last') === 'last') return s.last;
    return lowerIsBetter(series) ? s.min : s.max;
  }

  /** The text shown in a cell. */
  text(key, run) {
    const v = this.value(key, run);
    if (key === 'start') return fmtTime(v);
    if (key === 'duration') return fmtDuration(v);
    if (key === 'status') return v || '—';
    if (key.startsWith('m:')) return v == null ? '' : fmtValue(v);
    if (key.startsWith('c:')) return configText(v);
    return v == null ? '' : String(v);
  }

  _column(key) {
    let arr = this._vals.get(key);
    if (!arr) {
      arr = this.runs.map(r => sortable(this.value(key, r)));
      this._vals.set(key, arr);
    }
    return arr;
  }

  _textsOf(r) {
    const out = [r.model, ...r.tags];
    if (r.notes) out.push(r.notes);
    for (const k in r.config) out.push(configText(r.config[k]));
    return out;
  }

  /**
   * The rows to show: {rows: [run index...], error}. q = {text, tags: [..],
   * brushes: [pred(run)], sort: {key, dir: 1|-1} | null}.
   */
  query(q) {
    const f = textFilter(q.text);
    const tags = q.tags || [];
    const brushes = q.brushes || [];
    if (f.test && !this._texts) this._texts = this.runs.map(r => this._textsOf(r));
    let rows = [];
    for (let i = 0; i < this.runs.length; i++) {
      const r = this.runs[i];
      if (tags.length && !tags.every(t => r.tags.includes(t))) continue;
      if (f.test && !this._texts[i].some(f.test)) continue;
      if (brushes.length && !brushes.every(b => b(r))) continue;
      rows.push(i);
    }
    if (q.sort && q.sort.key) rows = this.sort(rows, q.sort.key, q.sort.dir);
    return { rows, error: f.error };
  }

  /** Sort run indices by a column: numbers, then strings (natural order), then nulls. */
  sort(rows, key, dir = 1) {
    const vals = this._column(key);
    const nums = [], strs = [], nulls = [];
    for (const i of rows) {
      const v = vals[i];
      if (v === null) nulls.push(i);
      else if (typeof v === 'number') nums.push(i);
      else strs.push(i);
    }
    nums.sort((a, b) => (vals[a] < vals[b] ? -dir : vals[a] > vals[b] ? dir : 0));
    if (strs.length) {
      // rank the distinct strings once with the collator, then sort by rank
      const distinct = [...new Set(strs.map(i => vals[i]))].sort(collator.compare);
      const rank = new Map(distinct.map((s, k) => [s, k]));
      const rk = new Int32Array(vals.length);
      for (const i of strs) rk[i] = rank.get(vals[i]);
      strs.sort((a, b) => (rk[a] - rk[b]) * dir);
    }
    return dir > 0 ? nums.concat(strs, nulls) : strs.concat(nums, nulls);
  }

  /** Distinct values of a config key (for parallel coordinates): {numeric, values}. */
  domain(key) {
    const vals = this._column(key);
    let numeric = true, lo = Infinity, hi = -Infinity;
    const set = new Set();
    for (const v of vals) {
      if (v === null) continue;
      if (typeof v === 'number') { if (v < lo) lo = v; if (v > hi) hi = v; } else numeric = false;
      if (set.size <= 200) set.add(v);
    }
    if (numeric) return { numeric: true, lo, hi, count: set.size };
    return { numeric: false, values: [...set].map(String).sort(collator.compare), count: set.size };
  }

  /** A column's sortable values in run order (for drawing). */
  valuesOf(key) { return this._column(key); }
}
