// A chart's legend: one entry per line with its colour and latest value (or, while
// hovering, its value at the hovered x: the names stay, the line under the cursor is
// emphasised and the list can be sorted by value). Clicking an entry hides/shows its
// line; clicking a model or series name toggles all lines of that model / series.
// With `search`, a box filters the entries by model (text or /regex/), and "only"
// / "show all" narrow the chart to one line or bring every line back. Past
// LEGEND_ROWS entries the rest wait behind a "show N more" button (the search finds
// any of them): laying out hundreds of rows costs more than drawing their lines.
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

/** Rows listed before "show N more": enough to scroll through, few enough to lay out fast. */
export const LEGEND_ROWS = 100;

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
      onclick: () => { this.sortByValue = !this.sortByValue; this.sortBtn.setAttribute('aria-pressed', String(this.sortByValue)); this._render(); } });
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
    this.expanded = false;
    this.moreBtn = h('button', { type: 'button', class: 'icon legend-more-btn',
      onclick: () => { this.expanded = true; this._render(); } });
    this.moreEl = h('li', { class: 'legend-more' }, this.moreBtn);
    this.el = h('div', { class: 'legend-box' }, this.header, this.focusEl, this.searchEl, this.list);
    container.appendChild(this.el);
    this._header();
  }

  _header() {
    this.title.textContent = this.hover ? `at ${this.hover.label}` : 'latest';
    // the line under the cursor is named here too: in a long list its row may be out
    // of view, or not drawn at all (past LEGEND_ROWS)
    const f = this.hover && this.hover.focus != null ? this.rows.get(this.hover.focus) : null;
    clear(this.focusEl);
    if (f) {
      const v = this.hover.values.get(f.entry.key);
      this.focusEl.append(nameSpans('legend-focus-name', this.o.showModel ? f.entry.model : f.entry.series, 40, f.entry.label),
        h('span', { class: 'legend-focus-value', text: v ? this._valueText(f.entry).text : '' }));
    }
  }

  /** entries: [{key, model, series, label, color, dash, show, latest, latestStep}] */
  setEntries(entries) {
    this.entries = entries;
    for (const r of this.rows.values()) if (r.li) r.li.remove();
    this.rows.clear();
    this.expanded = false;
    entries.forEach((e, i) => this.rows.set(e.key, { li: null, value: null, entry: e, index: i }));
    this._render();
  }

  /** The row's element, made the first time it is shown. */
  _make(r) {
    const o = this.o, e = r.entry;
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
    r.value = h('span', { class: 'legend-value' });
    const actions = h('span', { class: 'legend-actions' },
      o.onOnly && h('button', { type: 'button', class: 'icon legend-only', title: 'show only this one',
        'aria-label': `show only ${e.label}`, text: '◎', onclick: ev => { ev.stopPropagation(); o.onOnly(e); } }),
      o.onOpen && h('button', { type: 'button', class: 'icon legend-open', title: `open ${e.model}`,
        'aria-label': `open model ${e.model}`, text: '↗', onclick: ev => { ev.stopPropagation(); o.onOpen(e.model); } }),
      o.onTable && h('button', { type: 'button', class: 'icon legend-table', title: 'table of values',
        'aria-label': `table of ${e.label}`, text: '▤', onclick: ev => { ev.stopPropagation(); o.onTable(e); } }),
      o.onDelete && h('button', { type: 'button', class: 'icon legend-delete', title: 'delete this series',
        'aria-label': `delete ${e.label}`, text: '✕', onclick: ev => { ev.stopPropagation(); o.onDelete(e); } }));
    r.li = h('li', { class: 'legend-entry', dataset: { index: String(r.index) }, role: 'button', tabindex: '0',
      title: 'click to hide/show',
      onclick: () => o.onToggle && o.onToggle(e),
      onkeydown: ev => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); o.onToggle && o.onToggle(e); } } },
    swatch, name, r.value, actions);
    this._state(r);
  }

  /** Shown/hidden and hover emphasis of a row's element. */
  _state(r) {
    const show = r.entry.show !== false;
    r.li.classList.toggle('off', !show);
    r.li.setAttribute('aria-pressed', String(show));
    const f = this.hover && this.hover.focus;
    r.li.classList.toggle('emph', f != null && f === r.entry.key);
    r.li.classList.toggle('dim', f != null && f !== r.entry.key);
  }

  /**
   * Put the rows that pass the search in the list, in order: at most LEGEND_ROWS of
   * them until "show more" is clicked. Hundreds of rows cost the page more layout
   * than the chart costs to draw, and the search box finds any of them.
   */
  _render() {
    const all = this._ordered().filter(r => this.matches(r.entry.model));
    const shown = this.expanded ? all : all.slice(0, LEGEND_ROWS);
    const keep = new Set(shown);
    for (const r of this.rows.values()) if (r.li && !keep.has(r) && r.li.parentNode) r.li.remove();
    shown.forEach((r, i) => {
      if (!r.li) this._make(r);
      this._value(r);
      if (this.list.children[i] !== r.li) this.list.insertBefore(r.li, this.list.children[i] || null);
    });
    const more = all.length - shown.length;
    if (more > 0) {
      this.moreBtn.textContent = `show ${more} more`;
      this.moreBtn.title = `${all.length} lines; the first ${shown.length} are listed (or search for one)`;
      this.list.appendChild(this.moreEl);
    } else this.moreEl.remove();
  }

  setShown(key, show) {
    const r = this.rows.get(key);
    if (!r) return;
    r.entry.show = show;
    if (r.li) this._state(r);
  }

  /** Latest values changed (live). */
  setLatest(key, value, step) {
    const r = this.rows.get(key);
    if (!r) return;
    r.entry.latest = value; r.entry.latestStep = step;
    if (!this.hover && r.li) this._value(r);
  }

  /** The chart's hover: {label, values: Map key → value, focus: key of the line under the cursor}. */
  setHover(hover) {
    const was = !!this.hover;
    this.hover = hover;
    this._header();
    if (this.sortByValue || was !== !!hover) { this._render(); }
    else this._values();
    for (const r of this.rows.values()) if (r.li && r.li.parentNode) this._state(r);
  }

  /** Whether a model passes the search box. */
  matches(model) { return !this.match || this.match(model); }

  _filter() {
    this.match = nameMatcher(this.searchEl.value);
    this._render();
    if (this.o.onFilter) this.o.onFilter(this.match);
  }

  /** Rows in value order while hovering with "sort" on; in their own order otherwise. */
  _ordered() {
    const rows = [...this.rows.values()];
    if (this.hover && this.sortByValue) {
      const val = r => {
        const v = this.hover.values.get(r.entry.key);
        if (!v) return -Infinity;
        const x = v.smooth != null && Number.isFinite(v.smooth) ? v.smooth : v.value;
        return Number.isNaN(x) ? -Infinity : x;
      };
      rows.sort((a, b) => val(b) - val(a) || a.index - b.index);
    }
    return rows;
  }

  _values() { for (const r of this.rows.values()) if (r.li && r.li.parentNode) this._value(r); }

  _value(r) {
    const { text, title } = this._valueText(r.entry);
    r.value.textContent = text;
    r.value.title = title;
  }

  /** What a row shows as its value: at the hovered x, or the latest. */
  _valueText(e) {
    if (this.hover) {
      const v = this.hover.values.get(e.key);
      if (!v) return { text: '—', title: '' };
      const where = v.s0 === v.s1 ? `step ${fmtStep(v.s0)}` : `steps ${fmtStep(v.s0)}–${fmtStep(v.s1)}`;
      if (v.nans === v.count) return { text: v.count > 1 ? `NaN (${v.count} points)` : 'NaN', title: where };
      let title = where;
      if (v.count > 1) title += `, ${v.count} points: ${fmtValue(v.min)} … ${fmtValue(v.max)}`;
      if (v.nans > 0) title += `, ${v.nans} NaN`;
      return { text: fmtValue(v.smooth != null && Number.isFinite(v.smooth) ? v.smooth : v.value), title };
    }
    return { text: fmtValue(e.latest), title: e.latestStep != null ? `step ${fmtStep(e.latestStep)}` : '' };
  }
}
