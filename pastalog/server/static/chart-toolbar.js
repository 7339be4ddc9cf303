// The controls above a chart: display mode, smoothing weight, log y, "ignore
// outliers" (a robust y range), manual scale (typed min/max for x and y, only the
// fields typed are fixed), reset zoom. The toolbar keeps its size whatever is shown:
// the smoothing slider keeps its place when hidden and the scale panel floats below.
import { h } from './dom.js';
import { fmtTime } from './format.js';

const MODES = [['auto', 'auto'], ['raw', 'raw'], ['smooth', 'smoothed'], ['candle', 'candles']];

/** A typed x bound: a number, or in wall-time mode a date; null when empty, NaN when unreadable. */
export function parseX(text, xMode) {
  const t = text.trim();
  if (t === '') return null;
  const n = Number(t);
  if (Number.isFinite(n)) return n;
  if (xMode === 'wall') {
    // "YYYY-MM-DD HH:MM:SS" is local time, as fmtTime shows it
    const ms = Date.parse(t.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms / 1000;
  }
  return NaN;
}

function parseY(text) {
  const t = text.trim();
  return t === '' ? null : Number(t);
}

export function buildToolbar(chart) {
  const mode = h('select', { class: 'tb-mode', title: 'display mode', 'aria-label': 'display mode',
    onchange: () => chart.update({ mode: mode.value }) },
  ...MODES.map(([v, label]) => h('option', { value: v, text: label })));
  const smooth = h('input', { class: 'tb-smooth', type: 'range', min: '0', max: '0.99', step: '0.01',
    title: 'smoothing weight', 'aria-label': 'smoothing weight',
    oninput: () => { smoothLabel.textContent = Number(smooth.value).toFixed(2); chart.update({ smooth: Number(smooth.value) }); } });
  const smoothLabel = h('span', { class: 'tb-smooth-label' });
  const smoothBox = h('label', { class: 'tb-smooth-box', title: 'smoothing weight' }, smooth, smoothLabel);
  const logY = h('input', { type: 'checkbox', class: 'tb-logy', onchange: () => chart.update({ logY: logY.checked }) });
  const logBox = h('label', { class: 'tb-check', title: 'logarithmic y axis' }, logY, ' log y');
  const robust = h('input', { type: 'checkbox', class: 'tb-robust', onchange: () => chart.update({ robust: robust.checked }) });
  const robustBox = h('label', { class: 'tb-check', title: 'ignore outliers: y range from the 1st to the 99th percentile' },
    robust, ' robust y');

  const inputs = {};
  for (const k of ['x0', 'x1', 'y0', 'y1']) {
    inputs[k] = h('input', { type: 'text', class: `tb-${k}`, 'aria-label': { x0: 'x min', x1: 'x max', y0: 'y min', y1: 'y max' }[k],
      onkeydown: e => { if (e.key === 'Enter') apply(); } });
  }
  const errorEl = h('span', { class: 'tb-error' });
  const apply = () => {
    const x0 = parseX(inputs.x0.value, chart.xMode), x1 = parseX(inputs.x1.value, chart.xMode);
    const y0 = parseY(inputs.y0.value), y1 = parseY(inputs.y1.value);
    errorEl.textContent = '';
    const patch = {};
    // an empty field stays automatic: x from the data's extent, y from what is visible
    if (x0 != null || x1 != null) {
      const [lo, hi] = chart._extents();
      const a = x0 ?? lo, b = x1 ?? hi;
      if (!(Number.isFinite(a) && Number.isFinite(b) && b > a)) { errorEl.textContent = 'x: need min < max'; return; }
      patch.x = [a, b];
    } else if (chart.state.x) patch.x = null;
    if (y0 != null || y1 != null) {
      if ((y0 != null && !Number.isFinite(y0)) || (y1 != null && !Number.isFinite(y1)) || (y0 != null && y1 != null && !(y1 > y0))) {
        errorEl.textContent = 'y: need min < max'; return;
      }
      if (chart.state.logY && y0 != null && y0 <= 0) { errorEl.textContent = 'log y: min must be > 0'; return; }
      patch.y = [y0, y1];
    } else patch.y = null;
    chart.update(patch);
    fill();
  };
  const auto = () => {
    for (const i of Object.values(inputs)) i.value = '';
    errorEl.textContent = '';
    chart.update({ y: null, x: null });
    fill();
  };
  const scalePanel = h('div', { class: 'tb-scale', hidden: true },
    h('span', { class: 'tb-scale-label', text: 'x' }), inputs.x0, '–', inputs.x1,
    h('span', { class: 'tb-scale-label', text: 'y' }), inputs.y0, '–', inputs.y1,
    h('button', { type: 'button', class: 'tb-apply', text: 'apply', onclick: apply }),
    h('button', { type: 'button', class: 'tb-auto', text: 'auto', onclick: auto }),
    errorEl);
  const scaleBtn = h('button', { type: 'button', class: 'tb-scale-btn', text: 'scale…', title: 'manual scale',
    'aria-expanded': 'false',
    onclick: () => {
      scalePanel.hidden = !scalePanel.hidden;
      scaleBtn.setAttribute('aria-expanded', String(!scalePanel.hidden));
      if (!scalePanel.hidden) fill();
    } });
  const fmtNum = v => (v == null || !Number.isFinite(v) ? '' : String(Number(v.toPrecision(8))));
  /** Empty fields show the current range as a hint (dates in wall-time mode). */
  const fill = () => {
    const u = chart.u;
    const wall = chart.xMode === 'wall';
    scalePanel.classList.toggle('wall', wall);
    if (!u || scalePanel.hidden || u.scales.x.min == null) return;
    const fx = wall ? fmtTime : fmtNum;
    inputs.x0.placeholder = fx(u.scales.x.min); inputs.x1.placeholder = fx(u.scales.x.max);
    inputs.y0.placeholder = fmtNum(u.scales.y.min); inputs.y1.placeholder = fmtNum(u.scales.y.max);
    const y = chart.state.y;
    if (!y) { inputs.y0.value = ''; inputs.y1.value = ''; }
  };
  const reset = h('button', { type: 'button', class: 'tb-reset', text: '⟲', 'aria-label': 'reset zoom',
    title: 'reset zoom (double-click the chart)', onclick: () => chart.update({ x: null, y: null }) });

  const el = h('div', { class: 'chart-toolbar' }, smoothBox, mode, logBox, robustBox, scaleBtn, reset, scalePanel);
  const sync = () => {
    const s = chart.state;
    mode.value = s.mode;
    smooth.value = String(s.smooth);
    smoothLabel.textContent = Number(s.smooth).toFixed(2);
    smoothBox.classList.toggle('invisible', s.mode !== 'smooth');
    logY.checked = !!s.logY;
    robust.checked = !!s.robust;
    scaleBtn.classList.toggle('active', !!s.y);
    if (!scalePanel.hidden) fill();
  };
  sync();
  return { el, sync, fill };
}
