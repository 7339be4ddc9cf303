// View 3: the runs table. One row per run (status, start, duration, tags, notes, each
// config key, each series' last or best value); sort by a header click, filter by
// text or /regex/, by tags (click one) and by parallel-coordinate brushes; show/hide
// columns; select rows (shift-click for a range) to show in the overview. Only the
// rows in view are in the DOM. Tags and notes are edited in place (PATCH). All data
// is set as text, never as markup.
import * as api from './api.js';
import { h, clear, perFrame, debounce, throttle } from './dom.js';
import { shortName } from './format.js';
import { RunsModel } from './runs-data.js';
import { ParCoords, brushPredicate } from './parcoords.js';

const ROW = 30;          // px per row
const OVERSCAN = 8;      // rows drawn above and below the visible ones

function colWidth(c) {
  if (c.key === 'name') return 240;
  if (c.key === 'status') return 104;
  if (c.key === 'start') return 150;
  if (c.key === 'tags' || c.key === 'notes') return 170;
  if (c.key === 'duration') return 88;
  return c.group === 'metric' ? 112 : 118;
}

export function mountRuns(root, ctx) {
  const { S } = ctx;
  const store = ctx.runs;
  S.rt = S.rt || {};
  const rt = S.rt;
  const model = new RunsModel();
  model.metricMode = { ...(rt.mm || {}) };
  const selected = new Set(S.sel || []);
  let rows = [];              // run indices shown, in order
  let base = [];              // passing text/tag filters (before brushes)
  let anchor = null;          // model of the last checkbox clicked (shift-click ranges)
  let editing = null;         // {model, key} while a cell is being edited
  let lastQueryMs = null;
  let total = 0;              // runs when the rows were last computed
  let lastUpdateMs = null;    // the whole update: filter, sort, header, parallel coordinates
  let marked = false;
  let dataVersion = 0;        // bumped when the runs change (the parallel coordinates redraw)
  let pcSig = null;
  let error = null;

  // ---------------------------------------------------------------- toolbar
  const filterInput = h('input', { type: 'search', class: 'rt-filter', placeholder: 'filter runs: text or /regex/',
    'aria-label': 'filter runs', value: rt.f || '',
    oninput: debounce(() => { rt.f = filterInput.value || undefined; ctx.save(); update(); }, 120) });
  const errorEl = h('span', { class: 'rt-error', role: 'status' });
  const tagBar = h('span', { class: 'rt-tagfilter' });
  const countEl = h('span', { class: 'rt-count' });
  const menu = h('div', { class: 'rt-menu', hidden: true, role: 'menu' });
  const colsBtn = h('button', { type: 'button', class: 'rt-cols-btn', text: 'columns ▾', 'aria-haspopup': 'true',
    onclick: e => { e.stopPropagation(); menu.hidden ? openMenu() : (menu.hidden = true); } });
  const selAllBtn = h('button', { type: 'button', class: 'rt-select-all', text: 'select all shown',
    onclick: () => { for (const i of rows) selected.add(model.runs[i].model); saveSel(); renderRows(); } });
  const clearBtn = h('button', { type: 'button', class: 'rt-select-none', text: 'clear selection',
    onclick: () => { selected.clear(); saveSel(); renderRows(); } });
  const showBtn = h('button', { type: 'button', class: 'rt-show', text: 'show in overview →',
    onclick: () => { saveSel(); ctx.navigate({ view: 'overview' }); } });
  const toolbar = h('div', { class: 'rt-toolbar' }, filterInput, errorEl, tagBar, h('span', { class: 'spacer' }),
    countEl, selAllBtn, clearBtn, showBtn, h('span', { class: 'rt-menu-anchor' }, colsBtn, menu));

  // ---------------------------------------------------------------- parallel coordinates
  const metricSelect = h('select', { class: 'pc-metric', 'aria-label': 'metric of the parallel coordinates',
    onchange: () => { rt.pm = metricSelect.value || undefined; ctx.save(); update(); } });
  const pcClear = h('button', { type: 'button', class: 'pc-clear', text: 'clear brushes',
    onclick: () => { delete rt.b; ctx.save(); update(); } });
  const pcHead = h('summary', { class: 'pc-head' }, 'parallel coordinates');
  const pcTools = h('div', { class: 'pc-tools' }, h('span', { text: 'metric' }), metricSelect,
    h('span', { class: 'hint', text: 'drag along an axis to filter · click an axis to clear it' }), pcClear);
  const pcDetails = h('details', { class: 'pc-panel', open: rt.pc !== 0 }, pcHead, pcTools);
  pcDetails.addEventListener('toggle', () => { rt.pc = pcDetails.open ? undefined : 0; ctx.save(); if (pcDetails.open) update(); });
  const pc = new ParCoords(pcDetails, {
    onBrush: (key, brush) => {
      rt.b = { ...(rt.b || {}) };
      if (brush) rt.b[key] = brush; else delete rt.b[key];
      if (!Object.keys(rt.b).length) delete rt.b;
      ctx.save();
      update();
    },
  });

  // ---------------------------------------------------------------- table
  const head = h('div', { class: 'rt-head', role: 'row' });
  const body = h('div', { class: 'rt-body', role: 'rowgroup' });
  const scroller = h('div', { class: 'rt-scroll', role: 'grid', 'aria-label': 'runs' }, head, body);
  const empty = h('p', { class: 'empty', hidden: true });
  const el = h('div', { class: 'view runs' }, toolbar, pcDetails, empty, scroller);
  root.appendChild(el);

  const closeMenu = e => { if (!menu.hidden && !menu.contains(e.target)) menu.hidden = true; };
  document.addEventListener('click', closeMenu);

  function saveSel() { S.sel = selected.size ? [...selected].sort() : null; ctx.save(); }

  function visibleColumns() {
    const hidden = new Set(rt.h || []);
    return model.columns().filter(c => !hidden.has(c.key));
  }

  function openMenu() {
    clear(menu);
    const hidden = new Set(rt.h || []);
    let group = null;
    for (const c of model.columns()) {
      if (c.group !== group) {
        group = c.group;
        menu.appendChild(h('div', { class: 'rt-menu-group', text: group === 'run' ? 'run' : group === 'config' ? 'config' : 'metrics' }));
      }
      const box = h('input', { type: 'checkbox', checked: !hidden.has(c.key), dataset: { col: c.key },
        onchange: () => {
          const set = new Set(rt.h || []);
          if (box.checked) set.delete(c.key); else set.add(c.key);
          rt.h = set.size ? [...set] : undefined;
          ctx.save();
          renderHead(); renderRows();
        } });
      menu.appendChild(h('label', { class: 'rt-menu-item', title: c.label }, box, shortName(c.label, 40)));
    }
    menu.hidden = false;
  }

  function setTemplate(cols) {
    const widths = [34, ...cols.map(colWidth)];
    scroller.style.setProperty('--rt-cols', widths.map(w => `${w}px`).join(' '));
    scroller.style.setProperty('--rt-width', `${widths.reduce((a, b) => a + b, 0)}px`);
  }

  function renderHead() {
    const cols = visibleColumns();
    setTemplate(cols);
    clear(head);
    const all = h('input', { type: 'checkbox', class: 'rt-check-all', 'aria-label': 'select all shown',
      title: 'select / unselect every run shown',
      checked: rows.length > 0 && rows.every(i => selected.has(model.runs[i].model)),
      onchange: () => {
        for (const i of rows) { const m = model.runs[i].model; if (all.checked) selected.add(m); else selected.delete(m); }
        saveSel(); renderRows();
      } });
    head.appendChild(h('div', { class: 'rt-th rt-sel' }, all));
    for (const c of cols) {
      const sorted = rt.s === c.key;
      const label = h('button', { type: 'button', class: 'rt-sort', title: `sort by ${c.title || c.label}`,
        text: shortName(c.label, 28) + (sorted ? (rt.d < 0 ? ' ▼' : ' ▲') : ''),
        onclick: () => {
          if (rt.s === c.key) rt.d = rt.d < 0 ? 1 : -1; else { rt.s = c.key; rt.d = 1; }
          ctx.save(); update();
        } });
      const num = c.numeric || (c.group === 'config' && model.domain(c.key).numeric);
      const th = h('div', { class: `rt-th rt-${c.group}${num ? ' num' : ''}`, role: 'columnheader', dataset: { col: c.key },
        'aria-sort': sorted ? (rt.d < 0 ? 'descending' : 'ascending') : 'none' }, label);
      if (c.group === 'metric') {
        th.appendChild(h('button', { type: 'button', class: 'rt-mode', text: c.mode, title: `${c.title}; click for ${c.mode === 'last' ? 'best' : 'last'}`,
          onclick: () => {
            const next = c.mode === 'last' ? 'best' : 'last';
            model.setMetricMode(c.series, next);
            dataVersion++;
            rt.mm = { ...(rt.mm || {}) };
            if (next === 'best') rt.mm[c.series] = 'best'; else delete rt.mm[c.series];
            if (!Object.keys(rt.mm).length) delete rt.mm;
            ctx.save(); update();
          } }));
      }
      head.appendChild(th);
    }
  }

  function cell(c, run) {
    const td = h('div', { class: `rt-td rt-${c.group}`, role: 'gridcell', dataset: { col: c.key } });
    if (c.key === 'status') {
      const st = run.status || 'unknown';
      td.append(h('span', { class: 'status-dot', dataset: { status: st } }), run.status || '—');
      if (run.status === 'crashed' && run.error) td.title = `${run.error.type}: ${run.error.message}`;
      else if (run.status) td.title = run.status;
    } else if (c.key === 'name') {
      td.appendChild(h('a', { class: 'rt-name', href: `?view=detail&model=${encodeURIComponent(run.model)}`, title: run.model,
        text: shortName(run.model, 40), dataset: { act: 'open' } }));
    } else if (c.key === 'tags') {
      for (const t of run.tags) td.appendChild(h('button', { type: 'button', class: 'tag', text: t, title: `show only runs tagged “${t}”`, dataset: { act: 'tag', tag: t } }));
      td.appendChild(h('button', { type: 'button', class: 'rt-edit', text: '✎', title: 'edit tags', dataset: { act: 'edit' } }));
      if (run.tags.length) td.title = run.tags.join(', ');
    } else if (c.key === 'notes') {
      td.appendChild(h('span', { class: 'rt-notes', text: run.notes, title: run.notes }));
      td.appendChild(h('button', { type: 'button', class: 'rt-edit', text: '✎', title: 'edit notes', dataset: { act: 'edit' } }));
    } else {
      const text = model.text(c.key, run);
      td.textContent = text;
      if (text.length > 14) td.title = text;
      if (c.numeric || typeof model.value(c.key, run) === 'number') td.classList.add('num');
    }
    return td;
  }

  const renderRows = perFrame(() => {
    if (editing) return;
    const cols = visibleColumns();
    body.style.height = `${rows.length * ROW}px`;
    const top = Math.max(0, scroller.scrollTop - head.offsetHeight);
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((top + scroller.clientHeight) / ROW) + OVERSCAN);
    const frag = document.createDocumentFragment();
    for (let k = first; k < last; k++) {
      const run = model.runs[rows[k]];
      const sel = selected.has(run.model);
      const tr = h('div', { class: `rt-row${sel ? ' selected' : ''}${k % 2 ? ' odd' : ''}`, role: 'row',
        dataset: { model: run.model, pos: String(k) } },
      h('div', { class: 'rt-td rt-sel' }, h('input', { type: 'checkbox', checked: sel, 'aria-label': `select ${run.model}`, dataset: { act: 'select' } })));
      tr.style.transform = `translateY(${k * ROW}px)`;
      for (const c of cols) tr.appendChild(cell(c, run));
      frag.appendChild(tr);
    }
    clear(body).appendChild(frag);
    const allBox = head.querySelector('.rt-check-all');
    if (allBox) allBox.checked = rows.length > 0 && rows.every(i => selected.has(model.runs[i].model));
    countEl.textContent = `${rows.length.toLocaleString('en-US')} of ${model.runs.length.toLocaleString('en-US')} runs · ${selected.size.toLocaleString('en-US')} selected`;
  });

  scroller.addEventListener('scroll', () => renderRows());

  // clicks in rows: select (shift for a range), open, tag filter, edit
  body.addEventListener('click', e => {
    const t = e.target.closest('[data-act]');
    const tr = e.target.closest('.rt-row');
    if (!t || !tr) return;
    const run = store.get(tr.dataset.model) || model.runs[model.index.get(tr.dataset.model)];
    const act = t.dataset.act;
    if (act === 'select') {
      const on = t.checked;
      const pos = Number(tr.dataset.pos);
      const a = anchor == null ? -1 : rows.findIndex(i => model.runs[i].model === anchor);
      if (e.shiftKey && a >= 0) {
        for (let k = Math.min(a, pos); k <= Math.max(a, pos); k++) {
          const m = model.runs[rows[k]].model;
          if (on) selected.add(m); else selected.delete(m);
        }
      } else if (on) selected.add(run.model); else selected.delete(run.model);
      anchor = run.model;
      saveSel();
      renderRows();
    } else if (act === 'open') {
      if (e.ctrlKey || e.metaKey) return;
      e.preventDefault();
      ctx.navigate({ view: 'detail', model: run.model });
    } else if (act === 'tag') {
      const tags = new Set(rt.t || []);
      tags.add(t.dataset.tag);
      rt.t = [...tags];
      ctx.save();
      update();
    } else if (act === 'edit') {
      startEdit(t.closest('.rt-td'), run, t.closest('.rt-td').dataset.col);
    }
  });
  // shift-click on a checkbox would also select text: not wanted
  body.addEventListener('mousedown', e => { if (e.shiftKey && e.target.closest('[data-act=select]')) e.preventDefault(); });

  function startEdit(td, run, key) {
    editing = { model: run.model, key };
    const input = h('input', { type: 'text', class: 'rt-edit-input',
      'aria-label': key === 'tags' ? `tags of ${run.model} (comma-separated)` : `notes of ${run.model}`,
      value: key === 'tags' ? run.tags.join(', ') : run.notes });
    clear(td).appendChild(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async save => {
      if (done) return;
      done = true;
      editing = null;
      if (save) {
        const patch = key === 'tags'
          ? { tags: [...new Set(input.value.split(',').map(s => s.trim()).filter(Boolean))] }
          : { notes: input.value };
        try {
          store.put(await api.patchRun(run.model, patch));
        } catch (err) {
          ctx.notify(`could not save the ${key} of ${run.model}: ${err.message}`);
        }
      }
      renderRows();
    };
    input.addEventListener('keydown', e => {
      if (e.key === 'Enter') { e.preventDefault(); finish(true); }
      if (e.key === 'Escape') { e.preventDefault(); finish(false); }
    });
    input.addEventListener('blur', () => finish(false));
  }

  function renderTagFilter() {
    clear(tagBar);
    for (const t of rt.t || []) {
      tagBar.appendChild(h('button', { type: 'button', class: 'tag on', text: `${t} ×`, title: `stop filtering by tag “${t}”`,
        onclick: () => { rt.t = (rt.t || []).filter(x => x !== t); if (!rt.t.length) delete rt.t; ctx.save(); update(); } }));
    }
  }

  function renderMetricSelect() {
    const names = model.seriesNames;
    const cur = rt.pm && names.includes(rt.pm) ? rt.pm : (names.find(n => /loss/i.test(n)) || names[0] || '');
    clear(metricSelect);
    for (const n of names) metricSelect.appendChild(h('option', { value: n, text: shortName(n, 40) }));
    metricSelect.value = cur;
    return cur ? `m:${cur}` : null;
  }

  // ---------------------------------------------------------------- the pipeline
  /** Filter, sort and draw (the whole table; cheap enough for 10,000 runs). */
  function update() {
    const t0 = performance.now();
    const brushes = Object.entries(rt.b || {});
    const q = { text: rt.f, tags: rt.t, sort: rt.s ? { key: rt.s, dir: rt.d < 0 ? -1 : 1 } : null };
    const r = model.query(q);
    base = r.rows;
    error = r.error;
    const preds = brushes.map(([k, b]) => brushPredicate(model, k, b));
    rows = preds.length ? base.filter(i => preds.every(p => p(model.runs[i]))) : base;
    lastQueryMs = performance.now() - t0;
    total = model.runs.length;
    errorEl.textContent = error || '';
    filterInput.classList.toggle('bad', !!error);
    renderTagFilter();
    renderHead();
    renderRows();
    pcClear.hidden = !brushes.length;
    if (pcDetails.open) {
      // sorting changes nothing there; with many runs it draws after the table is painted
      const metricKey = renderMetricSelect();
      const sig = JSON.stringify([dataVersion, rt.f, rt.t, rt.b, metricKey, rt.mm]);
      if (sig !== pcSig) {
        pcSig = sig;
        const draw = () => pc.update(model, base, new Set(rows), metricKey, rt.b);
        if (rows.length > 2000) requestAnimationFrame(() => setTimeout(draw, 0)); else draw();
      }
    } else pcSig = null;
    empty.hidden = model.runs.length > 0;
    if (!model.runs.length) empty.textContent = store.loaded ? 'No runs yet.' : 'loading runs…';
    lastUpdateMs = performance.now() - t0;
    if (store.loaded && !marked) { marked = true; performance.mark('pastalog:runs-drawn'); }
  }

  // live changes redraw at most 4 times a second (a debounce would wait forever while
  // points keep streaming in)
  const refreshSoon = throttle(() => update(), 250);
  function fromStore(ev) {
    dataVersion++;
    const newColumns = ev && ev.models && ev.models.some(m => { const r = store.get(m); return r && !model.knows(r); });
    if (!ev || ev.structural || ev.models == null || newColumns) model.setRuns(store.list());
    else model.invalidate(ev.models);
    if (!ev || ev.models == null) update(); else refreshSoon();
  }
  const off = store.on(ev => fromStore(ev));
  if (store.loaded) fromStore(null);
  store.load().catch(e => ctx.notify(`could not load runs: ${e.message}`));
  if (!store.loaded) update();
  // durations of running runs grow: redraw the visible rows now and then
  const tick = setInterval(() => { if (model.runs.some(r => r.status === 'running')) renderRows(); }, 5000);

  return {
    charts: () => [],
    onPoints() {},
    onEvents() {},
    catchUp() {},   // the app reloads the runs store after a reconnect; its event redraws
    setXMode() {},
    /** For the debug hook: what the table shows. */
    debug: () => ({
      total,
      shown: rows.length,
      rows: rows.slice(0, 1000).map(i => model.runs[i].model),
      domRows: body.children.length,
      selected: [...selected].sort(),
      columns: visibleColumns().map(c => c.key),
      sort: rt.s ? { key: rt.s, dir: rt.d < 0 ? -1 : 1 } : null,
      error,
      queryMs: lastQueryMs,
      updateMs: lastUpdateMs,
      parcoords: pcDetails.open ? pc.snapshot() : null,
    }),
    destroy() {
      off(); clearInterval(tick); refreshSoon.cancel();
      document.removeEventListener('click', closeMenu);
      pc.destroy(); el.remove();
    },
  };
}
