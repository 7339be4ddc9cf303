// The whole view state in the query string, so a link reopens the same view:
//   view=overview|detail  model=M  stat=S (repeated)  hide=[[model, series], ...]
//   x=step|wall|rel  c={chartId: {m, w, l, x, y}}  img=NAME  istep=STEP
//   cmp=[model, ...]  cstep=STEP   (the compare view of image name img)
//   view=runs  rt={s: sort key, d: 1|-1, f: filter, t: [tags], h: [hidden columns],
//              b: {config key: [lo, hi] | {v: [values]}}, pm: metric, mm: {series: 'best'}}
//   sel=[model, ...]   the runs selected in the runs table, the only ones the overview shows
//   color=SPEC  group=SPEC  band=minmax|std|none   (overview; SPEC = config:KEY or name:REGEX)
import { DEFAULT_STATE } from './chart.js';

const X_MODES = new Set(['step', 'wall', 'rel']);
const VIEWS = new Set(['overview', 'detail', 'runs']);
const BANDS = new Set(['minmax', 'std', 'none']);
const isSpec = v => typeof v === 'string' && /^(config|name):./s.test(v);

function parseJSON(text, fallback) {
  if (!text) return fallback;
  try { return JSON.parse(text); } catch (_) { return fallback; }
}

export function readUrl(search = location.search) {
  const p = new URLSearchParams(search);
  const hidden = parseJSON(p.get('hide'), []);
  const istep = p.get('istep');
  const cmp = parseJSON(p.get('cmp'), null);
  const cstep = p.get('cstep');
  return {
    view: VIEWS.has(p.get('view')) ? p.get('view') : 'overview',
    model: p.get('model'),
    stats: p.getAll('stat'),
    hidden: Array.isArray(hidden) ? hidden.filter(x => Array.isArray(x) && x.length === 2) : [],
    xMode: X_MODES.has(p.get('x')) ? p.get('x') : 'step',
    charts: parseJSON(p.get('c'), {}) || {},
    img: p.get('img'),
    istep: istep != null && istep !== '' && Number.isFinite(Number(istep)) ? Number(istep) : null,
    cmp: Array.isArray(cmp) && cmp.length && cmp.every(m => typeof m === 'string') ? cmp : null,
    cstep: cstep != null && cstep !== '' && Number.isFinite(Number(cstep)) ? Number(cstep) : null,
    rt: (v => (v && typeof v === 'object' && !Array.isArray(v) ? v : {}))(parseJSON(p.get('rt'), {})),
    sel: (v => (Array.isArray(v) && v.every(m => typeof m === 'string') ? v : null))(parseJSON(p.get('sel'), null)),
    color: isSpec(p.get('color')) ? p.get('color') : null,
    group: isSpec(p.get('group')) ? p.get('group') : null,
    band: BANDS.has(p.get('band')) ? p.get('band') : 'minmax',
  };
}

export function toQuery(s) {
  const p = new URLSearchParams();
  if (s.view !== 'overview') p.set('view', s.view);
  if (s.model != null) p.set('model', s.model);
  for (const st of s.stats || []) p.append('stat', st);
  if (s.hidden && s.hidden.length) p.set('hide', JSON.stringify(s.hidden));
  if (s.xMode && s.xMode !== 'step') p.set('x', s.xMode);
  const charts = Object.entries(s.charts || {}).filter(([, v]) => v && Object.keys(v).length);
  if (charts.length) p.set('c', JSON.stringify(Object.fromEntries(charts)));
  if (s.view === 'detail' && s.img != null) p.set('img', s.img);
  if (s.view === 'detail' && s.istep != null) p.set('istep', String(s.istep));
  if (s.view === 'detail' && s.img != null && s.cmp) {
    p.set('cmp', JSON.stringify(s.cmp));
    if (s.cstep != null) p.set('cstep', String(s.cstep));
  }
  if (s.rt && Object.keys(s.rt).length) p.set('rt', JSON.stringify(s.rt));
  if (s.sel) p.set('sel', JSON.stringify(s.sel));
  if (s.color) p.set('color', s.color);
  if (s.group) p.set('group', s.group);
  if (s.band && s.band !== 'minmax') p.set('band', s.band);
  const q = p.toString();
  return q ? `?${q}` : location.pathname;
}

let timer = null;
/** Replace the URL (debounced); push=true adds a history entry at once (navigation). */
export function writeUrl(s, push = false) {
  clearTimeout(timer);
  if (push) { history.pushState(null, '', toQuery(s)); return; }
  timer = setTimeout(() => history.replaceState(null, '', toQuery(s)), 150);
}

function round(v) { return Number(Number(v).toPrecision(10)); }

/** Chart state → compact URL form (only what differs from the defaults). */
export function encodeChart(st) {
  const o = {};
  if (st.mode !== DEFAULT_STATE.mode) o.m = st.mode;
  if (st.smooth !== DEFAULT_STATE.smooth) o.w = st.smooth;
  if (st.logY) o.l = 1;
  if (st.x) o.x = st.x.map(round);
  if (st.y) o.y = st.y.map(v => (v == null ? null : round(v)));
  if (st.robust) o.r = 1;
  return o;
}

export function decodeChart(o) {
  const st = {};
  if (!o || typeof o !== 'object') return st;
  if (['auto', 'raw', 'smooth', 'candle'].includes(o.m)) st.mode = o.m;
  if (Number.isFinite(o.w) && o.w >= 0 && o.w < 1) st.smooth = o.w;
  if (o.l) st.logY = true;
  const pair = v => Array.isArray(v) && v.length === 2 && v.every(Number.isFinite) && v[1] > v[0];
  if (pair(o.x)) st.x = o.x;
  // y: either bound may be null (automatic)
  const half = v => Array.isArray(v) && v.length === 2 && v.some(Number.isFinite) &&
    v.every(b => b === null || Number.isFinite(b)) && !(v[0] != null && v[1] != null && !(v[1] > v[0]));
  if (half(o.y)) st.y = o.y;
  if (o.r) st.robust = true;
  return st;
}
