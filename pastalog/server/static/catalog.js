// What exists: models, their series and image names with their latest values, from
// GET /api/v1/models and kept current by websocket events.
import * as api from './api.js';
import { num } from './format.js';

function seriesMeta(s) {
  return { name: s.name, count: s.count, first_step: s.first_step, last_step: s.last_step,
    last_value: num(s.last_value), last_time: s.last_time };
}

export class Catalog {
  constructor() {
    this.models = new Map();      // name → {name, last_time, series: Map, images: Map}
    this.listeners = new Set();
  }

  /** Subscribe to changes: fn({structural}) — structural when names came or went. */
  on(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  _emit(structural) { for (const fn of this.listeners) fn({ structural }); }

  async load() {
    const r = await api.getModels();
    const next = new Map();
    for (const m of r.models || []) {
      next.set(m.name, {
        name: m.name, last_time: m.last_time,
        series: new Map((m.series || []).map(s => [s.name, seriesMeta(s)])),
        images: new Map((m.images || []).map(i => [i.name, { ...i }])),
        histograms: new Map((m.histograms || []).map(x => [x.name, { ...x }])),
      });
    }
    this.models = next;
    this._emit(true);
  }

  model(name) { return this.models.get(name) || null; }

  series(model, name) {
    const m = this.models.get(model);
    return (m && m.series.get(name)) || null;
  }

  modelNames() { return [...this.models.keys()].sort(); }

  /** Every series name of every model, sorted. */
  seriesNames() {
    const s = new Set();
    for (const m of this.models.values()) for (const k of m.series.keys()) s.add(k);
    return [...s].sort();
  }

  /** The series name written most recently (the overview's default statistic). */
  mostRecentSeries() {
    let best = null, bestT = -Infinity;
    for (const m of this.models.values()) {
      for (const s of m.series.values()) {
        const t = s.last_time ?? -Infinity;
        if (best === null || t > bestT) { best = s.name; bestT = t; }
      }
    }
    return best;
  }

  _ensure(model) {
    let m = this.models.get(model);
    let created = false;
    if (!m) {
      m = { name: model, last_time: null, series: new Map(), images: new Map(), histograms: new Map() };
      this.models.set(model, m);
      created = true;
    }
    return [m, created];
  }

  /** Apply a list of websocket events; returns true if names came or went. */
  apply(events) {
    let structural = false;
    for (const ev of events) {
      if (ev.type === 'points') {
        const [m, c] = this._ensure(ev.model);
        structural ||= c;
        let s = m.series.get(ev.series);
        if (!s) {
          s = { name: ev.series, count: 0, first_step: null, last_step: null, last_value: NaN, last_time: null };
          m.series.set(ev.series, s);
          structural = true;
        }
        const steps = ev.steps || [];
        for (let i = 0; i < steps.length; i++) {
          const st = steps[i];
          if (s.first_step == null || st < s.first_step) s.first_step = st;
          if (s.last_step == null || st >= s.last_step) { s.last_step = st; s.last_value = num(ev.values[i]); }
        }
        s.count += steps.length;
        if (ev.times && ev.times.length) {
          s.last_time = Math.max(s.last_time ?? -Infinity, ...ev.times.map(num));
          m.last_time = Math.max(m.last_time ?? -Infinity, s.last_time);
        }
      } else if (ev.type === 'refresh') {
        const [m, c] = this._ensure(ev.model);
        structural ||= c;
        let s = m.series.get(ev.series);
        if (!s) { s = { name: ev.series, first_step: ev.last_step }; m.series.set(ev.series, s); structural = true; }
        s.count = ev.count; s.last_step = ev.last_step; s.last_value = num(ev.last_value);
        s.last_time = Date.now() / 1000;
        m.last_time = s.last_time;
      } else if (ev.type === 'image' || ev.type === 'histogram') {
        // a record of an image or histogram name: the name's count and latest step
        const [m, c] = this._ensure(ev.model);
        const names = ev.type === 'image' ? m.images : m.histograms;
        let x = names.get(ev.name);
        if (!x) { x = { name: ev.name, count: 0, first_step: ev.step }; names.set(ev.name, x); structural = true; }
        structural ||= c;
        x.count += 1;
        if (x.last_step == null || ev.step >= x.last_step) {
          x.last_step = ev.step; x.last_time = ev.time;
          if (ev.type === 'image') x.last_sha = ev.sha;
        }
      } else if (ev.type === 'deleted') {
        const m = this.models.get(ev.model);
        if (!m) continue;
        if (ev.series != null) structural ||= m.series.delete(ev.series);
        else if (ev.image != null) structural ||= m.images.delete(ev.image);
        else if (ev.histogram != null) structural ||= m.histograms.delete(ev.histogram);
        else { this.models.delete(ev.model); structural = true; }
      }
    }
    this._emit(structural);
    return structural;
  }
}
