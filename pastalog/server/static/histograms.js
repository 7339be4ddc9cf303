// Histograms of one model in the detail view: a card per histogram name with
// TensorBoard's two views, "distribution" (quantile bands over steps,
// hist-distribution.js) and "histograms" (a step × value heatmap, hist-heatmap.js),
// a toggle between them remembered per name in this browser, a readout of the
// hovered (else the latest) step, NaN/±inf counts when there are any, live records
// from the websocket's "histogram" events.
import * as api from './api.js';
import { h, clear, perFrame } from './dom.js';
import { confirmDialog } from './dialogs.js';
import { fmtStep, fmtValue, fmtAxisValue, fmtTime, shortName } from './format.js';
import { paletteColor } from './colors.js';
import { PERCENTS } from './quantiles.js';
import { HistData } from './hist-data.js';
import { DistributionView } from './hist-distribution.js';
import { HeatmapView } from './hist-heatmap.js';

export const MODES = Object.freeze({ distribution: DistributionView, histograms: HeatmapView });
const MODE_KEY = 'pastalog.histView';
const HEIGHT = 240;

/** The view remembered for a histogram name (localStorage), 'distribution' by default. */
export function modeFor(name) {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(MODE_KEY) || '{}') || {}; } catch (_) { saved = {}; }
  return Object.hasOwn(MODES, saved[name]) ? saved[name] : 'distribution';
}

function rememberMode(name, mode) {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(MODE_KEY) || '{}') || {}; } catch (_) { saved = {}; }
  if (mode === 'distribution') delete saved[name]; else saved[name] = mode;
  localStorage.setItem(MODE_KEY, JSON.stringify(saved));
}

/** A number in a readout: 4 significant digits, NaN and ±∞ spelled out. */
const short = v => (Number.isFinite(v) ? fmtAxisValue(v, 4) : fmtValue(v));

/** "12 NaN · 3 +∞" for the non-zero counts of {nan, posinf, neginf}; '' when all are 0. */
export function nonFiniteText(t) {
  return [[t.nan, 'NaN'], [t.posinf, '+∞'], [t.neginf, '−∞']]
    .filter(([n]) => n > 0).map(([n, label]) => `${n.toLocaleString('en-US')} ${label}`).join(' · ');
}

class HistCard {
  constructor(parent, o) {
    this.o = o;                     // {model, name, index, notify, catalog}
    this.name = o.name;
    this.color = paletteColor(o.index);     // the palette, in name order (colors.js)
    this.mode = modeFor(o.name);
    this.view = null;
    this.hover = null;
    this.data = new HistData({ model: o.model, name: o.name,
      onChange: () => this.schedule(), onError: msg => o.notify(`could not load histogram “${o.name}”: ${msg}`) });
    this.buttons = {};
    for (const m of Object.keys(MODES)) {
      this.buttons[m] = h('button', { type: 'button', class: `hist-mode hist-mode-${m}`, text: m,
        'aria-pressed': String(m === this.mode), onclick: () => this.setMode(m) });
    }
    this.nonFinite = h('span', { class: 'hist-nonfinite', hidden: true });
    this.readout = h('div', { class: 'hist-readout', 'aria-live': 'off' });
    this.status = h('div', { class: 'chart-status' });
    this.body = h('div', { class: 'hist-body' });
    this.el = h('section', { class: 'chart-card hist-card', dataset: { name: o.name } },
      h('div', { class: 'chart-head' },
        h('h3', { class: 'chart-title hist-title', text: shortName(o.name, 48), title: o.name }),
        this.nonFinite,
        h('div', { class: 'hist-modes', role: 'group', 'aria-label': 'histogram view' }, ...Object.values(this.buttons)),
        h('button', { type: 'button', class: 'icon hist-delete', text: '✕', title: 'delete this histogram name',
          'aria-label': 'delete histogram name', onclick: () => this.deleteName() })),
      this.body, this.readout, this.status);
    parent.appendChild(this.el);
    this.schedule = perFrame(() => this.draw());
    this._mount();
    this.data.load();
    this.schedule();   // the empty plot at once, so nothing moves when the records come
  }

  _mount() {
    if (this.view) this.view.destroy();
    this.hover = null;
    this.view = new MODES[this.mode](this.body, { data: this.data, color: this.color, height: HEIGHT,
      onHover: hv => { this.hover = hv; this.showReadout(); },
      onZoom: zoom => { this.data.setRange(zoom); this.schedule(); } });
  }

  setMode(mode) {
    if (mode === this.mode || !Object.hasOwn(MODES, mode)) return;
    this.mode = mode;
    rememberMode(this.name, mode);
    for (const [m, b] of Object.entries(this.buttons)) b.setAttribute('aria-pressed', String(m === mode));
    this._mount();
    this.draw();
  }

  draw() {
    const d = this.data;
    this.status.textContent = d.error ? d.error : d.loading && !d.records.length ? 'loading…'
      : d.loaded && !d.records.length ? 'no records' : '';
    this.status.classList.toggle('error', !!d.error);
    const nf = nonFiniteText(d.nonFinite());
    this.nonFinite.hidden = !nf;
    this.nonFinite.textContent = nf ? `not binned: ${nf}` : '';
    this.nonFinite.title = `NaN and ±inf values, counted apart from the bins, in the ${d.records.length} steps shown`;
    this.view.draw();
    this.showReadout();
  }

  /** The hovered step's numbers, or the latest step's. */
  showReadout() {
    const recs = this.data.records;
    const hv = this.hover;
    const i = hv ? hv.index : recs.length - 1;
    const r = recs[i];
    clear(this.readout);
    if (!r) return;
    const part = (cls, text, title) => h('span', { class: cls, text, title });
    const parts = [part('hist-step', `step ${fmtStep(r.step)}`, fmtTime(r.time))];
    if (!r.counts.length) {
      parts.push(part('hist-bin', 'no finite values'));
    } else if (this.mode === 'distribution') {
      // the median, then each band from the inside out, as drawn
      const mid = PERCENTS.indexOf(50), n = PERCENTS.length;
      parts.push(part('hist-q hist-median', `median ${short(r.q[mid])}`));
      for (let k = mid - 1; k >= 0; k--) {
        const label = k === 0 ? 'min–max' : `${PERCENTS[k]}–${PERCENTS[n - 1 - k]}%`;
        parts.push(part('hist-q', `${label} ${short(r.q[k])} … ${short(r.q[n - 1 - k])}`));
      }
    } else if (hv && hv.bin >= 0) {
      const c = r.counts[hv.bin];
      const total = r.counts.reduce((a, b) => a + b, 0);
      parts.push(part('hist-bin', `[${short(r.edges[hv.bin])}, ${short(r.edges[hv.bin + 1])})`),
        part('hist-count', `count ${c.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`));
    } else {
      parts.push(part('hist-bin', `${r.counts.length} bins over [${short(r.edges[0])}, ${short(r.edges[r.counts.length])}]`),
        part('hist-count', `count ${fmtStep(r.count)}`));
    }
    const nf = nonFiniteText(r);
    if (nf) parts.push(part('hist-q hist-nonfinite-step', nf));
    parts.forEach((el, k) => this.readout.append(k ? ' ' : '', el));   // spaces for copying
    this.readout.classList.toggle('hovering', !!hv);
  }

  /** Confirm, then DELETE every record of this name; the card goes with the catalog's name. */
  async deleteName() {
    const { model, name } = this.o;
    if (!await confirmDialog(`Delete every histogram record named “${name}” of model “${model}”?`)) return;
    try {
      await api.deleteHistograms(model, name);
    } catch (e) {
      this.o.notify(`could not delete: ${e.message}`);
      return;
    }
    this.o.catalog.apply([{ type: 'deleted', model, histogram: name }]);
  }

  /** Point the hover at record `index` (for tests): the readout follows. */
  hoverAt(index, bin = -1) {
    this.view.hoverAt(index, bin);
    this.hover = index == null ? null : { index, bin };
    this.showReadout();
  }

  snapshot() {
    return { name: this.name, mode: this.mode, records: this.data.records.length, total: this.data.total, range: this.data.range,
      loaded: this.data.loaded, error: this.data.error, dropped: this.data.dropped,
      steps: this.data.records.map(r => r.step), view: this.view.snapshot(),
      inked: this.view.plot ? this.view.plot.inked() : null, readout: this.readout.textContent };
  }

  destroy() { this.data.destroy(); this.view.destroy(); this.el.remove(); }
}

export class HistogramsPanel {
  /** @param {object} o {model, catalog, notify} */
  constructor(container, o) {
    this.o = o;
    this.cards = new Map();     // name → HistCard
    this.grid = h('div', { class: 'chart-grid hist-grid' });
    this.el = h('section', { class: 'histograms' }, h('h2', { text: 'Histograms' }), this.grid);
    container.appendChild(this.el);
    this.render();
  }

  names() {
    const m = this.o.catalog.model(this.o.model);
    return m && m.histograms ? [...m.histograms.keys()].sort() : [];
  }

  /** Cards for the names that exist now, in name order. */
  render() {
    const names = this.names();
    this.el.hidden = names.length === 0;
    for (const [n, c] of this.cards) if (!names.includes(n)) { c.destroy(); this.cards.delete(n); }
    const cards = new Map();   // in name order, as on the page
    for (const n of names) {
      const c = this.cards.get(n) || new HistCard(this.grid, { model: this.o.model, name: n, index: names.indexOf(n),
        notify: this.o.notify, catalog: this.o.catalog });
      cards.set(n, c);
      this.grid.appendChild(c.el);
    }
    this.cards = cards;
  }

  /** Websocket events (after the catalog took them): live records of this model. */
  onEvents(evs) {
    for (const ev of evs) {
      if (ev.type !== 'histogram' || ev.model !== this.o.model) continue;
      const card = this.cards.get(ev.name);
      if (card) card.data.add(ev);
    }
  }

  /** After a reconnect: names again, every card's records again. */
  catchUp() {
    this.render();
    for (const c of this.cards.values()) c.data.load();
  }

  card(name) { return this.cards.get(name) || null; }

  snapshot() { return [...this.cards.values()].map(c => c.snapshot()); }

  destroy() { for (const c of this.cards.values()) c.destroy(); this.el.remove(); }
}
