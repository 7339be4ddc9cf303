// The page: header (navigation, x-axis mode, live badge), the current view, the
// websocket, and the read-only debug hook window.__pastalog used by the browser tests.
import { h, clear } from './dom.js';
import { shortName } from './format.js';
import { isLocked, onLockChange } from './api.js';
import { Catalog } from './catalog.js';
import { Live } from './live.js';
import { readUrl, writeUrl } from './url-state.js';
import { mountOverview } from './overview.js';
import { mountDetail } from './detail.js';
import { mountRuns } from './runs-table.js';
import { RunsStore } from './runs.js';
import { setRestartSource } from './chart.js';

const catalog = new Catalog();
const runs = new RunsStore(catalog);
setRestartSource(model => runs.restartSteps(model));
// restart markers come with the runs: redraw the charts when runs change
runs.on(() => { if (view) for (const c of view.charts()) if (c.scheduleDraw) c.scheduleDraw(); });
let S = readUrl();
let view = null;
let badge, xSelect, modelSelect, navOverview, navRuns, notice, themeSelect;

const THEME_KEY = 'pastalog.theme';

/** Light, dark or auto (the OS preference); remembered in this browser. */
function applyTheme(theme) {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

function save() { writeUrl(S); }

function notify(text) {
  notice.textContent = text;
  notice.hidden = !text;
  clearTimeout(notify.t);
  if (text) notify.t = setTimeout(() => { notice.hidden = true; }, 6000);
}

/** Go to another view (adds a history entry). */
function navigate(patch) {
  const next = { ...S, ...patch };
  if (patch.view && patch.view !== S.view) { next.charts = {}; next.img = null; next.istep = null; }
  if (patch.model !== undefined && patch.model !== S.model) { next.img = null; next.istep = null; }
  S = next;
  writeUrl(S, true);
  mount();
}

const ctx = {
  catalog,
  runs,
  get S() { return S; },
  save, notify, navigate,
};

function mount() {
  if (view) view.destroy();
  view = null;
  const root = document.getElementById('view');
  clear(root);
  if (S.view === 'detail' && S.model == null) S.model = catalog.modelNames()[0] ?? null;
  document.title = S.view === 'detail' && S.model != null ? `${S.model} · pastalog` : 'pastalog';
  if (S.view === 'runs') document.title = 'runs · pastalog';
  view = S.view === 'detail' ? mountDetail(root, ctx) : S.view === 'runs' ? mountRuns(root, ctx) : mountOverview(root, ctx);
  syncHeader();
}

function syncHeader() {
  navOverview.setAttribute('aria-current', S.view === 'overview' ? 'page' : 'false');
  navRuns.setAttribute('aria-current', S.view === 'runs' ? 'page' : 'false');
  xSelect.value = S.xMode;
  clear(modelSelect);
  modelSelect.appendChild(h('option', { value: '', text: 'model…' }));
  for (const m of catalog.modelNames()) modelSelect.appendChild(h('option', { value: m, text: shortName(m, 30), title: m }));
  modelSelect.value = S.view === 'detail' && S.model != null ? S.model : '';
  modelSelect.classList.toggle('current', S.view === 'detail');
}

let lastStatus = { state: 'connecting', retryIn: null };
function setBadge(status) {
  lastStatus = status;
  if (isLocked()) {
    // the socket is refused until the token is given: say that, not "disconnected"
    badge.dataset.state = 'locked';
    badge.textContent = 'waiting for the token';
    badge.title = 'this server needs its token; live updates start once it is given';
    return;
  }
  const { state, retryIn } = status;
  badge.dataset.state = state;
  badge.textContent = state === 'live' ? 'live'
    : state === 'down' ? `disconnected — retrying in ${Math.max(1, Math.round(retryIn / 1000))} s`
      : state === 'reconnecting' ? 'reconnecting…' : 'connecting…';
  badge.title = state === 'live' ? 'receiving new points as they are logged' : 'not receiving live updates';
}

function buildHeader() {
  navOverview = h('a', { href: '/', class: 'nav-link', text: 'Overview',
    onclick: e => { if (!e.ctrlKey && !e.metaKey) { e.preventDefault(); navigate({ view: 'overview' }); } } });
  navRuns = h('a', { href: '?view=runs', class: 'nav-link nav-runs', text: 'Runs',
    onclick: e => { if (!e.ctrlKey && !e.metaKey) { e.preventDefault(); navigate({ view: 'runs' }); } } });
  modelSelect = h('select', { class: 'model-select', 'aria-label': 'model detail',
    onchange: () => { if (modelSelect.value) navigate({ view: 'detail', model: modelSelect.value }); } });
  xSelect = h('select', { class: 'x-mode', 'aria-label': 'x axis',
    onchange: () => { S.xMode = xSelect.value; save(); if (view) view.setXMode(S.xMode); } },
  h('option', { value: 'step', text: 'x: step' }),
  h('option', { value: 'wall', text: 'x: wall time' }),
  h('option', { value: 'rel', text: 'x: relative time' }));
  themeSelect = h('select', { class: 'theme-select', 'aria-label': 'theme', title: 'theme',
    onchange: () => {
      localStorage.setItem(THEME_KEY, themeSelect.value);
      applyTheme(themeSelect.value);
      mount();   // the charts draw with the theme's colours
    } },
  h('option', { value: 'auto', text: 'theme: auto' }),
  h('option', { value: 'light', text: 'theme: light' }),
  h('option', { value: 'dark', text: 'theme: dark' }));
  themeSelect.value = localStorage.getItem(THEME_KEY) || 'auto';
  badge = h('span', { class: 'live-badge', role: 'status', 'aria-live': 'polite' });
  onLockChange(() => setBadge(lastStatus));
  notice = h('div', { class: 'notice', role: 'alert', hidden: true });
  const header = h('header', { class: 'top' },
    h('a', { href: '/', class: 'brand', text: 'pastalog',
      onclick: e => { if (!e.ctrlKey && !e.metaKey) { e.preventDefault(); navigate({ view: 'overview' }); } } }),
    h('nav', {}, navOverview, navRuns, modelSelect),
    h('div', { class: 'spacer' }), xSelect, themeSelect, badge);
  document.body.prepend(header, notice);
}

function installDebugHook(live) {
  const hook = {
    /** A fresh plain-object snapshot of what the page shows (read-only). */
    state: () => ({
      view: S.view,
      model: S.model,
      url: location.search,
      live: live.state,
      eventsReceived: live.received,
      runs: view && view.debug ? view.debug() : null,   // the runs table (runs-table.js)
      runsLoaded: runs.loaded,
      drawn: performance.getEntriesByName('pastalog:drawn').length > 0,
      models: catalog.modelNames(),
      charts: view ? view.charts().map(c => c.snapshot()) : [],
      histograms: view && view.hists ? view.hists.snapshot() : [],
    }),
  };
  Object.defineProperty(window, '__pastalog', { value: Object.freeze(hook), writable: false, configurable: false });
}

async function main() {
  applyTheme(localStorage.getItem(THEME_KEY) || 'auto');
  buildHeader();
  const live = new Live({
    onEvents: evs => {
      // events reach the charts in order, with their sequence numbers (chart-data.js)
      if (view) view.onPoints(evs);
      catalog.apply(evs);
      runs.apply(evs);
      if (view) view.onEvents(evs);
      syncHeaderSoon();
    },
    onStatus: setBadge,
    onOpen: async () => {
      // the first open after the page loaded, or any reopen: catch up on what the
      // page may have missed (a view mounted before the socket opened, or a gap)
      if (!view) return;
      try { await catalog.load(); } catch (e) { notify(`could not reload: ${e.message}`); return; }
      if (runs.loaded) runs.load(true).catch(e => notify(`could not reload runs: ${e.message}`));
      view.catchUp();
      syncHeader();
    },
  });
  installDebugHook(live);
  onLockChange(locked => { if (!locked) live.retryNow(); });
  // connect and load at once; if the socket opens only after the view mounted, the
  // view catches up on what arrived in between (onOpen)
  live.start();
  try {
    await catalog.load();
  } catch (e) {
    notify(`could not load models: ${e.message}`);
  }
  mount();
  runs.load().catch(e => notify(`could not load runs: ${e.message}`));
  runs.watchStale();
  window.addEventListener('popstate', () => { S = readUrl(); mount(); });
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  dark.addEventListener('change', () => { if (!document.documentElement.dataset.theme) mount(); });
}

let headerTimer = null;
function syncHeaderSoon() {
  if (headerTimer) return;
  headerTimer = setTimeout(() => { headerTimer = null; if (modelSelect.options.length - 1 !== catalog.models.size) syncHeader(); }, 300);
}

main();
