// What the page knows about runs (a "model" in the API's words): config, tags, notes,
// status, provenance and each series' last/min/max, from GET /api/v1/runs, kept
// current by the websocket's `run` and `points` events. A server without the runs
// API (404) still gives one bare run per model of the catalog.
import * as api from './api.js';
import { num } from './format.js';

/** A RUN of the API with the fields the page reads always present. */
export function normalizeRun(r) {
  const series = {};
  for (const [k, s] of Object.entries(r.series || {})) {
    series[k] = { last: num(s.last), min: s.min == null ? null : num(s.min), max: s.max == null ? null : num(s.max),
      count: s.count ?? 0, last_step: s.last_step ?? null };
  }
  return {
    model: String(r.model),
    status: r.status ?? null,
    error: r.error ?? null,
    config: r.config && typeof r.config === 'object' ? r.config : {},
    tags: Array.isArray(r.tags) ? r.tags.map(String) : [],
    notes: typeof r.notes === 'string' ? r.notes : '',
    provenance: r.provenance ?? null,
    start: r.start ?? null,
    end: r.end ?? null,
    heartbeat: r.heartbeat ?? null,
    restarts: Array.isArray(r.restarts) ? r.restarts : [],
    series,
    series_count: r.series_count ?? Object.keys(series).length,
  };
}

export class RunsStore {
  constructor(catalog) {
    this.catalog = catalog;
    this.runs = new Map();         // model → normalized RUN
    this.listeners = new Set();
    this.loaded = false;
    this.available = null;         // false once the server answered 404 (no runs API)
    this.version = 0;              // bumped on every change (views re-derive lazily)
    this._loading = null;
  }

  /** fn({models, structural}): models = the runs that changed (null: all of them). */
  on(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  _emit(models, structural) {
    this.version++;
    for (const fn of this.listeners) fn({ models, structural });
  }

  /** Load (once; `force` loads again); resolves when the runs are known. */
  load(force = false) {
    if (this._loading && !force) return this._loading;
    const p = this._load();
    this._loading = p;
    p.catch(() => { if (this._loading === p) this._loading = null; });   // a later call tries again
    return p;
  }

  async _load() {
    let list;
    try {
      list = await api.getRuns();
      this.available = true;
    } catch (e) {
      if (!(e instanceof api.ApiError) || e.status !== 404) throw e;
      this.available = false;
      list = this.catalog.modelNames().map(m => ({ model: m }));
    }
    const next = new Map();
    for (const r of list) next.set(String(r.model), normalizeRun(r));
    if (!this.available) this._fillFromCatalog(next);
    this.runs = next;
    this.loaded = true;
    this._emit(null, true);
  }

  _fillFromCatalog(map) {
    for (const name of this.catalog.modelNames()) {
      const run = map.get(name) || normalizeRun({ model: name });
      const m = this.catalog.model(name);
      for (const s of m.series.values()) {
        if (!run.series[s.name]) run.series[s.name] = { last: s.last_value, min: null, max: null, count: s.count, last_step: s.last_step };
      }
      map.set(name, run);
    }
  }

  /**
   * The server reports a running run "crashed" once its heartbeat (every ~15 s) is
   * stale, but sends no event then: ask again about running runs not heard from
   * for `quietS` seconds, oldest first, at most 20 a tick and each at most every `quietS`.
   */
  watchStale(everyMs = 5000, quietS = 5) {
    const asked = new Map();
    this._watch = setInterval(() => {
      if (!this.available) return;
      const now = Date.now() / 1000;
      const quiet = this.list().filter(r => r.status === 'running'
        && (r.heartbeat ?? r.start ?? 0) < now - quietS && (asked.get(r.model) ?? 0) < now - quietS);
      quiet.sort((a, b) => (a.heartbeat ?? 0) - (b.heartbeat ?? 0));
      for (const r of quiet.slice(0, 20)) {
        asked.set(r.model, now);
        api.getRun(r.model).then(run => { if (run.status !== r.status) this.put(run); }, () => {});
      }
    }, everyMs);
  }

  _refetchSoon(model) {
    this._refetch = this._refetch || new Map();
    if (this._refetch.has(model)) return;
    this._refetch.set(model, setTimeout(() => {
      this._refetch.delete(model);
      api.getRun(model).then(run => this.put(run), () => {});
    }, 1500));
  }

  get(model) { return this.runs.get(model) || null; }

  list() { return [...this.runs.values()]; }

  /** Steps where a run restarted (re-run under the same name), for chart markers. */
  restartSteps(model) {
    const r = this.runs.get(model);
    return r && r.restarts.length ? r.restarts.map(x => x.step).filter(Number.isFinite) : [];
  }

  /** Replace one run with the server's answer (PATCH). */
  put(run) {
    const fresh = normalizeRun(run);
    const old = this.runs.get(fresh.model);
    // the same object stays (views hold it), with the new fields
    const r = old ? Object.assign(old, fresh) : fresh;
    this.runs.set(r.model, r);
    this._emit([r.model], !old);
    return r;
  }

  /** Websocket events: `run` (fields that changed), `points` (last/min/max), `deleted`. */
  apply(events) {
    if (!this.loaded) return;
    const changed = new Set();
    let structural = false;
    for (const ev of events) {
      if (ev.type === 'run' && ev.model != null) {
        const model = String(ev.model);
        let r = this.runs.get(model);
        if (!r) { r = normalizeRun({ model }); this.runs.set(model, r); structural = true; }
        const { type, model: _m, ...fields } = ev;
        if (fields.series) {
          fields.series = normalizeRun({ model, series: fields.series }).series;
          fields.series = { ...r.series, ...fields.series };
        }
        if (fields.config && typeof fields.config === 'object') fields.config = { ...r.config, ...fields.config };
        // run events carry no restarts: a run whose status or end changed (started,
        // or ran again and finished) may have restarted; ask once its points are in
        // (the server sends one event per run and request: running→finished may be one)
        const moved = Object.keys(r.series).length > 0 && r.status !== 'running'
          && (fields.status !== r.status || (fields.end ?? null) !== r.end);
        Object.assign(r, normalizeRun({ ...r, ...fields }));
        if (moved) this._refetchSoon(model);
        changed.add(model);
      } else if (ev.type === 'points' && ev.model != null) {
        let r = this.runs.get(ev.model);
        if (!r) { r = normalizeRun({ model: ev.model }); this.runs.set(ev.model, r); structural = true; }
        let s = r.series[ev.series];
        if (!s) { s = r.series[ev.series] = { last: NaN, min: null, max: null, count: 0, last_step: null }; structural = true; }
        const steps = ev.steps || [], values = ev.values || [];
        for (let i = 0; i < steps.length; i++) {
          const v = num(values[i]);
          if (s.last_step == null || steps[i] >= s.last_step) { s.last_step = steps[i]; s.last = v; }
          if (!Number.isNaN(v)) {
            if (s.min == null || v < s.min) s.min = v;
            if (s.max == null || v > s.max) s.max = v;
          }
        }
        s.count += steps.length;
        if (r.status === 'running' && ev.times && ev.times.length) r.end = Math.max(r.end ?? 0, ...ev.times.map(num));
        changed.add(ev.model);
      } else if (ev.type === 'refresh' && ev.model != null) {
        const r = this.runs.get(ev.model);
        const s = r && r.series[ev.series];
        if (s) { s.last = num(ev.last_value); s.last_step = ev.last_step; s.count = ev.count; changed.add(ev.model); }
      } else if (ev.type === 'deleted' && ev.model != null) {
        const r = this.runs.get(ev.model);
        if (!r) continue;
        if (ev.series != null) { delete r.series[ev.series]; changed.add(ev.model); structural = true; }
        else if (ev.image == null) { this.runs.delete(ev.model); structural = true; changed.add(ev.model); }
      }
    }
    if (changed.size) this._emit([...changed], structural);
  }
}
