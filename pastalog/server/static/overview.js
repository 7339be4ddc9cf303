// View 1: one statistic (or a few), every model a line: only the runs selected in
// the runs table when there is a selection; coloured by a palette (or by a config
// value / name regex); or grouped, each group its mean with a band (groups.js).
import { h, clear } from './dom.js';
import { shortName } from './format.js';
import { Chart } from './chart.js';
import { Legend } from './legend.js';
import { assignColors, dashFor } from './colors.js';
import { GroupChart, keyFunction, groupModels, specPicker } from './groups.js';
import { encodeChart, decodeChart } from './url-state.js';
import { lineKey, hiddenSet, storeHidden, deleteSeriesFlow, openLineTable, openLineAt, feedPoints, feedRefresh } from './view-common.js';

export function mountOverview(root, ctx) {
  const { catalog, S } = ctx;
  const runs = ctx.runs;
  const hidden = hiddenSet(S);

  const statsBar = h('div', { class: 'stats-bar', role: 'group', 'aria-label': 'statistics' });
  const empty = h('div', { class: 'empty', hidden: true });
  const chartBox = h('div', { class: 'ov-chart' });
  const groupBox = h('div', { class: 'ov-groups', hidden: true });
  const groupLegend = h('div', { class: 'group-legend', hidden: true });
  const selChip = h('button', { type: 'button', class: 'chip sel-chip', hidden: true, title: 'show every run again',
    onclick: () => { S.sel = null; ctx.save(); refresh(); } });
  const specError = h('span', { class: 'rt-error', role: 'status' });
  const configKeys = () => [...new Set(runs.list().flatMap(r => Object.keys(r.config)))].sort();
  const colorPick = specPicker('colour by', S.color, configKeys(), v => { S.color = v; ctx.save(); refresh(); });
  const groupPick = specPicker('group by', S.group, configKeys(), v => { S.group = v; ctx.save(); refresh(); });
  const bandSelect = h('select', { class: 'band-select', 'aria-label': 'group band',
    onchange: () => { S.band = bandSelect.value; ctx.save(); refresh(); } },
  h('option', { value: 'minmax', text: 'band: min–max' }), h('option', { value: 'std', text: 'band: ±std' }),
  h('option', { value: 'none', text: 'band: none' }));
  bandSelect.value = S.band || 'minmax';
  const controls = h('div', { class: 'ov-controls' }, selChip, colorPick.el, groupPick.el, bandSelect, specError);
  const side = h('aside', { class: 'ov-side' });
  const main = h('div', { class: 'ov-main' }, h('div', { class: 'ov-charts' }, chartBox, groupBox), side);
  const el = h('div', { class: 'view overview' }, statsBar, controls, empty, main);
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

  let groupChart = null;
  side.appendChild(groupLegend);
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

  /** The models shown: the selection of the runs table if there is one. */
  function shownModels() {
    const all = catalog.modelNames();
    if (!S.sel) return all;
    const sel = new Set(S.sel);
    return all.filter(m => sel.has(m));
  }

  /** Colour of each model: by palette over the shown models, or by its colour-by key. */
  function colours(models, keyFn) {
    if (!keyFn) return assignColors(models);
    const byKey = assignColors(models.map(m => keyFn(m, runs.get(m))));
    return new Map(models.map(m => [m, byKey.get(keyFn(m, runs.get(m)))]));
  }

  let signature = null;
  function refresh() {
    const stats = selectedStats();
    renderStats(stats);
    const models = shownModels();
    selChip.hidden = !S.sel;
    selChip.textContent = S.sel ? `${models.length} selected run${models.length === 1 ? '' : 's'} ×` : '';
    const ck = keyFunction(S.color), gk = keyFunction(S.group);
    specError.textContent = ck.error || gk.error || '';
    bandSelect.hidden = !S.group;
    if (gk.fn) { drawGroups(models, stats[0], gk.fn); return; }
    showGroups(false);
    const colorOf = colours(models, ck.fn);
    const lines = [];
    for (const m of models) {
      stats.forEach((st, j) => {
        if (!catalog.series(m, st)) return;
        const key = lineKey(m, st);
        modelOf.set(key, m);
        lines.push({ key, model: m, series: st, label: stats.length > 1 ? `${m} · ${st}` : m,
          color: colorOf.get(m), dash: dashFor(j), show: isShown(key) });
      });
    }
    empty.hidden = models.length > 0;
    if (!models.length) {
      clear(empty).append(h('h2', { text: 'No data yet' }),
        h('p', { text: 'Log from your training script and it appears here live:' }),
        h('pre', { text: "import pastalog\nlog = pastalog.Log(8120, 'model_1')\nlog.write('train_loss', 2.7)" }));
    }
    main.hidden = !models.length;
    const sig = JSON.stringify(lines.map(l => [l.key, l.label, l.color]));
    if (sig !== signature) {
      signature = sig;
      chart.setLines(lines);
      legend.o.showSeries = stats.length > 1;
      legend.setEntries(lines.map(l => ({ ...l, ...latest(l.model, l.series) })));
    }
  }

  function showGroups(on) {
    groupBox.hidden = !on; groupLegend.hidden = !on;
    chartBox.hidden = on; legend.el.hidden = on;
    if (!on && groupChart) { groupChart.destroy(); groupChart = null; signature = null; }
  }

  /** Grouped: one mean line (+ band) per group of the shown models that have the statistic. */
  function drawGroups(models, stat, fn) {
    showGroups(true);
    const have = models.filter(m => stat && catalog.series(m, stat));
    const groups = groupModels(have, fn, runs);
    const colorOf = assignColors(groups.map(g => g.key));
    for (const g of groups) g.color = colorOf.get(g.key);
    if (!groupChart) groupChart = new GroupChart(groupBox, { height: chart.opts.height, xMode: S.xMode });
    const sig = JSON.stringify([stat, S.band, groups.map(g => [g.key, g.color, g.members])]);
    if (sig !== signature) {
      signature = sig;
      groupChart.set(groups, stat, S.band || 'minmax');
      clear(groupLegend).appendChild(h('div', { class: 'legend-header' }, h('span', { class: 'legend-title', text: `${groups.length} groups · ${stat ?? ''}` })));
      for (const g of groups) {
        const sw = h('span', { class: 'legend-swatch' });
        sw.style.background = g.color;
        groupLegend.appendChild(h('div', { class: 'group-entry', title: g.members.join('\n') },
          sw, h('span', { class: 'group-key', text: g.key }), h('span', { class: 'group-count', text: `${g.members.length} run${g.members.length === 1 ? '' : 's'}` })));
      }
    }
  }

  function latest(model, series) {
    const s = catalog.series(model, series);
    return { latest: s ? s.last_value : null, latestStep: s ? s.last_step : null };
  }

  const off = catalog.on(({ structural }) => { if (structural) refresh(); });
  // config keys for the pickers, and colours/groups that depend on config, once runs load
  const byConfig = () => [S.color, S.group].some(v => v && v.startsWith('config:'));
  const offRuns = runs.on(({ structural, models }) => {
    if (structural || models == null) {
      colorPick.setKeys(configKeys()); groupPick.setKeys(configKeys());
      refresh();
    } else if (byConfig()) refresh();
  });
  refresh();

  return {
    charts: () => [groupChart || chart],
    onPoints(evs) { feedPoints([chart], evs); if (groupChart) groupChart.onPoints(evs); },
    onEvents(evs) {
      feedRefresh([chart], evs, catalog, (model, series) => {
        const l = latest(model, series);
        legend.setLatest(lineKey(model, series), l.latest, l.latestStep);
      });
    },
    catchUp() {
      refresh();
      for (const l of chart.lines) chart.catchUp(l.model, l.series);
      if (groupChart) groupChart.catchUp();
    },
    setXMode(mode) { chart.setXMode(mode); if (groupChart) groupChart.setXMode(mode); },
    destroy() { off(); offRuns(); chart.destroy(); if (groupChart) groupChart.destroy(); el.remove(); },
  };
}
