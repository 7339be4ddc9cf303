// One chart: a uPlot instance used for axes, scales, cursor and zoom, with every line
// drawn by our own path builders from per-bucket aggregates (buckets.js). The chart
// fetches N = its pixel width buckets per line, re-fetches finer buckets when zoomed
// (debounced), and folds live points into the buckets it already has.
import uPlot from './vendor/uplot/uPlot.esm.js';
import { ChartData } from './chart-data.js';
import { smoothBuckets } from './smoothing.js';
import { m4Path, valuePath, candlePaths, drawMarkers, hasMarks } from './paths.js';
import { withAlpha, cssVar } from './colors.js';
import { fmtStepTicks, fmtValueTicks, fmtDuration, fmtX, shortName } from './format.js';
import { h, debounce, perFrame, throttle } from './dom.js';
import { installInteractions, cursorBind } from './interactions.js';
import { buildToolbar } from './chart-toolbar.js';

export const DEFAULT_STATE = Object.freeze({ mode: 'auto', smooth: 0.6, logY: false, robust: false, x: null, y: null });

const STEP_INCRS = [];
for (let e = 0; e <= 13; e++) for (const m of [1, 2, 5]) STEP_INCRS.push(m * 10 ** e);
const DURATION_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
  21600, 43200, 86400, 172800, 604800, 1209600, 2592000, 7776000, 31536000];

let chartSeq = 0;

// While lines still wait for their first data, what has come is drawn at most this
// often (ms): every draw draws every line, and hundreds of lines arriving in tens of
// answers would otherwise be drawn tens of times before the last one is in.
const LOADING_DRAW_MS = 400;
// Lines on one chart past which each gets half as many buckets (see _n).
const MANY_LINES = 100;

// Where a run restarted (steps), drawn as thin dashed vertical lines; set by the app.
let restartSource = () => [];
export function setRestartSource(fn) { restartSource = fn; }

/** The nearest 1, 2 or 5 × 10^k below (up=false) or above (up=true) v > 0. */
function niceLog(v, up) {
  const e = Math.floor(Math.log10(v));
  const steps = up ? [1, 2, 5, 10] : [10, 5, 2, 1];
  for (const m of steps) {
    const c = m * 10 ** e;
    if (up ? c >= v * (1 - 1e-12) : c <= v * (1 + 1e-12)) return Number(c.toPrecision(12));
  }
  return v;
}

export class Chart {
  /**
   * @param {HTMLElement} container  where the chart card goes
   * @param {object} opts  {id, title, xMode, state, height, onStateChange(state),
   *                        onHover(hover|null), onPick(key, step), onDrawn()}
   */
  constructor(container, opts) {
    this.id = opts.id || `chart${++chartSeq}`;
    this.opts = opts;
    this.xMode = opts.xMode || 'step';
    this.state = { ...DEFAULT_STATE, ...(opts.state || {}) };
    this.data = new ChartData({
      buckets: () => this._n(),
      xMode: () => this.xMode,
      zoom: () => this.state.x,
      onData: () => this.scheduleDraw(),
    });
    this.u = null;
    this.drawCount = 0;
    this.destroyed = false;
    this._hoverX = null;
    this.focusKey = null;     // the line under the cursor (emphasised), or null
    this.el = h('section', { class: 'chart-card', dataset: { chart: this.id } });
    this.head = h('div', { class: 'chart-head' });
    if (opts.title != null) this.head.appendChild(h('h3', { class: 'chart-title', text: shortName(opts.title, 48), title: opts.title }));
    this.toolbar = buildToolbar(this);
    this.head.appendChild(this.toolbar.el);
    this.plotEl = h('div', { class: 'chart-plot' });
    this.statusEl = h('div', { class: 'chart-status' });
    this.el.append(this.head, this.plotEl, this.statusEl);
    container.appendChild(this.el);

    const drawNow = perFrame(() => this._redraw());
    this._drawLater = throttle(drawNow, LOADING_DRAW_MS);
    this.scheduleDraw = () => {
      if (this.lines.some(l => l.loading && !l.full)) { this._drawLater(); return; }
      this._drawLater.cancel();
      drawNow();
    };
    this._resized = debounce(() => this._onResize(), 250);
    this._ro = new ResizeObserver(() => this._resized());
    this._ro.observe(this.plotEl);
  }

  // ---------------------------------------------------------------- lines

  /**
   * Set the lines: [{key, model, series, label, color, dash, show}]. Lines that stay
   * keep their data; new ones are fetched.
   */
  setLines(specs) {
    const toLoad = this.data.setLines(specs);
    this._build();
    for (const l of toLoad) this.data.loadFull(l);
  }

  get lines() { return this.data.lines; }

  lineFor(model, series) { return this.data.lineFor(model, series); }

  /** Buckets to ask for, from the plot's width in CSS pixels. */
  _n() {
    const w = this.u ? this.u.bbox.width / (window.devicePixelRatio || 1) : this.plotEl.clientWidth - 60;
    // one bucket per 2 CSS px: the M4 line still looks like a full draw, and the
    // server and the page do half the work of one per pixel. Past MANY_LINES lines,
    // one per 4 px (what a candle takes anyway): in that crowd no line's detail at
    // 2 px shows, and the answers, their parsing and the drawing halve again.
    const px = this.lines.length > MANY_LINES ? 4 : 2;
    return Math.max(64, Math.round((w || 600) / px));
  }

  /** The buckets drawn for a line right now: the zoomed fetch if it covers the view. */
  _display(line) {
    const sc = this.u && this.u.scales.x;
    return this.data.display(line, sc ? sc.min : null, sc ? sc.max : null);
  }

  // live data, from the view (see chart-data.js)
  addPoints(model, series, steps, values, times, seq) { return this.data.addPoints(model, series, steps, values, times, seq); }
  refreshSeries(model, series, seq) { this.data.refresh(model, series, seq); }
  deletedSeries(model, series) { this.data.deleted(model, series); }
  catchUp(model, series) { const l = this.lineFor(model, series); if (l) this.data.catchUp(l); }

  setShown(key, show) {
    const i = this.lines.findIndex(l => l.key === key);
    if (i < 0) return;
    this.lines[i].show = show;
    if (this.u) this.u.setSeries(i + 1, { show });
    this.scheduleDraw();
  }

  // ---------------------------------------------------------------- drawing


  /** x extents of bucket i: [a, b] for lines and [ca, cb] for candle cells. */
  _xcols(line, b) {
    return b.cached(`x|${this.xMode}|${this.xMode === 'rel' ? line.startTime : 0}`, () => this._computeXcols(line, b));
  }

  _computeXcols(line, b) {
    const n = b.length;
    const xa = new Float64Array(n), xb = new Float64Array(n), ca = new Float64Array(n), cb = new Float64Array(n);
    if (this.xMode === 'step') {
      for (let i = 0; i < n; i++) {
        xa[i] = b.s0[i]; xb[i] = b.s1[i];
        ca[i] = b.k[i] * b.width - 0.5; cb[i] = (b.k[i] + 1) * b.width - 0.5;
      }
    } else {
      const off = this.xMode === 'rel' ? (line.startTime || 0) : 0;
      for (let i = 0; i < n; i++) {
        xa[i] = b.t0[i] - off; xb[i] = b.t1[i] - off;
        const prev = i > 0 ? b.t1[i - 1] - off : xa[i];
        ca[i] = (xa[i] + prev) / 2; cb[i] = i + 1 < n ? (xb[i] + b.t0[i + 1] - off) / 2 : xb[i];
        if (cb[i] <= ca[i]) { ca[i] = xa[i]; cb[i] = xb[i]; }
      }
    }
    return { xa, xb, ca, cb };
  }

  /** Points of a line in the visible x range (sum of bucket counts). */
  _visibleCount(line, b, xc) {
    const sc = this.u.scales.x;
    let c = 0;
    for (let i = 0; i < b.length; i++) if (xc.xb[i] >= sc.min && xc.xa[i] <= sc.max) c += b.count[i];
    return c;
  }

  /** 'raw', 'smooth' or 'candle' for a line, resolving 'auto'. */
  modeFor(line, b, xc) {
    const m = this.state.mode;
    if (m !== 'auto') return m;
    if (!b || !this.u) return 'raw';
    const px = this.u.bbox.width / (window.devicePixelRatio || 1);
    return this._visibleCount(line, b, xc) > px ? 'candle' : 'raw';
  }

  _paths(si) {
    const line = this.lines[si - 1];
    const u = this.u;
    const empty = { stroke: new Path2D(), fill: null, clip: null, band: null, gaps: null, flags: 0 };
    const b = line && this._display(line);
    if (!b || !b.length) { if (line) line._drawn = null; return empty; }
    const xc = this._xcols(line, b);
    const mode = this.modeFor(line, b, xc);
    let out;
    if (mode === 'smooth') {
      const sm = b.cached(`s|${this.state.smooth}`, () => smoothBuckets(b, this.state.smooth));
      out = { ...empty, stroke: valuePath(u, sm, xc.xa, xc.xb) };
      line._smooth = sm;
    } else if (mode === 'candle') {
      // at least ~4 CSS px per candle: merge neighbouring buckets (exactly) if needed
      let visible = 0;
      for (let i = 0; i < b.length; i++) if (xc.xb[i] >= u.scales.x.min && xc.xa[i] <= u.scales.x.max) visible++;
      const cellPx = (u.bbox.width / (window.devicePixelRatio || 1)) / Math.max(1, visible);
      const shift = cellPx >= 4 ? 0 : Math.ceil(Math.log2(4 / cellPx));
      const cb = shift > 0 ? b.cached(`c|${shift}`, () => b.coarsen(shift)) : b;
      const cxc = cb === b ? xc : this._xcols(line, cb);
      const { wicks, bodies } = candlePaths(u, cb, cxc.ca, cxc.cb);
      out = { ...empty, stroke: wicks, fill: bodies, _fill: line.color, _width: 1 };
      line._smooth = null;
    } else {
      out = { ...empty, stroke: m4Path(u, b, xc.xa, xc.xb) };
      line._smooth = null;
    }
    line._drawn = { b, xc, mode };
    return out;
  }

  _drawUnder(u) {
    // the faint raw line under a smoothed one
    if (this.state.mode !== 'smooth') return;
    const ctx = u.ctx;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    ctx.lineWidth = 1 * (window.devicePixelRatio || 1);
    for (const line of this.lines) {
      const b = line.show && this._display(line);
      if (!b || !b.length) continue;
      const xc = this._xcols(line, b);
      // the series' own colour, faint (raw and smoothed of a series share it)
      line._underColor = withAlpha(line.color, 0.3);
      ctx.strokeStyle = line._underColor;
      ctx.stroke(m4Path(u, b, xc.xa, xc.xb));
    }
    ctx.restore();
  }

  _drawOver(u) {
    const ctx = u.ctx;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    for (const line of this.lines) {
      if (!line.show || !line._drawn) continue;
      const { b, xc } = line._drawn;
      if (b.cached('marked', () => hasMarks(b))) drawMarkers(u, b, xc.xa, xc.xb, line.color);
    }
    if (this.xMode === 'step') this._drawRestarts(u);
    ctx.restore();
    this.drawCount++;
    if (this.opts.onDrawn) this.opts.onDrawn(this);
  }

  /** A thin dashed vertical line at each step where a shown line's run restarted. */
  _drawRestarts(u) {
    const ctx = u.ctx, dpr = window.devicePixelRatio || 1;
    const done = new Set();
    this._restarts = [];
    for (const line of this.lines) {
      if (!line.show || done.has(line.model)) continue;
      done.add(line.model);
      for (const step of restartSource(line.model)) {
        if (step < u.scales.x.min || step > u.scales.x.max) continue;
        const x = Math.round(u.valToPos(step, 'x', true)) + 0.5;
        ctx.strokeStyle = line.color;
        ctx.lineWidth = dpr;
        ctx.setLineDash([4 * dpr, 4 * dpr]);
        ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
        ctx.setLineDash([]);
        this._restarts.push({ model: line.model, step });
      }
    }
  }

  /** x extents of every shown line (axis units). */
  _extents() {
    let lo = Infinity, hi = -Infinity;
    for (const line of this.lines) {
      const b = line.show && line.full;
      if (!b || !b.length) continue;
      if (this.xMode === 'step') { lo = Math.min(lo, b.s0[0]); hi = Math.max(hi, b.s1[b.length - 1]); }
      else {
        const off = this.xMode === 'rel' ? (line.startTime || 0) : 0;
        for (let i = 0; i < b.length; i++) { lo = Math.min(lo, b.t0[i] - off); hi = Math.max(hi, b.t1[i] - off); }
      }
    }
    if (lo > hi) return this.xMode === 'wall' ? [Date.now() / 1000 - 60, Date.now() / 1000] : [0, 1];
    if (lo === hi) return [lo - 1, hi + 1];
    return [lo, hi];
  }

  /**
   * y range for what is visible between xa and xb, from bucket min/max (spikes
   * included), or with "ignore outliers" from their 2nd to 98th percentile. A bound
   * the user typed (state.y, either may be null = automatic) wins.
   */
  computeY(xa, xb) {
    const fixed = this.state.y;
    if (fixed && fixed[0] != null && fixed[1] != null) return fixed.slice();
    let [lo, hi] = this._autoY(xa, xb);
    if (fixed) {
      if (fixed[0] != null) lo = fixed[0];
      if (fixed[1] != null) hi = fixed[1];
      if (!(hi > lo)) { const d = Math.abs(fixed[0] ?? fixed[1]) * 0.1 || 1; if (fixed[0] != null) hi = lo + d; else lo = hi - d; }
    }
    return [lo, hi];
  }

  _autoY(xa, xb) {
    const log = this.state.logY;
    let lo = Infinity, hi = -Infinity;
    const all = this.state.robust ? [] : null;
    for (const line of this.lines) {
      if (!line.show || !line.full) continue;
      const b = this.data.display(line, xa, xb);
      if (!b || !b.length) continue;
      const xc = this._xcols(line, b);
      for (let i = 0; i < b.length; i++) {
        if (xc.xb[i] < xa || xc.xa[i] > xb) continue;
        // (min then max, without an array per bucket: 500 lines make it 150,000)
        for (let j = 0; j < 2; j++) {
          const v = j === 0 ? b.min[i] : b.max[i];
          if (!Number.isFinite(v) || (log && v <= 0)) continue;
          if (all) all.push(v);
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    if (all && all.length >= 20) {
      all.sort((p, q) => p - q);
      const q = f => all[Math.round(f * (all.length - 1))];
      lo = q(0.02); hi = q(0.98);
    }
    if (lo > hi) return log ? [0.1, 10] : [0, 1];
    if (log) {
      // widen to 1-2-5 values so the axis ends on labels people can read
      const f = lo === hi ? 2 : Math.pow(hi / lo, 0.03);
      return [niceLog(lo / f, false), niceLog(hi * f, true)];
    }
    if (lo === hi) { const d = Math.abs(lo) * 0.1 || 1; return [lo - d, hi + d]; }
    const pad = (hi - lo) * (all ? 0.1 : 0.05);
    return [lo - pad, hi + pad];
  }

  // ---------------------------------------------------------------- uPlot

  _axisOpts() {
    const stroke = cssVar('--axis', '#555');
    const grid = { stroke: cssVar('--grid', 'rgba(0,0,0,0.08)'), width: 1 };
    const ticks = { stroke: cssVar('--grid', 'rgba(0,0,0,0.08)'), width: 1, size: 4 };
    const font = '11px system-ui, sans-serif';
    const x = { stroke, grid, ticks, font, space: 60 };
    if (this.xMode === 'step') {
      x.incrs = STEP_INCRS;
      x.values = (u, splits) => (this._xTicks = fmtStepTicks(splits));
    } else if (this.xMode === 'rel') {
      x.incrs = DURATION_INCRS;
      x.values = (u, splits) => splits.map(fmtDuration);
    }
    const y = { stroke, grid, ticks, font, space: 28, size: 58,
      values: (u, splits) => fmtValueTicks(splits) };
    return [x, y];
  }

  _build() {
    if (this.destroyed) return;
    const hadX = this.state.x;
    if (this.u) { this.u.destroy(); this.u = null; }
    this.focusKey = null;
    const width = Math.max(200, this.plotEl.clientWidth || 600);
    const height = this.opts.height || 300;
    const self = this;
    const series = [{}].concat(this.lines.map(l => ({
      label: l.label, stroke: l.color, width: 1.5, dash: l.dash || [], show: l.show !== false,
      points: { show: false }, spanGaps: true,
      paths: (u, si) => self._paths(si),
    })));
    const data = [this._extents(), ...this.lines.map(() => [null, null])];
    const opts = {
      width, height,
      legend: { show: false },
      focus: { alpha: 0.25 },
      scales: {
        x: { time: this.xMode === 'wall', range: (u, min, max) => {
          if (min == null || max == null) return self._extents();
          return min === max ? [min - 1, max + 1] : [min, max];
        } },
        y: { auto: false, distr: this.state.logY ? 3 : 1, log: 10,
          range: (u, min, max) => (min == null ? self.computeY(...self._extents()) : [min, max]) },
      },
      axes: this._axisOpts(),
      series,
      cursor: {
        y: false,
        points: { show: false },
        drag: { x: true, y: false, setScale: true },
        bind: cursorBind(this),
      },
      hooks: {
        drawClear: [u => self._drawUnder(u)],
        draw: [u => self._drawOver(u)],
        setScale: [(u, key) => { if (key === 'x') self._onXScale(); }],
        setCursor: [u => self._onCursor(u)],
      },
    };
    this.u = new uPlot(opts, data, this.plotEl);
    installInteractions(this);
    this._installPick();
    if (hadX) this.u.setScale('x', { min: hadX[0], max: hadX[1] });
  }

  _onXScale() {
    const sc = this.u.scales.x;
    // data[0] holds exactly the extents, so an auto-ranged x equals them
    const ext = this._extents();
    const auto = sc.min === ext[0] && sc.max === ext[1];
    const prev = this.state.x;
    this.state.x = auto ? null : [sc.min, sc.max];
    if (String(prev) !== String(this.state.x)) {
      this._emitState();
      this.data.refetch();
    }
    this._fitY();
    this.toolbar.fill();
  }

  /** Fit y to the x range shown, in a microtask: to the range uPlot shows by then. */
  _fitY() {
    const u = this.u;
    if (!u || this._fitting) return;
    this._fitting = true;
    queueMicrotask(() => {
      this._fitting = false;
      if (this.u !== u || u.scales.x.min == null) return;
      // (_redraw fitted y to this x range already: its commit brings us here)
      const done = this._fittedX;
      this._fittedX = null;
      if (done && done[0] === u.scales.x.min && done[1] === u.scales.x.max) return;
      const [a, b] = this.computeY(u.scales.x.min, u.scales.x.max);
      const y = u.scales.y;
      if (y.min !== a || y.max !== b) u.setScale('y', { min: a, max: b });
    });
  }

  _redraw() {
    if (!this.u || this.destroyed) return;
    const data = [this._extents(), ...this.lines.map(() => [null, null])];
    // x follows the data unless the user zoomed; y re-fits to what is visible, set
    // here with the data so that uPlot draws once (both wait for its next commit; the
    // setScale hook's _fitY then finds y already right)
    this.u.setData(data, !this.state.x);
    // (setData without resetting scales schedules no redraw of its own)
    if (this.state.x) this.u.redraw(true);
    const [xa, xb] = this.state.x || data[0];
    const [a, b] = this.computeY(xa, xb);
    this.u.setScale('y', { min: a, max: b });
    this._fittedX = [xa, xb];
    this._updateStatus();
  }

  _updateStatus() {
    const errs = this.lines.filter(l => l.error).map(l => `${l.label}: ${l.error}`);
    const loading = this.lines.some(l => l.loading);
    const empty = this.lines.length === 0;
    this.statusEl.textContent = errs.length ? errs.join('; ') : loading ? 'loading…' : empty ? 'nothing to show' : '';
    this.statusEl.classList.toggle('error', errs.length > 0);
  }

  // ---------------------------------------------------------------- hover

  _onCursor(u) {
    const left = u.cursor.left;
    if (left == null || left < 0) {
      this._setFocus(null);
      if (this._hoverX !== null) { this._hoverX = null; if (this.opts.onHover) this.opts.onHover(null); }
      return;
    }
    const x = u.posToVal(left, 'x');
    this._hoverX = x;
    const hover = this.valuesAt(x);
    hover.focus = this._nearest(hover, u.cursor.top);
    this._setFocus(hover.focus);
    if (this.opts.onHover) this.opts.onHover(hover);
  }

  /** Key of the line whose value at the hovered x is nearest the pointer's height. */
  _nearest(hover, top) {
    if (top == null || top < 0) return null;
    let best = null, bestD = 24;   // CSS px
    for (const [key, v] of hover.values) {
      const y = v.smooth != null && Number.isFinite(v.smooth) ? v.smooth : v.value;
      if (!Number.isFinite(y)) continue;
      const d = Math.abs(this.u.valToPos(y, 'y') - top);
      if (d < bestD) { bestD = d; best = key; }
    }
    return best;
  }

  /** Show the cursor at x (axis units), or hide it: a linked chart's hover. */
  showCursorAt(x) {
    const u = this.u;
    if (!u || u.scales.x.min == null) return;
    if (x == null || x < u.scales.x.min || x > u.scales.x.max) u.setCursor({ left: -10, top: -10 });
    else u.setCursor({ left: u.valToPos(x, 'x'), top: -10 });
  }

  /** A click (not a drag) on the plot picks the line under the cursor: opts.onPick(key, step). */
  _installPick() {
    const over = this.u.over;
    let down = null;
    over.addEventListener('mousedown', e => { down = [e.clientX, e.clientY]; });
    over.addEventListener('click', e => {
      if (!down || Math.abs(e.clientX - down[0]) > 3 || Math.abs(e.clientY - down[1]) > 3) return;
      if (!this.opts.onPick || this.focusKey == null || this._hoverX == null) return;
      const v = this.valuesAt(this._hoverX).values.get(this.focusKey);
      if (!v) return;
      const step = this.xMode === 'step' ? Math.min(v.s1, Math.max(v.s0, Math.round(this._hoverX))) : Math.round((v.s0 + v.s1) / 2);
      this.opts.onPick(this.focusKey, step);
    });
  }

  /** Emphasise one line (the others dimmed), or none. */
  _setFocus(key) {
    if (key === this.focusKey) return;
    this.focusKey = key;
    const i = key == null ? -1 : this.lines.findIndex(l => l.key === key);
    if (this.u) this.u.setSeries(i < 0 ? null : i + 1, { focus: true });
  }

  /** Every shown line's value at x (nearest bucket within a few pixels). */
  valuesAt(x) {
    const u = this.u;
    const values = new Map();
    const pxTol = 12;
    for (const line of this.lines) {
      if (!line.show || !line._drawn) continue;
      const { b, xc } = line._drawn;
      let best = -1, bestD = Infinity;
      // binary search on xa (sorted for steps; nearly so for times), then look around
      let lo = 0, hi = b.length;
      while (lo < hi) { const m = (lo + hi) >> 1; if (xc.xa[m] < x) lo = m + 1; else hi = m; }
      for (let i = Math.max(0, lo - 2); i < Math.min(b.length, lo + 2); i++) {
        const d = x < xc.xa[i] ? xc.xa[i] - x : x > xc.xb[i] ? x - xc.xb[i] : 0;
        if (d < bestD) { bestD = d; best = i; }
      }
      if (best < 0) continue;
      if (bestD > 0) {
        const edge = x < xc.xa[best] ? xc.xa[best] : xc.xb[best];
        if (Math.abs(u.valToPos(x, 'x') - u.valToPos(edge, 'x')) > pxTol) continue;
      }
      values.set(line.key, {
        value: b.value(best), min: b.min[best], max: b.max[best], count: b.count[best],
        nans: b.nans[best], s0: b.s0[best], s1: b.s1[best],
        smooth: line._smooth ? line._smooth[best] : null,
      });
    }
    return { x, label: this.xMode === 'step' ? `step ${fmtX(x, 'step')}` : fmtX(x, this.xMode), values };
  }

  // ---------------------------------------------------------------- state

  /** Change display state: {mode, smooth, logY, x, y}. */
  update(patch) {
    this._fittedX = null;   // (y bounds, robust: fit y again whatever x is)
    const before = this.state;
    this.state = { ...this.state, ...patch };
    if ('logY' in patch && patch.logY !== before.logY) { this._build(); }
    else if ('robust' in patch && !('x' in patch)) { if (this.u) this.u.redraw(true); }
    else if ('x' in patch && patch.x) {
      this.u.setScale('x', { min: patch.x[0], max: patch.x[1] });
      this.data.refetch();
    }
    else if ('x' in patch) this.resetZoom();
    // (not after setScale: redraw re-applies the current x and would undo it)
    else if (this.u) this.u.redraw(true);
    this._fitY();
    this.toolbar.sync();
    this._emitState();
  }

  resetZoom() {
    this.state.x = null;
    for (const l of this.lines) this.data.dropView(l);
    this._redraw();
    this._emitState();
  }

  setXMode(mode) {
    if (mode === this.xMode) return;
    this.xMode = mode;
    this.state.x = null;
    for (const l of this.lines) this.data.dropView(l);
    this._build();
    this.toolbar.sync();
    this._emitState();
  }

  _emitState() {
    if (this.opts.onStateChange) this.opts.onStateChange(this.state);
  }

  _onResize() {
    if (!this.u || this.destroyed) return;
    const width = Math.max(200, this.plotEl.clientWidth);
    if (Math.abs(width - this.u.width) < 2) return;
    const oldN = this._n();
    this.u.setSize({ width, height: this.u.height });
    const n = this._n();
    if (n > oldN * 1.5) {
      for (const l of this.lines) if (l.full && l.full.level > 0 && !l.loading) this.data.loadFull(l);
    }
    this.data.refetch();
  }

  /** Plain data about the chart, for the read-only debug hook and tests. */
  snapshot() {
    const u = this.u;
    return {
      id: this.id,
      title: this.opts.title ?? null,
      xMode: this.xMode,
      state: JSON.parse(JSON.stringify(this.state)),
      drawCount: this.drawCount,
      x: u ? [u.scales.x.min, u.scales.x.max] : null,
      xTicks: this._xTicks || null,
      focus: this.focusKey,
      restarts: this._restarts || [],
      y: u ? [u.scales.y.min, u.scales.y.max] : null,
      lines: this.lines.map(l => {
        const b = l.full;
        const d = l._drawn;
        let max = -Infinity, min = Infinity;
        if (d) for (let i = 0; i < d.b.length; i++) {
          if (d.b.max[i] > max) max = d.b.max[i];
          if (d.b.min[i] < min) min = d.b.min[i];
        }
        return {
          key: l.key, model: l.model, series: l.series, label: l.label, color: l.color,
          show: l.show !== false, loaded: !!b, loading: l.loading, error: l.error,
          level: b ? b.level : null, buckets: b ? b.length : 0, points: b ? b.total() : 0, seq: l.seq,
          underColor: this.state.mode === 'smooth' ? l._underColor || null : null,
          lastStep: b && b.length ? b.s1[b.length - 1] : null,
          lastValue: b && b.length ? b.last[b.length - 1] : null,
          drawn: d ? { mode: d.mode, level: d.b.level, buckets: d.b.length,
            min: Number.isFinite(min) ? min : null, max: Number.isFinite(max) ? max : null,
            nanBuckets: d.b.nans.filter(n => n > 0).length,
            nans: d.b.nans.reduce((a, n) => a + n, 0) } : null,
        };
      }),
    };
  }

  destroy() {
    this.destroyed = true;
    this._drawLater.cancel();
    this._ro.disconnect();
    this.data.destroy();
    if (this.u) this.u.destroy();
    this.el.remove();
  }
}
