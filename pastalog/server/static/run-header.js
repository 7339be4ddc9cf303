// The top of the detail view: a run's status (a crash with its error), tags, notes,
// provenance (host, command line, git commit and dirty flag, Python and pastalog
// versions, start, duration) and its config as a collapsible table. Live: it
// re-renders when the run's record changes. Every value is set as text.
import { h, clear } from './dom.js';
import { fmtTime, fmtDuration, shortName } from './format.js';
import { configText, duration } from './runs-data.js';

/**
 * The header for `model` in a new element; returns {el, destroy}. It stops listening
 * once the element has left the document (destroy() does that at once).
 */
export function mountRunHeader(ctx, model) {
  const runs = ctx.runs;
  const el = h('section', { class: 'run-header', 'aria-label': 'run' });
  let configOpen = localStorage.getItem('pastalog.configOpen') === '1';

  function field(label, value, cls) {
    return value == null || value === '' ? null
      : h('span', { class: `rh-field ${cls || ''}` }, h('span', { class: 'rh-label', text: label }), h('span', { class: 'rh-value', text: value }));
  }

  function render() {
    clear(el);
    const run = runs.get(model);
    if (!run) { el.hidden = true; return; }
    el.hidden = false;
    const st = run.status || 'unknown';
    const status = h('span', { class: 'rh-status', dataset: { status: st } },
      h('span', { class: 'status-dot', dataset: { status: st } }), run.status || 'no status');
    if (run.status === 'crashed' && run.error) status.title = `${run.error.type}: ${run.error.message}`;
    const top = h('div', { class: 'rh-top' }, status,
      field('started', run.start != null ? fmtTime(run.start) : null),
      field('duration', run.start != null ? fmtDuration(duration(run)) : null),
      run.restarts.length ? field('restarts', String(run.restarts.length)) : null,
      h('span', { class: 'rh-tags' }, ...run.tags.map(t => h('span', { class: 'tag', text: t }))));
    el.appendChild(top);
    if (run.status === 'crashed' && run.error) {
      el.appendChild(h('div', { class: 'rh-error', text: `${run.error.type}: ${run.error.message}` }));
    }
    const p = run.provenance;
    if (p) {
      const git = p.git ? `${String(p.git.commit || '').slice(0, 10)}${p.git.dirty === true ? ' (dirty)' : p.git.dirty === false ? ' (clean)' : ''}` : null;
      el.appendChild(h('div', { class: 'rh-prov' },
        field('host', p.host != null ? `${p.host}${p.pid != null ? ` · pid ${p.pid}` : ''}` : null),
        field('git', git, 'rh-git'),
        field('python', p.python),
        field('pastalog', p.pastalog),
        field('cwd', p.cwd)));
      if (Array.isArray(p.argv) && p.argv.length) {
        el.appendChild(h('div', { class: 'rh-cmd' }, h('span', { class: 'rh-label', text: 'command' }),
          h('code', { class: 'rh-argv', text: p.argv.map(String).join(' ') })));
      }
    }
    if (run.notes) el.appendChild(h('p', { class: 'rh-notes', text: run.notes }));
    const keys = Object.keys(run.config).sort();
    if (keys.length) {
      const rows = keys.map(k => h('tr', {}, h('th', { text: k, title: k }), h('td', { text: configText(run.config[k]) })));
      const details = h('details', { class: 'rh-config', open: configOpen },
        h('summary', { text: `config (${keys.length} key${keys.length === 1 ? '' : 's'})` }),
        h('table', { class: 'rh-config-table' }, h('tbody', {}, ...rows)));
      details.addEventListener('toggle', () => { configOpen = details.open; localStorage.setItem('pastalog.configOpen', configOpen ? '1' : '0'); });
      el.appendChild(details);
    }
    el.title = '';
    el.dataset.model = shortName(model, 200);
  }

  // the view may just drop the element: then the header stops by itself
  let mounted = false;
  const alive = () => { if (el.isConnected || !mounted) return true; destroy(); return false; };
  const off = runs.on(({ models }) => { if (alive() && (models == null || models.includes(model))) render(); });
  render();
  runs.load().catch(() => {});
  // a running run's duration grows
  const tick = setInterval(() => { const r = runs.get(model); if (alive() && r && r.status === 'running') render(); }, 5000);
  queueMicrotask(() => { mounted = true; });
  function destroy() { off(); clearInterval(tick); el.remove(); }
  return { el, destroy };
}
