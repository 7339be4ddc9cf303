// A canvas plot for the "histograms" view: a canvas sized to its box at the device's
// pixel ratio, an overlay canvas for the hover mark, round tick values, and the
// value → bin lookups the drawing and the hover share.
import { h } from './dom.js';
import { cssVar } from './colors.js';

/** About `n` round values (1, 2, 5 × 10^k apart) covering [lo, hi]. */
export function niceTicks(lo, hi, n = 5) {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / Math.max(1, n);
  const e = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map(m => m * e).find(s => s >= raw * (1 - 1e-9));
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** The bin of a record holding value v (-1 outside its edges). */
export function binAt(rec, v) {
  const e = rec.edges, nb = rec.counts.length;
  if (!(v >= e[0] && v <= e[nb])) return -1;
  let lo = 0, hi = nb;
  while (hi - lo > 1) { const m = (lo + hi) >> 1; if (e[m] <= v) lo = m; else hi = m; }
  return lo;
}

/** The value range [lo, hi] of a list of records (exact min/max where known). */
export function valueRange(records) {
  let lo = Infinity, hi = -Infinity;
  for (const r of records) {
    const nb = r.counts.length;
    let first = 0, last = nb - 1;
    while (first < nb && !(r.counts[first] > 0)) first++;
    while (last >= 0 && !(r.counts[last] > 0)) last--;
    if (first > last) continue;
    lo = Math.min(lo, Number.isFinite(r.min) ? r.min : r.edges[first]);
    hi = Math.max(hi, Number.isFinite(r.max) ? r.max : r.edges[last + 1]);
  }
  if (lo > hi) return [0, 1];
  if (lo === hi) { const d = Math.abs(lo) * 0.1 || 1; return [lo - d, hi + d]; }
  return [lo, hi];
}

export const THEME = () => ({
  axis: cssVar('--axis', '#5b6375'),
  grid: cssVar('--grid', 'rgba(20,30,50,0.08)'),
  panel: cssVar('--panel', '#fff'),
  text: cssVar('--text', '#1d2330'),
  accent: cssVar('--accent', '#2c6bed'),
});

export const FONT = '11px system-ui, sans-serif';

/** A canvas and its hover overlay in `parent`, redrawn by `draw()` at the box's size. */
export class CanvasPlot {
  /** @param {object} o {height, draw(ctx, w, h), drawHover(ctx, w, h)} (sizes in CSS px) */
  constructor(parent, o) {
    this.o = o;
    this.canvas = h('canvas', { class: 'hist-canvas' });
    this.overlay = h('canvas', { class: 'hist-overlay' });
    this.el = h('div', { class: 'hist-canvas-box' }, this.canvas, this.overlay);
    parent.appendChild(this.el);
    this.w = 0; this.h = o.height;
    this.drawCount = 0;
    this.drawMs = 0;
    this._ro = new ResizeObserver(() => { if (Math.round(this.el.clientWidth) !== this.w) this.draw(); });
    this._ro.observe(this.el);
  }

  _size() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(200, Math.round(this.el.clientWidth || 400));
    if (w !== this.w || this.canvas.width !== Math.round(w * dpr)) {
      this.w = w;
      for (const c of [this.canvas, this.overlay]) {
        c.width = Math.round(w * dpr); c.height = Math.round(this.h * dpr);
        c.style.width = `${w}px`; c.style.height = `${this.h}px`;
      }
    }
    return dpr;
  }

  draw() {
    const t0 = performance.now();
    const dpr = this._size();
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);
    this.o.draw(ctx, this.w, this.h, dpr);
    this.drawMs = performance.now() - t0;
    this.drawCount++;
    this.hover();
  }

  hover() {
    const dpr = window.devicePixelRatio || 1;
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);
    if (this.o.drawHover) this.o.drawHover(ctx, this.w, this.h);
  }

  /** Some pixels drawn (the tests' "canvas non-empty"). */
  inked() {
    const c = this.canvas;
    if (!c.width || !c.height) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  }

  destroy() { this._ro.disconnect(); this.el.remove(); }
}
