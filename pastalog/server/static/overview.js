// View 1: one statistic (or a few), every model a line.
import { h, clear } from './dom.js';
import { shortName } from './format.js';
import { Chart } from './chart.js';
import { Legend } from './legend.js';
import { colorFor, dashFor } from './colors.js';
import { encodeChart, decodeChart } from './url-state.js';
import { lineKey, hiddenSet, storeHidden, deleteSeriesFlow, openLineTable, openLineAt, feedPoints, feedRefresh } from './view-common.js';

export function mountOverview(root, ctx) {
  const { catalog, S } = ctx;
  const hidden = hiddenSet(S);

  const statsBar = h('div', { class: 'stats-bar', role: 'group', 'aria-label': 'statistics' });
  const empty = h('div', { class: 'empty', hidden: true });
  const chartBox = h('div', { class: 'ov-chart' });
  const side = h('aside', { class: 'ov-side' });
  const main = h('div', { class: 'ov-main' }, chartBox, side);
  const el = h('div', { class: 'view overview' }, statsBar, empty, main);
  root.appendChild(el);

  let drawnMarked = false;
  const chart = new Chart(chartBox, {
    id: 'overview',
    xMode: S.xMode,
    state: decodeChart(S.charts.overview),
    height: Math.max(260, Math.min(560, Math.round(window.innerHeight * 0.62))),
    onStateChange: st => { S.charts.overview = encodeChart(st); ctx.save(); },
    onHover: hv => legend.setHover(hv),
    onPick: (key, step) => openLineAt(chart, key, step),
    onDrawn: c => {
      if (drawnMarked || !c.lines.length) return;
      if (c.lines.every(l => l.full && !l.loading)) {
        drawnMarked = true;
        performance.mark('pastalog:drawn');
      }
    },
  });

  const legend = new Legend(side, {
    showModel: true,
    showSeries: false,
    search: true,
    onFilter: () => { for (const l of chart.lines) { chart.setShown(l.key, isShown(l.key)); legend.setShown(l.key, !hidden.has(l.key)); } },
    onOnly: e => setShown(chart.lines.map(l => l.key), false, e.key),
    onShowAll: () => setShown(chart.lines.map(l => l.key), true),
    onToggle: e => setShown([e.key], !isShown(e.key)),
    onToggleModel: model => toggleGroup(chart.lines.filter(l => l.model === model)),
    onToggleSeries: series => toggleGroup(chart.lines.filter(l => l.series === series)),
    onOpen: model => ctx.navigate({ view: 'detail', model }),
    onTable: e => openLineTable(chart, e),
    onDelete: e => deleteSeriesFlow(ctx, e.model, e.series),
  });

  // shown: not hidden by the user, and its model passes the legend's search box
  const modelOf = new Map();
  const isShown = key => !hidden.has(key) && (!legend || legend.matches(modelOf.get(key) ?? ''));
  /** Show or hide lines (`except`: one key that gets the opposite). */
  function setShown(keys, show, except = null) {
    for (const k of keys) {
      const on = k === except ? !show : show;
      if (on) hidden.delete(k); else hidden.add(k);
      chart.setShown(k, isShown(k));
      legend.setShown(k, on);
    }
    storeHidden(S, hidden);
    ctx.save();
  }
  function toggleGroup(lines) {
    const anyShown = lines.some(l => isShown(l.key));
    setShown(lines.map(l => l.key), !anyShown);
  }

  function selectedStats() {
    const names = new Set(catalog.seriesNames());
    let stats = S.stats.filter(s => names.has(s));
    if (!S.stats.length) {
      const d = catalog.mostRecentSeries();
      stats = d ? [d] : [];
    }
    return stats;
  }

  function renderStats(stats) {
    clear(statsBar);
    const names = catalog.seriesNames();
    if (!names.length) return;
    statsBar.appendChild(h('span', { class: 'stats-label', text: 'statistic' }));
    for (const name of names) {
      const on = stats.includes(name);
      statsBar.appendChild(h('button', { type: 'button', class: 'chip', 'aria-pressed': String(on),
        title: on ? `hide ${name}` : `show ${name}`, text: shortName(name, 48),
        onclick: ev => {
          // plain click picks one statistic; ctrl/cmd/shift-click adds or removes it
          const cur = selectedStats();
          if (ev.ctrlKey || ev.metaKey || ev.shiftKey) {
            S.stats = cur.includes(name) ? cur.filter(s => s !== name) : [...cur, name];
          } else {
            S.stats = cur.length === 1 && cur[0] === name ? [] : [name];
            if (!S.stats.length) S.stats = [name];
          }
          ctx.save();
          refresh();
        } }));
    }
    statsBar.appendChild(h('span', { class: 'hint', text: 'ctrl/⌘-click to compare several' }));
  }

  let signature = null;
  function refresh() {
    const stats = selectedStats();
    renderStats(stats);
    const lines = [];
    for (const m of catalog.modelNames()) {
      stats.forEach((st, j) => {
        if (!catalog.series(m, st)) return;
        const key = lineKey(m, st);
        modelOf.set(key, m);
        lines.push({ key, model: m, series: st, label: stats.length > 1 ? `${m} · ${st}` : m,
          color: colorFor(m), dash: dashFor(j), show: isShown(key) });
      });
    }
    const models = catalog.modelNames();
    empty.hidden = models.length > 0;
    if (!models.length) {
      clear(empty).append(h('h2', { text: 'No data yet' }),
        h('p', { text: 'Log from your training script and it appears here live:' }),
        h('pre', { text: "import pastalog\nlog = pastalog.Log(8120, 'model_1')\nlog.write('train_loss', 2.7)" }));
    }
    main.hidden = !models.length;
    const sig = JSON.stringify(lines.map(l => [l.key, l.label]));
    if (sig !== signature) {
      signature = sig;
      chart.setLines(lines);
      legend.o.showSeries = stats.length > 1;
      legend.setEntries(lines.map(l => ({ ...l, ...latest(l.model, l.series) })));
    }
  }

  function latest(model, series) {
    const s = catalog.series(model, series);
    return { latest: s ? s.last_value : null, latestStep: s ? s.last_step : null };
  }

  const off = catalog.on(({ structural }) => { if (structural) refresh(); });
  refresh();

  return {
    charts: () => [chart],
    onPoints(evs) { feedPoints([chart], evs); },
    onEvents(evs) {
      feedRefresh([chart], evs, catalog, (model, series) => {
        const l = latest(model, series);
        legend.setLatest(lineKey(model, series), l.latest, l.latestStep);
      });
    },
    catchUp() {
      refresh();
      for (const l of chart.lines) chart.catchUp(l.model, l.series);
    },
    setXMode(mode) { chart.setXMode(mode); },
    destroy() { off(); chart.destroy(); el.remove(); },
  };
}
