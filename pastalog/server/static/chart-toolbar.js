// The controls above a chart: display mode, smoothing weight, log y, manual scale
// (typed min/max for x and y), reset zoom.
import { h } from './dom.js';

const MODES = [['auto', 'auto'], ['raw', 'raw'], ['smooth', 'smoothed'], ['candle', 'candlestick']];

function parseX(text, xMode) {
  const t = text.trim();
  if (t === '') return null;
  const n = Number(t);
  if (Number.isFinite(n)) return n;
  if (xMode === 'wall') {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms / 1000;
  }
  return NaN;
}

export function buildToolbar(chart) {
  const mode = h('select', { class: 'tb-mode', title: 'display mode', 'aria-label': 'display mode',
    onchange: () => chart.update({ mode: mode.value }) },
  ...MODES.map(([v, label]) => h('option', { value: v, text: label })));
  const smooth = h('input', { class: 'tb-smooth', type: 'range', min: '0', max: '0.99', step: '0.01',
    title: 'smoothing weight', 'aria-label': 'smoothing weight',
    oninput: () => { smoothLabel.textContent = Number(smooth.value).toFixed(2); chart.update({ smooth: Number(smooth.value) }); } });
  const smoothLabel = h('span', { class: 'tb-smooth-label' });
  const smoothBox = h('label', { class: 'tb-smooth-box', title: 'smoothing weight' }, 'smoothing ', smooth, smoothLabel);
  const logY = h('input', { type: 'checkbox', class: 'tb-logy', onchange: () => chart.update({ logY: logY.checked }) });
  const logBox = h('label', { class: 'tb-check', title: 'logarithmic y axis' }, logY, ' log y');

  const inputs = {};
  for (const k of ['x0', 'x1', 'y0', 'y1']) {
    inputs[k] = h('input', { type: 'text', class: `tb-${k}`, size: '9', 'aria-label': k,
      placeholder: { x0: 'x min', x1: 'x max', y0: 'y min', y1: 'y max' }[k],
      onkeydown: e => { if (e.key === 'Enter') apply(); } });
  }
  const errorEl = h('span', { class: 'tb-error' });
  const apply = () => {
    const x0 = parseX(inputs.x0.value, chart.xMode), x1 = parseX(inputs.x1.value, chart.xMode);
    const y0 = inputs.y0.value.trim() === '' ? null : Number(inputs.y0.value);
    const y1 = inputs.y1.value.trim() === '' ? null : Number(inputs.y1.value);
    errorEl.textContent = '';
    const patch = {};
    if (x0 != null || x1 != null) {
      if (!(Number.isFinite(x0) && Number.isFinite(x1) && x1 > x0)) { errorEl.textContent = 'x: need min < max'; return; }
      patch.x = [x0, x1];
    } else patch.x = null;
    if (y0 != null || y1 != null) {
      if (!(Number.isFinite(y0) && Number.isFinite(y1) && y1 > y0)) { errorEl.textContent = 'y: need min < max'; return; }
      if (chart.state.logY && y0 <= 0) { errorEl.textContent = 'log y: min must be > 0'; return; }
      patch.y = [y0, y1];
    } else patch.y = null;
    chart.update(patch);
  };
  const auto = () => {
    for (const i of Object.values(inputs)) i.value = '';
    errorEl.textContent = '';
    chart.update({ y: null, x: null });
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
  const fmt = v => (v == null || !Number.isFinite(v) ? '' : String(Number(v.toPrecision(8))));
  const fill = () => {
    const u = chart.u;
    if (!u) return;
    inputs.x0.value = fmt(u.scales.x.min); inputs.x1.value = fmt(u.scales.x.max);
    inputs.y0.value = fmt(u.scales.y.min); inputs.y1.value = fmt(u.scales.y.max);
  };
  const reset = h('button', { type: 'button', class: 'tb-reset', text: 'reset zoom',
    title: 'reset zoom (double-click the chart)', onclick: () => chart.update({ x: null, y: null }) });

  const el = h('div', { class: 'chart-toolbar' }, mode, smoothBox, logBox, scaleBtn, reset, scalePanel);
  const sync = () => {
    const s = chart.state;
    mode.value = s.mode;
    smooth.value = String(s.smooth);
    smoothLabel.textContent = Number(s.smooth).toFixed(2);
    smoothBox.hidden = s.mode !== 'smooth';
    logY.checked = !!s.logY;
    scaleBtn.classList.toggle('active', !!s.y);
  };
  sync();
  return { el, sync };
}
