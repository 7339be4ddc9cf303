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
  /** @param {object} o {data: HistData, color, height, onHover({index}|null), onZoom([x0, x1]|null)} */
  constructor(parent, o) {
    this.o = o;
    this.el = h('div', { class: 'hist-dist' });
    parent.appendChild(this.el);
    this.u = null;
    this.drawCount = 0;
    this.hovered = null;
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
      // a drag zooms, a double-click goes back to all steps (both ours: the card fetches)
      cursor: { y: false, points: { show: false }, drag: { x: true, y: false, setScale: false },
        bind: { dblclick: () => () => self.setZoom(null) } },
      hooks: {
        setCursor: [u => self._cursor(u)],
        draw: [() => { self.drawCount++; }],
        setSelect: [u => {
          if (u.select.width < 3) return;
          const a = u.posToVal(u.select.left, 'x'), b = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          self.setZoom([a, b]);
        }],
      },
    }, this._columns(), this.el);
    if (this.o.data.range) this.draw();
  }

  /** Zoom x to steps [a, b], or back to all (null): the card fetches and redraws. */
  setZoom(zoom) { if (this.o.onZoom) this.o.onZoom(zoom); }

  _cursor(u) {
    const i = u.cursor.idx;
    this.hovered = i == null || u.cursor.left < 0 ? null : { index: i };
    if (this.o.onHover) this.o.onHover(this.hovered);
  }

  /** Redraw with the records held now; a zoom stays. */
  draw() {
    if (!this.u) { this._build(); return; }
    const zoom = this.o.data.range;
    this.u.setData(this._columns(), !zoom);
    // (setData without resetting scales draws nothing of its own)
    if (zoom) this.u.setScale('x', { min: zoom[0], max: zoom[1] });
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
