// A chart's legend: one entry per line with its colour and latest value (or, while
// hovering, its value at the hovered x). Clicking an entry hides/shows its line;
// clicking a model or series name toggles all lines of that model / series.
import { h, clear } from './dom.js';
import { fmtValue, fmtStep } from './format.js';

export class Legend {
  /**
   * @param {HTMLElement} container
   * @param {object} o  {showModel, showSeries, onToggle(entry), onToggleModel(model),
   *                     onToggleSeries(series), onTable(entry), onDelete(entry), onOpen(model)}
   */
  constructor(container, o) {
    this.o = o;
    this.entries = [];
    this.rows = new Map();
    this.header = h('div', { class: 'legend-header' });
    this.list = h('ul', { class: 'legend' });
    this.el = h('div', { class: 'legend-box' }, this.header, this.list);
    container.appendChild(this.el);
    this.hover = null;
    this._header();
  }

  _header() {
    this.header.textContent = this.hover ? `at ${this.hover.label}` : 'latest';
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
        name.appendChild(h('span', { class: 'legend-model', text: e.model, title: `show/hide every line of ${e.model}`,
          onclick: ev => { ev.stopPropagation(); o.onToggleModel && o.onToggleModel(e.model); } }));
      }
      if (o.showSeries) {
        name.appendChild(h('span', { class: 'legend-series', text: e.series, title: `show/hide every ${e.series} line`,
          onclick: ev => { ev.stopPropagation(); o.onToggleSeries && o.onToggleSeries(e.series); } }));
      }
      const value = h('span', { class: 'legend-value' });
      const actions = h('span', { class: 'legend-actions' },
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
      this.rows.set(e.key, { li, value, entry: e });
      this.list.appendChild(li);
    });
    this._values();
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

  setHover(hover) {
    this.hover = hover;
    this._header();
    this._values();
  }

  _values() { for (const r of this.rows.values()) this._value(r); }

  _value(r) {
    const e = r.entry;
    if (this.hover) {
      const v = this.hover.values.get(e.key);
      if (!v) { r.value.textContent = '—'; r.value.title = ''; return; }
      let text = fmtValue(v.smooth != null && Number.isFinite(v.smooth) ? v.smooth : v.value);
      if (v.count > 1) text += ` [${fmtValue(v.min)} … ${fmtValue(v.max)}]`;
      if (v.nans > 0) text += ` (${v.nans} NaN)`;
      r.value.textContent = text;
      r.value.title = v.s0 === v.s1 ? `step ${fmtStep(v.s0)}` : `steps ${fmtStep(v.s0)}–${fmtStep(v.s1)}, ${v.count} points`;
    } else {
      r.value.textContent = fmtValue(e.latest);
      r.value.title = e.latestStep != null ? `step ${fmtStep(e.latestStep)}` : '';
    }
  }
}
