// Pieces both views share: line keys, the hidden set, deleting with confirmation,
// opening a series' table, feeding websocket events to charts.
import * as api from './api.js';
import { num } from './format.js';
import { confirmDialog } from './dialogs.js';
import { openTable } from './table.js';

export const lineKey = (model, series) => JSON.stringify([model, series]);

/** The S.hidden list as a Set of line keys, and back. */
export function hiddenSet(S) { return new Set(S.hidden.map(([m, s]) => lineKey(m, s))); }
export function storeHidden(S, set) { S.hidden = [...set].map(k => JSON.parse(k)); }

/** Confirm, then DELETE a series; the page updates from the store's answer. */
export async function deleteSeriesFlow(ctx, model, series) {
  const ok = await confirmDialog(`Delete the series “${series}” of model “${model}”? Its points are removed from the store.`);
  if (!ok) return false;
  try {
    await api.deleteSeries(model, series);
  } catch (e) {
    ctx.notify(`could not delete: ${e.message}`);
    return false;
  }
  ctx.catalog.apply([{ type: 'deleted', model, series }]);
  return true;
}

export async function deleteModelFlow(ctx, model) {
  const ok = await confirmDialog(`Delete the model “${model}” with all its series and images?`);
  if (!ok) return false;
  try {
    await api.deleteModel(model);
  } catch (e) {
    ctx.notify(`could not delete: ${e.message}`);
    return false;
  }
  ctx.catalog.apply([{ type: 'deleted', model }]);
  return true;
}

/** Open the values table of a chart line for the chart's visible range. */
export function openLineTable(chart, entry) {
  const line = chart.lines.find(l => l.key === entry.key);
  if (!line) return;
  const b = chart._display(line);
  let steps = null, count = b ? b.total() : 0;
  if (chart.state.x && b) {
    const sc = chart.u.scales.x;
    const xc = chart._xcols(line, b);
    let sa = Infinity, sb = -Infinity;
    count = 0;
    for (let i = 0; i < b.length; i++) {
      if (xc.xb[i] >= sc.min && xc.xa[i] <= sc.max) {
        count += b.count[i];
        sa = Math.min(sa, b.s0[i]); sb = Math.max(sb, b.s1[i]);
      }
    }
    steps = sa <= sb ? [sa, sb] : [0, -1];
  }
  openTable(line, steps, count);
}

/**
 * Feed websocket events to the charts that show their series, in order and before
 * the catalog takes them: points (with their sequence numbers) and deletions.
 */
export function feedPoints(charts, evs) {
  for (const ev of evs) {
    if (ev.type === 'deleted' && ev.image == null && ev.histogram == null) {
      for (const c of charts) c.deletedSeries(ev.model, ev.series ?? null);
    }
    if (ev.type !== 'points') continue;
    const steps = (ev.steps || []).map(num), values = (ev.values || []).map(num);
    const times = (ev.times || steps.map(() => Date.now() / 1000)).map(num);
    for (const c of charts) c.addPoints(ev.model, ev.series, steps, values, times, ev.seq);
  }
}

/** After the catalog took the events: large batches re-fetched, latest values shown. */
export function feedRefresh(charts, evs, catalog, onLatest) {
  for (const ev of evs) {
    if (ev.type === 'refresh') for (const c of charts) c.refreshSeries(ev.model, ev.series, ev.seq);
    if ((ev.type === 'points' || ev.type === 'refresh') && onLatest) onLatest(ev.model, ev.series);
  }
}

/** A click on a line: its values around the clicked step, that row marked. */
export function openLineAt(chart, key, step) {
  const line = chart.lines.find(l => l.key === key);
  if (!line) return;
  openTable(line, [step - 200, step + 200], null, step);
}
