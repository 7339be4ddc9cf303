// Path builders that draw a series from its buckets (not from samples), so a single
// spike among millions of points is always drawn: each bucket contributes its first,
// min, max and last value (the M4 shape), which is what a full draw at pixel
// resolution would show. All coordinates are canvas pixels (uPlot's `true` flag).

const FAR = 1e7;

export function xPix(u, x) {
  const p = u.valToPos(x, 'x', true);
  return p < -FAR ? -FAR : p > FAR ? FAR : p;
}

/** y pixel; +∞ pins to the top edge, −∞ (and ≤ 0 on a log scale) to the bottom. */
export function yPix(u, v) {
  const top = u.bbox.top, bot = u.bbox.top + u.bbox.height;
  if (v === Infinity) return top;
  if (v === -Infinity) return bot;
  if (u.scales.y.distr === 3 && v <= 0) return bot;
  const p = u.valToPos(v, 'y', true);
  return p < -FAR ? -FAR : p > FAR ? FAR : p;
}

function usable(v) { return !Number.isNaN(v); }

/**
 * M4 line: per bucket first → min → max → last; a bucket with only NaN breaks the
 * line. A run of one bucket is drawn as a small ring so a lone point is visible.
 */
export function m4Path(u, b, xa, xb) {
  const p = new Path2D();
  let run = 0, lastX = 0, lastY = 0;
  const endRun = () => {
    if (run === 1) { p.moveTo(lastX + 2, lastY); p.arc(lastX, lastY, 2, 0, 2 * Math.PI); }
    run = 0;
  };
  for (let i = 0; i < b.length; i++) {
    const lo = b.min[i], hi = b.max[i];
    if (!usable(lo) && !usable(hi)) { endRun(); continue; }
    const x0 = xPix(u, xa[i]), x1 = xPix(u, xb[i]), xm = (x0 + x1) / 2;
    const f = usable(b.first[i]) ? b.first[i] : lo;
    const l = usable(b.last[i]) ? b.last[i] : hi;
    const yf = yPix(u, f), yl = yPix(u, l);
    if (run === 0) p.moveTo(x0, yf); else p.lineTo(x0, yf);
    if (b.count[i] > 1) {
      // visit the extreme nearer the first value first, so the path does not zig-zag
      const ylo = yPix(u, lo), yhi = yPix(u, hi);
      if (Math.abs(yf - ylo) < Math.abs(yf - yhi)) { p.lineTo(xm, ylo); p.lineTo(xm, yhi); }
      else { p.lineTo(xm, yhi); p.lineTo(xm, ylo); }
    }
    p.lineTo(x1, yl);
    run++; lastX = x1; lastY = yl;
  }
  endRun();
  return p;
}

/** Polyline through per-bucket values (smoothed curve); NaN breaks it. */
export function valuePath(u, vals, xa, xb) {
  const p = new Path2D();
  let run = 0, lastX = 0, lastY = 0;
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    if (!Number.isFinite(v)) {
      if (run === 1) { p.moveTo(lastX + 2, lastY); p.arc(lastX, lastY, 2, 0, 2 * Math.PI); }
      run = 0; continue;
    }
    const x = xPix(u, (xa[i] + xb[i]) / 2), y = yPix(u, v);
    if (run === 0) p.moveTo(x, y); else p.lineTo(x, y);
    run++; lastX = x; lastY = y;
  }
  if (run === 1) { p.moveTo(lastX + 2, lastY); p.arc(lastX, lastY, 2, 0, 2 * Math.PI); }
  return p;
}

/**
 * Candlesticks: a wick from min to max and a body from first to last per bucket.
 * `cellA`/`cellB` give each bucket's full cell extent in x units (for the width).
 */
export function candlePaths(u, b, cellA, cellB) {
  const wicks = new Path2D(), bodies = new Path2D();
  const px = window.devicePixelRatio || 1;
  for (let i = 0; i < b.length; i++) {
    const lo = b.min[i], hi = b.max[i];
    if (!usable(lo) && !usable(hi)) continue;
    const x0 = xPix(u, cellA[i]), x1 = xPix(u, cellB[i]);
    const cx = Math.round((x0 + x1) / 2);
    const bw = Math.max(px, Math.floor(Math.abs(x1 - x0) * 0.7));
    const ylo = yPix(u, usable(lo) ? lo : hi), yhi = yPix(u, usable(hi) ? hi : lo);
    wicks.moveTo(cx, ylo); wicks.lineTo(cx, yhi);
    const f = usable(b.first[i]) ? b.first[i] : lo, l = usable(b.last[i]) ? b.last[i] : hi;
    const yf = yPix(u, f), yl = yPix(u, l);
    const top = Math.min(yf, yl), ht = Math.max(px, Math.abs(yl - yf));
    bodies.rect(cx - bw / 2, top, bw, ht);
  }
  return { wicks, bodies };
}

/** Whether any bucket holds NaN or ±∞ (what drawMarkers marks). */
export function hasMarks(b) {
  for (let i = 0; i < b.length; i++) {
    if (b.nans[i] > 0 || b.max[i] === Infinity || b.min[i] === -Infinity) return true;
  }
  return false;
}

/**
 * Mark buckets holding NaN (a small ring on the bottom edge) and ±∞ (a triangle on
 * the top / bottom edge). Drawn straight on the canvas after the series.
 */
export function drawMarkers(u, b, xa, xb, color) {
  const ctx = u.ctx;
  const px = window.devicePixelRatio || 1;
  const top = u.bbox.top, bot = u.bbox.top + u.bbox.height;
  const left = u.bbox.left, right = u.bbox.left + u.bbox.width;
  const r = 3.5 * px;
  ctx.save();
  ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 1.5 * px;
  for (let i = 0; i < b.length; i++) {
    const x = xPix(u, (xa[i] + xb[i]) / 2);
    if (x < left - r || x > right + r) continue;
    if (b.nans[i] > 0) {
      ctx.beginPath(); ctx.arc(x, bot - r - px, r, 0, 2 * Math.PI); ctx.stroke();
    }
    if (b.max[i] === Infinity) {
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x - r, top + 2 * r); ctx.lineTo(x + r, top + 2 * r);
      ctx.closePath(); ctx.fill();
    }
    if (b.min[i] === -Infinity) {
      ctx.beginPath(); ctx.moveTo(x, bot); ctx.lineTo(x - r, bot - 2 * r); ctx.lineTo(x + r, bot - 2 * r);
      ctx.closePath(); ctx.fill();
    }
  }
  ctx.restore();
}
