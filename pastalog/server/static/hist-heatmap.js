// The "histograms" view as a step × value heatmap: one column per record (to the
// midpoints with its neighbours), each pixel row shaded by the share of that record's
// values in its value range (exact from the cumulative counts, so a bin narrower than
// a pixel is never missed).
import { CanvasPlot, niceTicks, binAt, valueRange, THEME, FONT } from './hist-canvas.js';
import { fmtAxisValue, fmtStepTicks } from './format.js';

const PAD = { left: 58, right: 10, top: 6, bottom: 20 };
// a column's full shade is the share of its SPIKE-th fullest row (a fraction of the
// rows): a spike a few pixels tall (ReLU's zeros) saturates instead of fading the rest
const SPIKE = 0.03;

/** A CSS colour → [r, g, b] (resolved by a 1×1 canvas). */
function rgbOf(color) {
  const c = document.createElement('canvas');
  c.width = c.height = 1;
  const x = c.getContext('2d');
  x.fillStyle = color; x.fillRect(0, 0, 1, 1);
  const d = x.getImageData(0, 0, 1, 1).data;
  return [d[0], d[1], d[2]];
}

/** Cumulative count of a record at value v (linear within a bin). */
function cdfWalker(r) {
  const e = r.edges, c = r.counts, nb = c.length;
  let b = 0, below = 0;
  // v must not decrease between calls
  return v => {
    if (v <= e[0]) return 0;
    while (b < nb && v >= e[b + 1]) { below += Math.max(0, c[b]); b++; }
    if (b >= nb) return below;
    const w = e[b + 1] - e[b];
    return below + (w > 0 ? Math.max(0, c[b]) * (v - e[b]) / w : 0);
  };
}

export class HeatmapView {
  /** @param {object} o {data: HistData, color, height, onHover({index, bin}|null), onZoom([x0, x1]|null)} */
  constructor(parent, o) {
    this.o = o;
    this.hovered = null;
    this.plot = new CanvasPlot(parent, { height: o.height || 260,
      draw: (ctx, w, hh, dpr) => this._draw(ctx, w, hh, dpr), drawHover: ctx => this._drawHover(ctx) });
    const over = this.plot.overlay;
    over.addEventListener('mousemove', e => this._move(e));
    over.addEventListener('mouseleave', () => this._leave());
    // a drag across steps zooms to them, a double-click goes back to all steps
    over.addEventListener('mousedown', e => this._dragStart(e));
    over.addEventListener('dblclick', () => { if (this.o.onZoom) this.o.onZoom(null); });
  }

  _dragStart(e) {
    if (e.button !== 0 || !this.L) return;
    const left = this.plot.overlay.getBoundingClientRect().left;
    this.drag = { a: e.clientX - left, b: e.clientX - left };
    const move = ev => { this.drag.b = ev.clientX - left; this.plot.hover(); };
    const up = () => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      const { a, b } = this.drag, L = this.L;
      this.drag = null;
      this.plot.hover();
      if (Math.abs(b - a) < 3 || !L || !this.o.onZoom) return;
      const step = x => L.lo + ((Math.min(Math.max(x, PAD.left), PAD.left + L.pw) - PAD.left) / L.pw) * (L.hi - L.lo);
      this.o.onZoom([step(Math.min(a, b)), step(Math.max(a, b))]);
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  }

  get el() { return this.plot.el; }

  _layout(w, hh) {
    const recs = this.o.data.records;
    const pw = w - PAD.left - PAD.right, ph = hh - PAD.top - PAD.bottom;
    const [v0, v1] = valueRange(recs);
    const n = recs.length;
    let s0 = n ? recs[0].step : 0, s1 = n ? recs[n - 1].step : 1;
    if (s1 === s0) { s0 -= 0.5; s1 += 0.5; }
    // a column reaches halfway to each neighbour (half a typical gap at the ends)
    const gap = n > 1 ? (recs[n - 1].step - recs[0].step) / (n - 1) : 1;
    const zoom = this.o.data.range;
    const lo = zoom ? zoom[0] : n ? recs[0].step - gap / 2 : s0, hi = zoom ? Math.max(zoom[1], zoom[0] + 1) : n ? recs[n - 1].step + gap / 2 : s1;
    const xOf = s => PAD.left + ((s - lo) / (hi - lo)) * pw;
    const yOf = v => PAD.top + ph - ((v - v0) / (v1 - v0)) * ph;
    const colEdges = i => [i > 0 ? (recs[i - 1].step + recs[i].step) / 2 : lo,
      i < n - 1 ? (recs[i].step + recs[i + 1].step) / 2 : hi];
    return { recs, pw, ph, v0, v1, lo, hi, xOf, yOf, colEdges };
  }

  _draw(ctx, w, hh, dpr) {
    const T = THEME();
    const L = this._layout(w, hh);
    this.L = L;
    const n = L.recs.length;
    // the cells, straight into device pixels
    const W = Math.round(L.pw * dpr), H = Math.round(L.ph * dpr);
    if (n && W > 0 && H > 0) {
      const img = ctx.createImageData(W, H);
      const px = img.data;
      const [cr, cg, cb] = rgbOf(this.o.color);
      const share = new Float64Array(H), best = new Float64Array(Math.max(1, Math.round(H * SPIKE)));
      for (let i = 0; i < n; i++) {
        const r = L.recs[i];
        const [a, b] = L.colEdges(i);
        const c0 = Math.max(0, Math.round((L.xOf(a) - PAD.left) * dpr));
        const c1 = Math.min(W, Math.round((L.xOf(b) - PAD.left) * dpr));
        if (c1 <= c0) continue;
        // rows bottom (low values) to top, walking the record's bins once
        const cdf = cdfWalker(r);
        let prev = cdf(L.v0);
        best.fill(0);   // the fullest rows' shares, ascending: best[0] is the SPIKE-th fullest
        for (let y = H - 1; y >= 0; y--) {
          const v = L.v0 + ((H - y) / H) * (L.v1 - L.v0);
          const c = cdf(v);
          const sh = share[y] = c - prev; prev = c;
          if (sh > best[0]) {
            let j = 0;
            while (j + 1 < best.length && best[j + 1] < sh) { best[j] = best[j + 1]; j++; }
            best[j] = sh;
          }
        }
        const top = best[0] || best[best.length - 1];
        if (!(top > 0)) continue;
        for (let y = 0; y < H; y++) {
          const t = share[y] / top;
          if (!(t > 0)) continue;
          const alpha = Math.round(255 * Math.min(1, 0.08 + 0.92 * Math.sqrt(t)));
          let o = (y * W + c0) * 4;
          for (let x = c0; x < c1; x++, o += 4) { px[o] = cr; px[o + 1] = cg; px[o + 2] = cb; px[o + 3] = alpha; }
        }
      }
      // putImageData ignores the transform: device pixels
      ctx.putImageData(img, Math.round(PAD.left * dpr), Math.round(PAD.top * dpr));
    }
    // axes over the cells
    ctx.font = FONT; ctx.fillStyle = T.axis; ctx.strokeStyle = T.grid; ctx.lineWidth = 1;
    ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    for (const v of niceTicks(L.v0, L.v1, Math.max(2, Math.floor(L.ph / 40)))) {
      const y = Math.round(L.yOf(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(PAD.left, y); ctx.lineTo(PAD.left + L.pw, y); ctx.stroke();
      ctx.fillText(fmtAxisValue(v, 4), PAD.left - 6, y);
    }
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    const st = niceTicks(L.lo, L.hi, Math.max(2, Math.floor(L.pw / 70))).filter(s => Number.isInteger(s));
    fmtStepTicks(st).forEach((label, k) => ctx.fillText(label, L.xOf(st[k]), PAD.top + L.ph + 4));
  }

  _drawHover(ctx) {
    const hv = this.hovered, L = this.L;
    if (this.drag && L) {
      ctx.fillStyle = THEME().accent; ctx.globalAlpha = 0.15;
      ctx.fillRect(Math.min(this.drag.a, this.drag.b), PAD.top, Math.abs(this.drag.b - this.drag.a), L.ph);
      ctx.globalAlpha = 1;
    }
    if (!hv || !L || !L.recs[hv.index]) return;
    const T = THEME();
    const [a, b] = L.colEdges(hv.index);
    const x0 = L.xOf(a), x1 = L.xOf(b);
    ctx.strokeStyle = T.accent; ctx.lineWidth = 1.5;
    ctx.strokeRect(x0, PAD.top, Math.max(1, x1 - x0), L.ph);
    const r = L.recs[hv.index];
    if (hv.bin >= 0) {
      // the bin: at least 4 px tall, so a thin one shows too
      const y0 = L.yOf(r.edges[hv.bin + 1]), y1 = L.yOf(r.edges[hv.bin]);
      const mid = (y0 + y1) / 2, hh = Math.max(4, y1 - y0);
      ctx.fillStyle = T.accent;
      ctx.fillRect(x0 - 3, mid - hh / 2, Math.max(1, x1 - x0) + 6, hh);
    }
  }

  /** The record and bin under a point of the plot (CSS px), or null. */
  pick(x, y) {
    const L = this.L;
    if (!L || !L.recs.length || x < PAD.left || x > PAD.left + L.pw) return null;
    const step = L.lo + ((x - PAD.left) / L.pw) * (L.hi - L.lo);
    const index = this.o.data.nearest(step);
    const v = L.v0 + ((PAD.top + L.ph - y) / L.ph) * (L.v1 - L.v0);
    return { index, bin: binAt(L.recs[index], v) };
  }

  _move(e) {
    const box = this.plot.overlay.getBoundingClientRect();
    this.hovered = this.pick(e.clientX - box.left, e.clientY - box.top);
    this.plot.hover();
    if (this.o.onHover) this.o.onHover(this.hovered);
  }

  _leave() {
    this.hovered = null;
    this.plot.hover();
    if (this.o.onHover) this.o.onHover(null);
  }

  hoverAt(index, bin) {
    this.hovered = index == null ? null : { index, bin };
    this.plot.hover();
  }

  draw() { this.plot.draw(); }

  snapshot() {
    const L = this.L;
    return { kind: 'heatmap', drawCount: this.plot.drawCount, drawMs: this.plot.drawMs,
      records: this.o.data.records.length, width: this.plot.w, height: this.plot.h,
      // the cells' box in the canvas (CSS px) and the steps and values at its edges
      plot: L ? { left: PAD.left, top: PAD.top, width: L.pw, height: L.ph, x: [L.lo, L.hi], y: [L.v0, L.v1] } : null };
  }

  destroy() { this.plot.destroy(); }
}
