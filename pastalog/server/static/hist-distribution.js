// The "distribution" view (TensorBoard's): over steps, nested bands between the
// quantiles 0–100, 7–93, 16–84 and 31–69 % (each band drawn over the wider ones, so
// the middle is darkest) and the median as a line, on uPlot.
import uPlot from './vendor/uplot/uPlot.esm.js';
import { PERCENTS } from './quantiles.js';
import { withAlpha, cssVar } from './colors.js';
import { fmtStepTicks, fmtValueTicks } from './format.js';
import { h } from './dom.js';

const MID = PERCENTS.indexOf(50);
/** Bands as pairs of uPlot series indices (upper, lower): 100–0, 93–7, 84–16, 69–31. */
export const BANDS = Array.from({ length: MID }, (_, k) => [PERCENTS.length - k, k + 1]);

export class DistributionView {
  /** @param {object} o {data: HistData, color, height, onHover({index}|null)} */
  constructor(parent, o) {
    this.o = o;
    this.el = h('div', { class: 'hist-dist' });
    parent.appendChild(this.el);
    this.u = null;
    this.drawCount = 0;
    this.hovered = null;
    this.zoom = null;          // [min, max] steps the user zoomed to, or null
    this._setting = false;
    this._ro = new ResizeObserver(() => {
      const w = Math.max(200, this.el.clientWidth);
      if (this.u && Math.abs(w - this.u.width) >= 2) this.u.setSize({ width: w, height: this.u.height });
    });
    this._ro.observe(this.el);
  }

  _columns() {
    const recs = this.o.data.records;
    const cols = [Float64Array.from(recs, r => r.step)];
    for (let k = 0; k < PERCENTS.length; k++) cols.push(Array.from(recs, r => (Number.isFinite(r.q[k]) ? r.q[k] : null)));
    return cols;
  }

  _build() {
    const color = this.o.color;
    const stroke = cssVar('--axis', '#555');
    const grid = { stroke: cssVar('--grid', 'rgba(0,0,0,0.08)'), width: 1 };
    const ticks = { ...grid, size: 4 };
    const font = '11px system-ui, sans-serif';
    const series = [{}];
    PERCENTS.forEach((p, k) => series.push({
      label: `${p}%`, stroke: k === MID ? color : withAlpha(color, 0.35), width: k === MID ? 1.5 : 0,
      points: { show: false }, spanGaps: true,
    }));
    const self = this;
    this.u = new uPlot({
      width: Math.max(200, this.el.clientWidth || 400), height: this.o.height || 260,
      legend: { show: false },
      scales: { x: { time: false }, y: { range: (u, lo, hi) => (lo == null ? [0, 1] : lo === hi ? [lo - 1, hi + 1] : [lo - (hi - lo) * 0.04, hi + (hi - lo) * 0.04]) } },
      axes: [
        { stroke, grid, ticks, font, space: 60, values: (u, splits) => fmtStepTicks(splits) },
        { stroke, grid, ticks, font, space: 28, size: 58, values: (u, splits) => fmtValueTicks(splits) },
      ],
      series,
      bands: BANDS.map(s => ({ series: s, fill: withAlpha(color, 0.2) })),
      cursor: { y: false, points: { show: false }, drag: { x: true, y: false, setScale: true } },
      hooks: {
        setCursor: [u => self._cursor(u)],
        draw: [() => { self.drawCount++; }],
        setScale: [(u, key) => { if (key === 'x' && !self._setting) self._zoomed(u); }],
      },
    }, this._columns(), this.el);
  }

  /** A drag or a double-click set x: remember a zoom (a range short of the data's). */
  _zoomed(u) {
    const recs = this.o.data.records;
    const { min, max } = u.scales.x;
    this.zoom = !recs.length || (min <= recs[0].step && max >= recs.at(-1).step) ? null : [min, max];
  }

  _cursor(u) {
    const i = u.cursor.idx;
    this.hovered = i == null || u.cursor.left < 0 ? null : { index: i };
    if (this.o.onHover) this.o.onHover(this.hovered);
  }

  /** Redraw with the records held now; a zoom stays. */
  draw() {
    if (!this.u) { this._build(); return; }
    this._setting = true;
    try {
      this.u.setData(this._columns(), !this.zoom);
      // (setData without resetting scales draws nothing of its own)
      if (this.zoom) this.u.setScale('x', { min: this.zoom[0], max: this.zoom[1] });
    } finally { this._setting = false; }
  }

  /** Point the hover at record `index` (tests and keyboard). */
  hoverAt(index) {
    if (!this.u) return;
    if (index == null) { this.u.setCursor({ left: -10, top: -10 }); return; }
    this.u.setCursor({ left: this.u.valToPos(this.o.data.records[index].step, 'x'), top: 10 });
  }

  snapshot() {
    const u = this.u;
    return { kind: 'distribution', drawCount: this.drawCount, records: this.o.data.records.length,
      series: u ? u.series.length - 1 : 0, bands: u ? u.bands.length : 0,
      x: u ? [u.scales.x.min, u.scales.x.max] : null, y: u ? [u.scales.y.min, u.scales.y.max] : null };
  }

  destroy() { this._ro.disconnect(); if (this.u) this.u.destroy(); this.el.remove(); }
}
