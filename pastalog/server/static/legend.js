// A chart's legend: one entry per line with its colour and latest value (or, while
// hovering, its value at the hovered x: the names stay, the line under the cursor is
// emphasised and the list can be sorted by value). Clicking an entry hides/shows its
// line; clicking a model or series name toggles all lines of that model / series.
// With `search`, a box filters the entries by model (text or /regex/), and "only"
// / "show all" narrow the chart to one line or bring every line back.
import { h, clear } from './dom.js';
import { fmtValue, fmtStep, shortName } from './format.js';

/** A predicate over names from what the user typed: plain text, or /regex/flags. */
export function nameMatcher(text) {
  const t = text.trim();
  if (!t) return null;
  const re = /^\/(.+)\/([a-z]*)$/.exec(t);
  if (re) {
    try { const rx = new RegExp(re[1], re[2]); return s => rx.test(s); } catch (e) { return null; }
  }
  try { const rx = new RegExp(t, 'i'); return s => rx.test(s) || s.toLowerCase().includes(t.toLowerCase()); }
  catch (e) { const low = t.toLowerCase(); return s => s.toLowerCase().includes(low); }
}

/**
 * A name that shortens in the middle at whatever width it gets: a head that CSS
 * truncates with an ellipsis and a tail (the distinguishing end) that stays whole.
 */
function nameSpans(cls, name, max, title, onclick) {
  const text = shortName(name, max);
  const cut = text.length > 16 ? Math.min(12, Math.floor(text.length / 2)) : 0;
  return h('span', { class: `${cls} mid-ellipsis`, title, onclick },
    h('span', { class: 'name-head', text: cut ? text.slice(0, text.length - cut) : text }),
    cut ? h('span', { class: 'name-tail', text: text.slice(text.length - cut) }) : null);
}

export class Legend {
  /**
   * @param {HTMLElement} container
   * @param {object} o  {showModel, showSeries, search, onToggle(entry), onToggleModel(model),
   *                     onToggleSeries(series), onTable(entry), onDelete(entry), onOpen(model),
   *                     onOnly(entry), onShowAll(), onFilter(match|null)}
   */
  constructor(container, o) {
    this.o = o;
    this.entries = [];
    this.rows = new Map();
    this.hover = null;
    this.sortByValue = false;
    this.match = null;
    this.title = h('span', { class: 'legend-title' });
    this.focusEl = h('div', { class: 'legend-focus', 'aria-live': 'off' });
    this.sortBtn = h('button', { type: 'button', class: 'icon legend-sort', 'aria-pressed': 'false',
      title: 'while hovering, sort by value', text: 'sort ↓',
      onclick: () => { this.sortByValue = !this.sortByValue; this.sortBtn.setAttribute('aria-pressed', String(this.sortByValue)); this._order(); } });
    const tools = [this.title, h('span', { class: 'spacer' }), this.sortBtn];
    if (o.onShowAll) {
      tools.push(h('button', { type: 'button', class: 'icon legend-show-all', text: 'show all',
        title: 'show every line', onclick: () => o.onShowAll() }));
    }
    this.header = h('div', { class: 'legend-header' }, ...tools);
    this.searchEl = null;
    if (o.search) {
      this.searchEl = h('input', { type: 'search', class: 'legend-search', placeholder: 'search models (text or /regex/)',
        'aria-label': 'search models', oninput: () => this._filter() });
    }
    this.list = h('ul', { class: 'legend' });
    this.el = h('div', { class: 'legend-box' }, this.header, this.focusEl, this.searchEl, this.list);
    container.appendChild(this.el);
    this._header();
  }

  _header() {
    this.title.textContent = this.hover ? `at ${this.hover.label}` : 'latest';
    // the line under the cursor is named here too: in a long list its row may be out of view
    const f = this.hover && this.hover.focus != null ? this.rows.get(this.hover.focus) : null;
    clear(this.focusEl);
    if (f) {
      const v = this.hover.values.get(f.entry.key);
      this.focusEl.append(nameSpans('legend-focus-name', this.o.showModel ? f.entry.model : f.entry.series, 40, f.entry.label),
        h('span', { class: 'legend-focus-value', text: f.value.textContent }));
      if (!v) this.focusEl.lastChild.textContent = '';
    }
  }

  /** entries: [{key, model, series, label, color, dash, show, latest, latestStep}] */
  setEntries(entries) {
    this.entries = entries;
    this.rows.clear();
    clear(this.list);
    const o = this.o;
    entries.forEach((e, i) => {
      const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.style.background = e.color;
      if (e.dash && e.dash.length) swatch.classList.add('dashed');
      const name = h('span', { class: 'legend-name' });
      if (o.showModel) {
        name.appendChild(nameSpans('legend-model', e.model, 40, e.model,
          ev => { ev.stopPropagation(); o.onToggleModel && o.onToggleModel(e.model); }));
      }
      if (o.showSeries) {
        name.appendChild(nameSpans('legend-series', e.series, 40, e.series,
          ev => { ev.stopPropagation(); o.onToggleSeries && o.onToggleSeries(e.series); }));
      }
      const value = h('span', { class: 'legend-value' });
      const actions = h('span', { class: 'legend-actions' },
        o.onOnly && h('button', { type: 'button', class: 'icon legend-only', title: 'show only this one',
          'aria-label': `show only ${e.label}`, text: '◎', onclick: ev => { ev.stopPropagation(); o.onOnly(e); } }),
        o.onOpen && h('button', { type: 'button', class: 'icon legend-open', title: `open ${e.model}`,
          'aria-label': `open model ${e.model}`, text: '↗', onclick: ev => { ev.stopPropagation(); o.onOpen(e.model); } }),
        o.onTable && h('button', { type: 'button', class: 'icon legend-table', title: 'table of values',
          'aria-label': `table of ${e.label}`, text: '▤', onclick: ev => { ev.stopPropagation(); o.onTable(e); } }),
        o.onDelete && h('button', { type: 'button', class: 'icon legend-delete', title: 'delete this series',
          'aria-label': `delete ${e.label}`, text: '✕', onclick: ev => { ev.stopPropagation(); o.onDelete(e); } }));
      const li = h('li', { class: 'legend-entry', dataset: { index: String(i) }, role: 'button', tabindex: '0',
        'aria-pressed': String(e.show !== false), title: 'click to hide/show',
        onclick: () => o.onToggle && o.onToggle(e),
        onkeydown: ev => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); o.onToggle && o.onToggle(e); } } },
      swatch, name, value, actions);
      li.classList.toggle('off', e.show === false);
      this.rows.set(e.key, { li, value, entry: e, index: i });
      this.list.appendChild(li);
    });
    this._values();
    this._applyFilter();
  }

  setShown(key, show) {
    const r = this.rows.get(key);
    if (!r) return;
    r.entry.show = show;
    r.li.classList.toggle('off', !show);
    r.li.setAttribute('aria-pressed', String(show));
  }

  /** Latest values changed (live). */
  setLatest(key, value, step) {
    const r = this.rows.get(key);
    if (!r) return;
    r.entry.latest = value; r.entry.latestStep = step;
    if (!this.hover) this._value(r);
  }

  /** The chart's hover: {label, values: Map key → value, focus: key of the line under the cursor}. */
  setHover(hover) {
    const was = !!this.hover;
    this.hover = hover;
    this._values();
    this._header();
    for (const r of this.rows.values()) {
      const f = hover && hover.focus;
      r.li.classList.toggle('emph', f != null && f === r.entry.key);
      r.li.classList.toggle('dim', f != null && f !== r.entry.key);
    }
    if (this.sortByValue || was !== !!hover) this._order();
  }

  /** Whether a model passes the search box. */
  matches(model) { return !this.match || this.match(model); }

  _filter() {
    this.match = nameMatcher(this.searchEl.value);
    this._applyFilter();
    if (this.o.onFilter) this.o.onFilter(this.match);
  }

  _applyFilter() {
    for (const r of this.rows.values()) r.li.hidden = !this.matches(r.entry.model);
  }

  /** Rows in value order while hovering with "sort" on; in their own order otherwise. */
  _order() {
    const rows = [...this.rows.values()];
    if (this.hover && this.sortByValue) {
      const val = r => {
        const v = this.hover.values.get(r.entry.key);
        if (!v) return -Infinity;
        const x = v.smooth != null && Number.isFinite(v.smooth) ? v.smooth : v.value;
        return Number.isNaN(x) ? -Infinity : x;
      };
      rows.sort((a, b) => val(b) - val(a) || a.index - b.index);
    } else rows.sort((a, b) => a.index - b.index);
    rows.forEach((r, i) => { if (this.list.children[i] !== r.li) this.list.insertBefore(r.li, this.list.children[i] || null); });
  }

  _values() { for (const r of this.rows.values()) this._value(r); }

  _value(r) {
    const e = r.entry;
    if (this.hover) {
      const v = this.hover.values.get(e.key);
      if (!v) { r.value.textContent = '—'; r.value.title = ''; return; }
      const where = v.s0 === v.s1 ? `step ${fmtStep(v.s0)}` : `steps ${fmtStep(v.s0)}–${fmtStep(v.s1)}`;
      if (v.nans === v.count) {
        r.value.textContent = v.count > 1 ? `NaN (${v.count} points)` : 'NaN';
        r.value.title = where;
        return;
      }
      r.value.textContent = fmtValue(v.smooth != null && Number.isFinite(v.smooth) ? v.smooth : v.value);
      let title = where;
      if (v.count > 1) title += `, ${v.count} points: ${fmtValue(v.min)} … ${fmtValue(v.max)}`;
      if (v.nans > 0) title += `, ${v.nans} NaN`;
      r.value.title = title;
    } else {
      r.value.textContent = fmtValue(e.latest);
      r.value.title = e.latestStep != null ? `step ${fmtStep(e.latestStep)}` : '';
    }
  }
}
