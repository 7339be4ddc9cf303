// View 2: one model — all its statistics as a grid of charts (series grouped by the
// part of the name before "/"), and its images.
import { h, clear } from './dom.js';
import { shortName } from './format.js';
import { Chart } from './chart.js';
import { Legend } from './legend.js';
import { assignColors } from './colors.js';
import { mountRunHeader } from './run-header.js';
import { encodeChart, decodeChart } from './url-state.js';
import { ImagesPanel } from './images.js';
import { HistogramsPanel } from './histograms.js';
import { lineKey, hiddenSet, storeHidden, deleteSeriesFlow, deleteModelFlow, openLineTable, openLineAt, feedPoints, feedRefresh } from './view-common.js';

/** "conv1/mean" → "conv1"; a name without "/" is its own group. */
export function groupOf(name) {
  const i = name.indexOf('/');
  return i > 0 ? name.slice(0, i) : name;
}

export function mountDetail(root, ctx) {
  const { catalog, S } = ctx;
  const model = S.model;
  const hidden = hiddenSet(S);

  const title = h('h2', { class: 'detail-title', text: shortName(model ?? '', 100), title: model ?? '' });
  const delBtn = h('button', { type: 'button', class: 'danger detail-delete', text: 'delete model',
    onclick: async () => { if (await deleteModelFlow(ctx, model)) ctx.navigate({ view: 'overview', model: null }); } });
  // cursor and x-zoom linked across this model's cards (W&B's panels do this); remembered
  const linkBox = h('input', { type: 'checkbox', class: 'detail-link-toggle',
    onchange: () => { localStorage.setItem('pastalog.link', linkBox.checked ? '1' : '0'); if (linkBox.checked) alignX(charts()[0]); } });
  linkBox.checked = localStorage.getItem('pastalog.link') === '1';
  const linkLabel = h('label', { class: 'detail-link', title: 'hover and zoom all cards together' }, linkBox, 'link cards');
  const missing = h('p', { class: 'empty', hidden: true });
  const grid = h('div', { class: 'chart-grid' });
  const imagesBox = h('div', { class: 'images-box' });
  const el = h('div', { class: 'view detail' }, h('div', { class: 'detail-head' }, title, linkLabel, delBtn), missing, grid, imagesBox);
  root.appendChild(el);
  const histBox = h('div', { class: 'hists-box' });
  imagesBox.before(histBox);

  const cards = new Map();   // group → {chart, legend}
  missing.before(mountRunHeader(ctx, model).el);   // status, config, provenance; ends with el
  const images = new ImagesPanel(imagesBox, { model, catalog, S, save: ctx.save, notify: ctx.notify });
  const hists = new HistogramsPanel(histBox, { model, catalog, notify: ctx.notify });

  function makeCard(group) {
    const id = `g:${group}`;
    let legend = null;
    const chart = new Chart(grid, {
      id, title: group, xMode: S.xMode, height: 220,
      state: decodeChart(S.charts[id]),
      onStateChange: st => { S.charts[id] = encodeChart(st); ctx.save(); if (!linking) alignX(chart); },
      onHover: hv => {
        if (legend) legend.setHover(hv);
        if (linkBox.checked && !linking) {
          linking = true;
          try { for (const c of charts()) if (c !== chart) c.showCursorAt(hv ? hv.x : null); } finally { linking = false; }
        }
      },
      onPick: (key, step) => openLineAt(chart, key, step),
    });
    legend = new Legend(chart.el, {
      showModel: false, showSeries: true,
      onToggle: e => toggle(chart, legend, [e.key]),
      onToggleSeries: series => toggle(chart, legend, [lineKey(model, series)]),
      onTable: e => openLineTable(chart, e),
      onDelete: e => deleteSeriesFlow(ctx, e.model, e.series),
    });
    return { chart, legend, sig: null };
  }

  // while one card leads, the others follow without echoing back
  let linking = false;
  function alignX(lead) {
    if (!linkBox.checked || !lead || linking) return;
    linking = true;
    try {
      for (const c of charts()) if (c !== lead && String(c.state.x) !== String(lead.state.x)) c.update({ x: lead.state.x });
    } finally { linking = false; }
  }

  function toggle(chart, legend, keys) {
    for (const k of keys) {
      const show = hidden.has(k);
      if (show) hidden.delete(k); else hidden.add(k);
      chart.setShown(k, show);
      legend.setShown(k, show);
    }
    storeHidden(S, hidden);
    ctx.save();
  }

  function latest(series) {
    const s = catalog.series(model, series);
    return { latest: s ? s.last_value : null, latestStep: s ? s.last_step : null };
  }

  function refresh() {
    const m = catalog.model(model);
    missing.hidden = !!m;
    delBtn.hidden = !m;
    if (!m) {
      clear(missing).append(model == null ? 'No models yet.' : `No model named “${model}”.`);
    }
    const groups = new Map();
    for (const s of m ? [...m.series.keys()].sort() : []) {
      const g = groupOf(s);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(s);
    }
    for (const [g, card] of cards) {
      if (!groups.has(g)) { card.chart.destroy(); cards.delete(g); }
    }
    for (const [g, names] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
      let card = cards.get(g);
      if (!card) { card = makeCard(g); cards.set(g, card); }
      const colorOf = assignColors(names);
      const lines = names.map(s => {
        const key = lineKey(model, s);
        return { key, model, series: s, label: s, color: colorOf.get(s), dash: [], show: !hidden.has(key) };
      });
      const sig = JSON.stringify(lines.map(l => l.key));
      if (sig !== card.sig) {
        card.sig = sig;
        card.chart.setLines(lines);
        card.legend.setEntries(lines.map(l => ({ ...l, ...latest(l.series) })));
      }
    }
    // keep the cards in name order
    for (const g of [...cards.keys()].sort()) grid.appendChild(cards.get(g).chart.el);
    images.render();
    hists.render();
  }

  const off = catalog.on(({ structural }) => { if (structural) refresh(); });
  refresh();

  function charts() { return [...cards.values()].map(c => c.chart); }
  return {
    charts,
    onPoints(evs) { feedPoints(charts(), evs.filter(e => e.model === model)); },
    onEvents(evs) {
      const mine = evs.filter(e => e.model === model);
      feedRefresh(charts(), mine, catalog, (mdl, series) => {
        const card = cards.get(groupOf(series));
        if (card) { const l = latest(series); card.legend.setLatest(lineKey(mdl, series), l.latest, l.latestStep); }
      });
      for (const ev of evs) if (ev.type === 'image') images.onImage(ev);   // compare shows other runs
      hists.onEvents(evs);
    },
    catchUp() {
      refresh();
      for (const c of charts()) for (const l of c.lines) c.catchUp(l.model, l.series);
      if (images.selected != null) images.select(images.selected, S.istep);
      hists.catchUp();
    },
    hists,
    setXMode(mode) { for (const c of charts()) c.setXMode(mode); },
    destroy() { off(); for (const c of charts()) c.destroy(); images.destroy(); hists.destroy(); el.remove(); },
  };
}
