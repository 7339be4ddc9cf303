// Chart gestures beyond uPlot's own drag-to-zoom: ctrl/⌘ + wheel or a pinch zooms
// around the pointer (a plain wheel scrolls the page, as on maps), shift+drag (or
// one-finger drag) pans, double-click resets. Zooming out stops at the data.

/** uPlot cursor.bind overrides: shift+mousedown pans instead of selecting. */
export function cursorBind(chart) {
  return {
    mousedown: (u, targ, handler) => e => {
      if (e.button !== 0) return;
      if (e.shiftKey) { startPan(chart, e.clientX); return; }   // (listener is passive)
      handler(e);
    },
    dblclick: () => null,   // ours resets the zoom and drops zoomed fetches
  };
}

function startPan(chart, clientX0) {
  const u = chart.u;
  const x0 = u.scales.x.min, x1 = u.scales.x.max;
  const perPx = (x1 - x0) / (u.bbox.width / (window.devicePixelRatio || 1));
  chart.el.classList.add('panning');
  const move = e => {
    const d = (e.clientX - clientX0) * perPx;
    setX(chart, x0 - d, x1 - d);
  };
  const up = () => {
    window.removeEventListener('mousemove', move);
    window.removeEventListener('mouseup', up);
    chart.el.classList.remove('panning');
  };
  window.addEventListener('mousemove', move);
  window.addEventListener('mouseup', up);
}

/**
 * Set the x range to [a, b] kept inside the data: a range as wide as the data or
 * wider is the whole (automatic) range; a narrower one is moved back inside.
 */
export function setX(chart, a, b) {
  const [lo, hi] = chart._extents();
  if (b - a >= hi - lo) { if (chart.state.x) chart.resetZoom(); return; }
  if (a < lo) { b += lo - a; a = lo; }
  if (b > hi) { a -= b - hi; b = hi; }
  chart.u.setScale('x', { min: a, max: b });
}

/** Zoom the x scale by `factor` (<1 zooms in) around the x value under `px`. */
export function zoomAround(chart, px, factor) {
  const u = chart.u;
  const min = u.scales.x.min, max = u.scales.x.max;
  const at = u.posToVal(px, 'x');
  const a = at - (at - min) * factor, b = at + (max - at) * factor;
  if (chart.xMode === 'step' && b - a < 2) return;   // no finer than a couple of steps
  setX(chart, a, b);
}

export function installInteractions(chart) {
  const u = chart.u;
  const over = u.over;

  over.addEventListener('wheel', e => {
    // a plain wheel scrolls the page; ctrl/⌘ + wheel zooms, and a trackpad pinch
    // arrives as a wheel event with ctrlKey
    if (!e.ctrlKey && !e.metaKey) return;
    e.preventDefault();
    const k = Math.abs(e.deltaY) < 50 ? 0.01 : 0.0015;
    const factor = Math.exp(Math.max(-0.5, Math.min(0.5, e.deltaY * k)));
    zoomAround(chart, e.offsetX, factor);
  }, { passive: false });

  over.addEventListener('dblclick', e => {
    e.preventDefault();
    chart.resetZoom();
  });

  // touch: one finger pans, two fingers pinch-zoom
  let touch = null;
  over.addEventListener('touchstart', e => {
    const r = over.getBoundingClientRect();
    const xs = [...e.touches].map(t => t.clientX - r.left);
    touch = { xs, min: u.scales.x.min, max: u.scales.x.max };
  }, { passive: true });
  over.addEventListener('touchmove', e => {
    if (!touch) return;
    e.preventDefault();
    const r = over.getBoundingClientRect();
    const xs = [...e.touches].map(t => t.clientX - r.left);
    const span = touch.max - touch.min;
    const w = u.bbox.width / (window.devicePixelRatio || 1);
    if (xs.length === 1 && touch.xs.length === 1) {
      const d = (xs[0] - touch.xs[0]) / w * span;
      setX(chart, touch.min - d, touch.max - d);
    } else if (xs.length >= 2 && touch.xs.length >= 2) {
      const d0 = Math.abs(touch.xs[1] - touch.xs[0]) || 1, d1 = Math.abs(xs[1] - xs[0]) || 1;
      const c = (touch.xs[0] + touch.xs[1]) / 2;
      const at = touch.min + c / w * span;
      const f = d0 / d1;
      setX(chart, at - (at - touch.min) * f, at + (touch.max - at) * f);
    }
  }, { passive: false });
  over.addEventListener('touchend', () => { touch = null; });
}
