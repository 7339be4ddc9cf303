// Parallel coordinates of the runs' config keys against one metric, drawn by hand on
// a canvas: one vertical axis per key (numbers on a linear or log scale, anything else
// as ordered categories), one polyline per run coloured by the metric. Dragging along
// an axis brushes a range (the table keeps only runs inside every brush); a click on
// an axis clears its brush.
import { h } from './dom.js';
import { cssVar, isDark } from './colors.js';
import { fmtAxisValue, shortName } from './format.js';
import { configText } from './runs-data.js';

const HEIGHT = 260, TOP = 34, BOTTOM = 40, NULL_GAP = 14, MAX_AXES = 14;

/** A colour along a perceptual ramp (viridis-like), t in [0, 1]. */
function ramp(t, alpha) {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
  return `rgba(${c[0]},${c[1]},${c[2]},${alpha})`;
}

/** A brush (stored in the URL) → a predicate over a run. */
export function brushPredicate(model, key, brush) {
  if (Array.isArray(brush)) {
    const [lo, hi] = brush;
    return run => { const v = model.value(key, run); return typeof v === 'number' && v >= lo && v <= hi; };
  }
  const set = new Set(brush.v || []);
  return run => set.has(configText(model.value(key, run)));
}

export class ParCoords {
  /**
   * @param {HTMLElement} container
   * @param {object} o  {onBrush(key, brush|null)}; brush = [lo, hi] or {v: [values]}
   */
  constructor(container, o) {
    this.o = o;
    this.canvas = h('canvas', { class: 'pc-canvas', 'aria-label': 'parallel coordinates; drag along an axis to filter, click an axis to clear' });
    this.el = h('div', { class: 'pc-box' }, this.canvas);
    container.appendChild(this.el);
    this.axes = [];
    this.brushes = {};
    this.drag = null;
    this.rows = [];
    this.model = null;
    this.metricKey = null;
    this._installMouse();
    this._ro = new ResizeObserver(() => this.draw());
    this._ro.observe(this.el);
  }

  /**
   * Data to draw: model (RunsModel), rows (run indices passing every filter but the
   * brushes), inside (Set of those also inside every brush), metricKey ('m:series'
   * or null), brushes (from the URL).
   */
  update(model, rows, inside, metricKey, brushes) {
    this.model = model;
    this.rows = rows;
    this.inside = inside;
    this.metricKey = metricKey;
    this.brushes = brushes || {};
    this._version = (this._version || 0) + 1;
    this._layout();
    this.draw();
  }

  _layout() {
    const m = this.model;
    const keys = m.configKeys.filter(k => {
      const d = m.domain(`c:${k}`);
      return d.numeric ? d.count > 1 || d.lo !== d.hi : d.count > 1 && d.count <= 60;
    }).slice(0, MAX_AXES);
    const all = keys.map(k => `c:${k}`);
    if (this.metricKey) all.push(this.metricKey);
    const width = Math.max(300, this.el.clientWidth || 800);
    const left = 60, right = 70;
    const span = Math.max(1, all.length - 1);
    this.axes = all.map((key, i) => {
      const d = m.domain(key);
      const ax = { key, label: key.slice(2), x: all.length === 1 ? width / 2 : left + (width - left - right) * i / span,
        top: TOP, bottom: HEIGHT - BOTTOM, numeric: d.numeric, metric: key === this.metricKey };
      if (d.numeric) {
        let lo = Number.isFinite(d.lo) ? d.lo : 0, hi = Number.isFinite(d.hi) ? d.hi : 1;
        if (lo === hi) { lo -= 1; hi += 1; }
        ax.log = lo > 0 && hi / lo >= 100;
        ax.lo = lo; ax.hi = hi;
      } else {
        ax.values = d.values;
        ax.pos = new Map(d.values.map((v, k) => [v, k]));
      }
      return ax;
    });
    this.width = width;
  }

  /** y pixel of a value on an axis (null/missing: below the axis). */
  y(ax, v) {
    if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return ax.bottom + NULL_GAP;
    if (ax.numeric) {
      if (typeof v !== 'number') return ax.bottom + NULL_GAP;
      const t = ax.log ? (Math.log(Math.max(v, ax.lo)) - Math.log(ax.lo)) / (Math.log(ax.hi) - Math.log(ax.lo))
        : (v - ax.lo) / (ax.hi - ax.lo);
      return ax.bottom - t * (ax.bottom - ax.top);
    }
    const k = ax.pos.get(configText(v));
    if (k == null) return ax.bottom + NULL_GAP;
    const n = ax.values.length;
    return n === 1 ? (ax.top + ax.bottom) / 2 : ax.bottom - (k / (n - 1)) * (ax.bottom - ax.top);
  }

  /** Value of a y pixel on a numeric axis. */
  invert(ax, y) {
    const t = (ax.bottom - y) / (ax.bottom - ax.top);
    return ax.log ? Math.exp(Math.log(ax.lo) + t * (Math.log(ax.hi) - Math.log(ax.lo))) : ax.lo + t * (ax.hi - ax.lo);
  }

  /** The brush of pixel range [y0, y1] on an axis, in the URL's form. */
  brushFor(ax, y0, y1) {
    const a = Math.min(y0, y1), b = Math.max(y0, y1);
    if (ax.numeric) return [this.invert(ax, Math.min(b, ax.bottom)), this.invert(ax, Math.max(a, ax.top))];
    return { v: ax.values.filter(v => { const y = this.y(ax, v); return y >= a && y <= b; }) };
  }

  /** Pixel range of a stored brush on an axis. */
  _brushPx(ax, br) {
    if (Array.isArray(br)) return [this.y(ax, br[1]), this.y(ax, br[0])];
    const ys = (br.v || []).map(v => this.y(ax, v));
    if (!ys.length) return null;
    return [Math.min(...ys) - 5, Math.max(...ys) + 5];
  }

  draw() {
    if (!this.model) return;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(300, this.el.clientWidth || 800);
    if (Math.abs(width - (this.width || 0)) > 1) this._layout();
    const c = this.canvas;
    c.width = Math.round(width * dpr); c.height = Math.round(HEIGHT * dpr);
    c.style.width = `${width}px`; c.style.height = `${HEIGHT}px`;
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, HEIGHT);
    const text = cssVar('--text', '#222'), muted = cssVar('--muted', '#777'), axisC = cssVar('--axis', '#555');
    const panel = cssVar('--panel', '#fff');
    const axes = this.axes;
    if (!axes.length) {
      g.fillStyle = muted; g.font = '13px system-ui, sans-serif';
      g.fillText('No config keys that vary between these runs.', 16, 30);
      return;
    }
    // the lines (the costly part with many runs) are drawn once per update and size,
    // and reused while a brush is dragged
    const key = `${this._version}|${width}|${dpr}|${isDark()}`;
    if (!this._lines || this._lines.key !== key) {
      const layer = document.createElement('canvas');
      layer.width = c.width; layer.height = c.height;
      const lg = layer.getContext('2d');
      lg.setTransform(dpr, 0, 0, dpr, 0, 0);
      this._drawLines(lg);
      this._lines = { key, layer };
    }
    g.drawImage(this._lines.layer, 0, 0, width, HEIGHT);
    // axes, labels, ticks and brushes
    g.font = '11px system-ui, sans-serif';
    for (const ax of axes) {
      g.strokeStyle = axisC; g.lineWidth = 1;
      g.beginPath(); g.moveTo(ax.x, ax.top); g.lineTo(ax.x, ax.bottom); g.stroke();
      g.fillStyle = ax.metric ? cssVar('--accent', '#2c6bed') : text;
      g.textAlign = 'center';
      g.font = `${ax.metric ? '600 ' : ''}12px system-ui, sans-serif`;
      g.fillText(shortName(ax.label, 18), ax.x, 14);
      g.font = '11px system-ui, sans-serif';
      g.fillStyle = muted;
      g.textAlign = 'left';
      const ticks = ax.numeric ? [[ax.hi, ax.top], [ax.lo, ax.bottom]].map(([v, y]) => [fmtAxisValue(v, 3), y])
        : ax.values.length <= 12 ? ax.values.map(v => [shortName(v, 12), this.y(ax, v)])
          : [[shortName(ax.values[ax.values.length - 1], 12), ax.top], [shortName(ax.values[0], 12), ax.bottom]];
      g.lineJoin = 'round';
      for (const [label, y] of ticks) {
        g.strokeStyle = axisC; g.lineWidth = 1;
        g.beginPath(); g.moveTo(ax.x - 3, y); g.lineTo(ax.x + 3, y); g.stroke();
        // a halo in the panel's colour keeps labels readable over the lines
        g.strokeStyle = panel; g.lineWidth = 3;
        g.strokeText(label, ax.x + 5, y + 4);
        g.fillText(label, ax.x + 5, y + 4);
      }
      g.lineWidth = 1;
      if (ax.log) { g.fillText('log', ax.x - 8, ax.bottom + 30); }
      const br = this.drag && this.drag.ax === ax ? [this.drag.y0, this.drag.y1] : this.brushes[ax.key] ? this._brushPx(ax, this.brushes[ax.key]) : null;
      if (br) {
        const a = Math.max(ax.top - 4, Math.min(br[0], br[1])), b = Math.min(ax.bottom + NULL_GAP, Math.max(br[0], br[1]));
        g.fillStyle = isDark() ? 'rgba(110,155,255,0.22)' : 'rgba(44,107,237,0.18)';
        g.strokeStyle = cssVar('--accent', '#2c6bed');
        g.fillRect(ax.x - 8, a, 16, b - a);
        g.strokeRect(ax.x - 8, a, 16, b - a);
      }
    }
    g.textAlign = 'left';
  }

  /** One polyline per run: outside the brushes faint grey, the rest coloured by the metric. */
  _drawLines(g) {
    const m = this.model, axes = this.axes;
    const met = axes.find(a => a.metric);
    const cols = axes.map(a => m.valuesOf(a.key));
    // one path per colour (the metric in 32 steps), not one stroke per run: 10,000
    // runs draw in a few milliseconds
    const BINS = 32;
    const paths = Array.from({ length: BINS + 2 }, () => new Path2D());   // bins, no metric, outside
    // colour by the rank of the metric among the lines (one outlier cannot wash
    // out the others' colours)
    const metVals = met ? cols[axes.indexOf(met)] : null;
    const ranked = metVals ? this.rows.filter(i => typeof metVals[i] === 'number' && Number.isFinite(metVals[i])) : [];
    ranked.sort((a, b) => metVals[a] - metVals[b]);
    const rankOf = new Map(ranked.map((i, k) => [i, ranked.length > 1 ? k / (ranked.length - 1) : 0.5]));
    for (const i of this.rows) {
      let bin = BINS + 1;
      if (this.inside.has(i)) {
        const t = rankOf.get(i);
        bin = t == null ? BINS : Math.min(BINS - 1, Math.floor(t * BINS));
      }
      const p = paths[bin];
      for (let k = 0; k < axes.length; k++) {
        const y = this.y(axes[k], cols[k][i]);
        if (k) p.lineTo(axes[k].x, y); else p.moveTo(axes[k].x, y);
      }
    }
    const many = this.rows.length > 2000;
    g.lineWidth = many ? 0.6 : 1.2;
    g.strokeStyle = isDark() ? 'rgba(160,170,190,0.12)' : 'rgba(120,130,150,0.14)';
    g.stroke(paths[BINS + 1]);
    g.strokeStyle = `rgba(128,128,128,${many ? 0.3 : 0.6})`;
    g.stroke(paths[BINS]);
    const dark = isDark();   // the ramp's darkest third would vanish on a dark panel
    for (let b = 0; b < BINS; b++) {
      const t = (b + 0.5) / BINS;
      g.strokeStyle = ramp(dark ? 0.3 + 0.7 * t : t, many ? 0.35 : 0.8);
      g.stroke(paths[b]);
    }
  }

  _axisAt(x) {
    let best = null, bestD = 16;
    for (const ax of this.axes) { const d = Math.abs(ax.x - x); if (d < bestD) { bestD = d; best = ax; } }
    return best;
  }

  _installMouse() {
    const pos = e => { const r = this.canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
    this.canvas.addEventListener('mousedown', e => {
      const [x, y] = pos(e);
      const ax = this._axisAt(x);
      if (!ax) return;
      e.preventDefault();
      this.drag = { ax, y0: y, y1: y };
      const move = ev => { this.drag.y1 = pos(ev)[1]; this.draw(); };
      const up = ev => {
        window.removeEventListener('mousemove', move);
        window.removeEventListener('mouseup', up);
        const d = this.drag;
        this.drag = null;
        d.y1 = pos(ev)[1];
        if (Math.abs(d.y1 - d.y0) < 3) this.o.onBrush(ax.key, null);   // a click clears
        else this.o.onBrush(ax.key, this.brushFor(ax, d.y0, d.y1));
      };
      window.addEventListener('mousemove', move);
      window.addEventListener('mouseup', up);
    });
    this.canvas.addEventListener('mousemove', e => {
      this.canvas.classList.toggle('on-axis', !!this._axisAt(pos(e)[0]));
    });
  }

  /** Plain data for the debug hook: axes with their pixel positions (CSS px in the canvas). */
  snapshot() {
    return {
      axes: this.axes.map(a => ({ key: a.key, x: a.x, top: a.top, bottom: a.bottom, numeric: a.numeric, log: !!a.log,
        lo: a.lo ?? null, hi: a.hi ?? null, values: a.values || null })),
      brushes: JSON.parse(JSON.stringify(this.brushes)),
      lines: this.rows.length,
      inside: this.inside ? this.inside.size : 0,
    };
  }

  destroy() { this._ro.disconnect(); this.el.remove(); }
}
