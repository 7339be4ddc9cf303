// A series' values as a table (click ▤ in a legend) with CSV download. Lists the raw
// points in the chart's visible range when there are few enough; otherwise the
// per-bucket aggregates, and the CSV still has every raw point of the range.
import * as api from './api.js';
import { h } from './dom.js';
import { fmtValue, fmtStep, fmtTime } from './format.js';
import { panelDialog } from './dialogs.js';

const MAX_ROWS = 5000;

function csvNumber(v) {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return String(v);
}

/** Points → CSV text with a header line. */
export function toCSV(points) {
  const lines = ['step,value,time'];
  for (let i = 0; i < points.steps.length; i++) {
    lines.push(`${points.steps[i]},${csvNumber(points.values[i])},${csvNumber(points.times[i])}`);
  }
  return lines.join('\n') + '\n';
}

/** Every raw point of [x0, x1], following the server's pages (at most 100,000 each). */
async function allPoints(line, x0, x1) {
  const parts = [];
  let after = null;
  do {
    const page = await api.getPoints(line.model, line.series, x0, x1, undefined, { after });
    parts.push(page);
    after = page.next;
  } while (after != null);
  if (parts.length === 1) return parts[0];
  const cat = k => Float64Array.from(parts.flatMap(p => Array.from(p[k])));
  return { steps: cat('steps'), values: cat('values'), times: cat('times') };
}

function fileName(model, series) {
  return `${model}-${series}`.replace(/[^\w.-]+/g, '_').slice(0, 120) + '.csv';
}

/**
 * @param {object} line   a chart line {model, series, label}
 * @param {[number, number] | null} steps  visible step range, null for all
 * @param {number | null} countInRange  points in that range (from the buckets), null if not known
 * @param {number | null} at  a step to show and mark (a click on the line)
 */
export async function openTable(line, steps, countInRange, at = null) {
  const status = h('p', { class: 'table-status', text: 'loading…' });
  const download = h('button', { type: 'button', class: 'table-csv', text: 'download CSV' });
  const tableBox = h('div', { class: 'table-box' });
  const range = steps ? `steps ${fmtStep(steps[0])}–${fmtStep(steps[1])}` : 'all steps';
  const dlg = panelDialog(`${line.model} · ${line.series}`, h('div', { class: 'table-panel' },
    h('div', { class: 'table-tools' }, h('span', { class: 'table-range',
      text: at != null ? `around step ${fmtStep(at)}` : `${range}, ${fmtStep(countInRange)} points` }), download),
    status, tableBox), 'table-dialog');

  download.addEventListener('click', async () => {
    download.disabled = true;
    download.textContent = 'preparing…';
    try {
      const pts = await allPoints(line, steps && steps[0], steps && steps[1]);
      const url = URL.createObjectURL(new Blob([toCSV(pts)], { type: 'text/csv' }));
      const a = h('a', { href: url, download: fileName(line.model, line.series) });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      status.textContent = `download failed: ${e.message}`;
    } finally {
      download.disabled = false;
      download.textContent = 'download CSV';
    }
  });

  if (countInRange != null && countInRange > MAX_ROWS) {
    status.textContent = `${fmtStep(countInRange)} points in view: zoom in to list them one by one (the CSV has them all).`;
    return dlg;
  }
  try {
    const pts = await api.getPoints(line.model, line.series, steps && steps[0], steps && steps[1]);
    status.textContent = pts.steps.length ? '' : 'no points';
    const body = h('tbody');
    let near = -1;
    for (let i = 0; i < pts.steps.length; i++) {
      if (at != null && (near < 0 || Math.abs(pts.steps[i] - at) < Math.abs(pts.steps[near] - at))) near = i;
      body.appendChild(h('tr', {},
        h('td', { class: 'num', text: fmtStep(pts.steps[i]) }),
        h('td', { class: 'num', text: fmtValue(pts.values[i]), title: csvNumber(pts.values[i]) }),
        h('td', { text: fmtTime(pts.times[i]) })));
    }
    tableBox.appendChild(h('table', { class: 'values-table' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num', text: 'step' }), h('th', { class: 'num', text: 'value' }), h('th', { text: 'time' }))),
      body));
    if (near >= 0) {
      const row = body.children[near];
      row.classList.add('at');
      row.scrollIntoView({ block: 'center' });
    }
  } catch (e) {
    status.textContent = `could not load: ${e.message}`;
  }
  return dlg;
}
