// Colour and group runs by a config value or by a regex on the name (the first
// capture group is the key, else the whole match), and the overview's grouped chart:
// each group drawn as the mean of its runs with a min–max or ±std band (uPlot bands).
// The grouped chart puts steps on x: each run's per-bucket means are interpolated
// onto one grid of steps, and a group's statistics at a step use the runs that have
// data there.
import uPlot from './vendor/uplot/uPlot.esm.js';
import * as api from './api.js';
import { h, debounce, throttle } from './dom.js';
import { withAlpha, cssVar } from './colors.js';
import { fmtStepTicks, fmtValueTicks } from './format.js';
import { configText } from './runs-data.js';

const GRID = 300;
export const NO_KEY = '(none)';

/**
 * A spec ("config:KEY" or "name:REGEX") → {fn(model, run) → key, error, label}.
 * A bad regex gives {fn: null, error}.
 */
export function keyFunction(spec) {
  if (!spec) return { fn: null, error: null };
  const i = spec.indexOf(':');
  const kind = spec.slice(0, i), arg = spec.slice(i + 1);
  if (kind === 'config') {
    return { fn: (model, run) => (run && run.config[arg] !== undefined ? configText(run.config[arg]) : NO_KEY), error: null, label: arg };
  }
  let rx;
  try { rx = new RegExp(arg); } catch (e) { return { fn: null, error: `bad regex: ${e.message}` }; }
  return {
    fn: model => { const m = rx.exec(model); return m ? (m[1] ?? m[0]) : NO_KEY; },
    error: null, label: `/${arg}/`,
  };
}

const order = new Intl.Collator(undefined, { numeric: true }).compare;

/** Models → [{key, members: [model...]}] in key order (numbers numerically, else natural), runs without a key last. */
export function groupModels(models, fn, runs) {
  const map = new Map();
  for (const m of models) {
    const k = fn(m, runs.get(m));
    if (!map.has(k)) map.set(k, []);
    map.get(k).push(m);
  }
  const rank = k => (k === NO_KEY ? 1 : 0);   // runs without a key: last
  const keys = [...map.keys()].filter(k => k !== NO_KEY);
  const numeric = keys.length > 0 && keys.every(k => k.trim() !== '' && Number.isFinite(Number(k)));
  const cmp = numeric ? (a, b) => Number(a) - Number(b) : order;
  return [...map].sort((a, b) => rank(a[0]) - rank(b[0]) || cmp(a[0], b[0])).map(([key, members]) => ({ key, members }));
}

/** Interpolate (xs, ys) (xs ascending) at x; null outside [xs[0], xs[n-1]]. */
function interp(xs, ys, x) {
  const n = xs.length;
  if (!n || x < xs[0] || x > xs[n - 1]) return null;
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) { const m = (lo + hi) >> 1; if (xs[m] <= x) lo = m; else hi = m; }
  if (xs[hi] === xs[lo]) return ys[lo];
  const f = (x - xs[lo]) / (xs[hi] - xs[lo]);
  return ys[lo] + (ys[hi] - ys[lo]) * Math.max(0, Math.min(1, f));
}

/**
 * Group statistics on a grid: curves = [{xs, ys}] per member → {mean, lo, hi, std}
 * arrays over `grid` (null where no member has data).
 */
export function groupStats(curves, grid, band) {
  const n = grid.length;
  const mean = new Array(n).fill(null), lo = new Array(n).fill(null), hi = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    let c = 0, sum = 0, sq = 0, mn = Infinity, mx = -Infinity;
    for (const cv of curves) {
      const v = interp(cv.xs, cv.ys, grid[i]);
      if (v == null || !Number.isFinite(v)) continue;
      c++; sum += v; sq += v * v;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    if (!c) continue;
    mean[i] = sum / c;
    if (band === 'std') {
      const sd = Math.sqrt(Math.max(0, sq / c - mean[i] * mean[i]));
      lo[i] = mean[i] - sd; hi[i] = mean[i] + sd;
    } else { lo[i] = mn; hi[i] = mx; }
  }
  return { mean, lo, hi };
}

export class GroupChart {
  /** @param {object} o  {height, xMode, onDrawn()} */
  constructor(container, o) {
    this.o = o;
    this.xMode = o.xMode || 'step';
    this.id = 'groups';
    this.groups = [];
    this.series = null;
    this.band = 'minmax';
    this.curves = new Map();      // model → {xs, ys} of the current series
    this.u = null;
    this.drawCount = 0;
    this.loading = false;
    this.error = null;
    this.el = h('section', { class: 'chart-card group-chart', dataset: { chart: 'groups' } });
    this.plotEl = h('div', { class: 'chart-plot' });
    this.statusEl = h('div', { class: 'chart-status' });
    this.el.append(this.plotEl, this.statusEl);
    container.appendChild(this.el);
    this._reload = throttle(() => this._load(true), 1000);
    this._ro = new ResizeObserver(debounce(() => { if (this.u) this.u.setSize({ width: this._width(), height: this.u.height }); }, 200));
    this._ro.observe(this.el);
  }

  _width() { return Math.max(200, this.plotEl.clientWidth || 600); }

  /** groups = [{key, color, members}], series = the statistic, band = minmax|std|none. */
  set(groups, series, band) {
    const sameData = series === this.series;
    this.groups = groups;
    this.band = band;
    if (!sameData) this.curves.clear();
    this.series = series;
    this._load(false);
  }

  async _load(again) {
    const want = this.groups.flatMap(g => g.members).filter(m => again || !this.curves.has(m));
    if (want.length) {
      this.loading = true;
      this._status();
      const series = this.series;
      const n = Math.max(64, Math.round(this._width() / 2));
      const got = await Promise.all(want.map(m => api.getBuckets(m, series, n).then(b => [m, b], e => [m, null, e])));
      if (series !== this.series) return;
      for (const [m, b, e] of got) {
        if (!b) { if (e && e.status !== 404) this.error = e.message; continue; }
        const c = b.cols, xs = [], ys = [];
        for (let i = 0; i < c.s0.length; i++) {
          if (!(c.count[i] > c.nans[i]) || !Number.isFinite(c.mean[i])) continue;
          xs.push((c.s0[i] + c.s1[i]) / 2); ys.push(c.mean[i]);
        }
        this.curves.set(m, { xs, ys });
      }
      this.loading = false;
    }
    this._build();
  }

  _build() {
    let lo = Infinity, hi = -Infinity;
    for (const g of this.groups) for (const m of g.members) {
      const c = this.curves.get(m);
      if (c && c.xs.length) { lo = Math.min(lo, c.xs[0]); hi = Math.max(hi, c.xs[c.xs.length - 1]); }
    }
    if (!(hi >= lo)) { lo = 0; hi = 1; }
    const grid = [];
    for (let i = 0; i < GRID; i++) grid.push(lo + (hi - lo) * i / (GRID - 1));
    const data = [grid];
    const series = [{}];
    const bands = [];
    this.stats = [];
    for (const g of this.groups) {
      const st = groupStats(g.members.map(m => this.curves.get(m)).filter(Boolean), grid, this.band);
      this.stats.push({ key: g.key, members: g.members.length, lastMean: st.mean.filter(v => v != null).pop() ?? null });
      const label = `${g.key} (${g.members.length})`;
      const meanIdx = data.length;
      data.push(st.mean);
      series.push({ label, stroke: g.color, width: 2, points: { show: false }, spanGaps: true });
      if (this.band !== 'none') {
        data.push(st.hi, st.lo);
        series.push({ label: `${g.key} ${this.band === 'std' ? '+σ' : 'max'}`, stroke: withAlpha(g.color, 0.35), width: 0.5, points: { show: false }, spanGaps: true });
        series.push({ label: `${g.key} ${this.band === 'std' ? '−σ' : 'min'}`, stroke: withAlpha(g.color, 0.35), width: 0.5, points: { show: false }, spanGaps: true });
        bands.push({ series: [meanIdx + 1, meanIdx + 2], fill: withAlpha(g.color, 0.16) });
      }
    }
    if (this.u) this.u.destroy();
    const stroke = cssVar('--axis', '#555');
    const gridC = { stroke: cssVar('--grid', 'rgba(0,0,0,0.08)'), width: 1 };
    const font = '11px system-ui, sans-serif';
    this.u = new uPlot({
      width: this._width(), height: this.o.height || 360,
      legend: { show: false },
      cursor: { y: false, points: { show: false }, drag: { x: true, y: false } },
      scales: { x: { time: false } },
      axes: [
        { stroke, grid: gridC, ticks: gridC, font, values: (u, s) => fmtStepTicks(s) },
        { stroke, grid: gridC, ticks: gridC, font, size: 58, values: (u, s) => fmtValueTicks(s) },
      ],
      series, bands,
      hooks: { draw: [() => { this.drawCount++; if (this.o.onDrawn) this.o.onDrawn(this); }] },
    }, data, this.plotEl);
    this._status();
  }

  _status() {
    this.statusEl.textContent = this.error ? this.error : this.loading ? 'loading…' : !this.groups.length ? 'nothing to show'
      : this.xMode !== 'step' ? 'groups are drawn over steps (their runs started at different times)' : '';
  }

  /** Points arrived for some models: refetch (debounced) if they are in a group. */
  onPoints(evs) {
    const members = new Set(this.groups.flatMap(g => g.members));
    if (evs.some(e => (e.type === 'points' || e.type === 'refresh') && e.series === this.series && members.has(e.model))) this._reload();
  }

  setXMode(mode) { this.xMode = mode; this._status(); }
  catchUp() { this._load(true); }

  snapshot() {
    const u = this.u;
    return {
      id: 'groups', kind: 'groups', series: this.series, band: this.band, drawCount: this.drawCount,
      loading: this.loading,
      groups: this.groups.map((g, i) => ({ key: g.key, color: g.color, members: g.members.slice(),
        lastMean: this.stats && this.stats[i] ? this.stats[i].lastMean : null })),
      labels: u ? u.series.slice(1).map(s => s.label) : [],
      bands: u && u.bands ? u.bands.length : 0,
      lines: [],
    };
  }

  destroy() { this._ro.disconnect(); this._reload.cancel(); if (this.u) this.u.destroy(); this.el.remove(); }
}

/**
 * A "colour by" / "group by" picker: a select of none, each config key, and a regex
 * on the name (with its text box). onChange(spec|null) when the user picks.
 */
export function specPicker(label, spec0, configKeys, onChange) {
  let spec = spec0;
  const pick = v => { spec = v; onChange(v); };
  const select = h('select', { class: 'spec-select', 'aria-label': label });
  const input = h('input', { type: 'text', class: 'spec-regex', placeholder: 'regex, e.g. ^(.*)-seed',
    'aria-label': `${label}: regex on the name`, title: 'the first capture group (else the whole match) is the key' });
  const fill = keys => {
    while (select.firstChild) select.removeChild(select.firstChild);
    select.appendChild(h('option', { value: '', text: `${label}: —` }));
    for (const k of keys) select.appendChild(h('option', { value: `config:${k}`, text: `${label}: ${k}` }));
    select.appendChild(h('option', { value: 'name:', text: `${label}: name regex…` }));
    if (spec && spec.startsWith('config:') && !keys.includes(spec.slice(7))) {
      select.appendChild(h('option', { value: spec, text: `${label}: ${spec.slice(7)}` }));
    }
    select.value = spec && spec.startsWith('name:') ? 'name:' : spec || '';
  };
  fill(configKeys);
  input.value = spec && spec.startsWith('name:') ? spec.slice(5) : '';
  input.hidden = !(spec && spec.startsWith('name:'));
  const fromRegex = debounce(() => pick(input.value ? `name:${input.value}` : null), 250);
  select.addEventListener('change', () => {
    input.hidden = select.value !== 'name:';
    if (select.value === 'name:') { input.focus(); if (input.value) pick(`name:${input.value}`); return; }
    pick(select.value || null);
  });
  input.addEventListener('input', fromRegex);
  const el = h('span', { class: 'spec-picker' }, select, input);
  return { el, setKeys: keys => fill(keys) };
}
