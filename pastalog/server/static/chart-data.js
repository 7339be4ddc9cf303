// The data side of a chart: fetching per-line buckets (whole series, and finer ones
// for a zoomed range, debounced), folding live points in, catching up after a gap.
// chart.js builds the drawing on top of it.
import * as api from './api.js';
import { Buckets, levelFor } from './buckets.js';

export class ChartData {
  // ---------------------------------------------------------------- fetching

  /** Buckets to ask for, from the plot's width in CSS pixels. */
  _n() {
    const w = this.u ? this.u.bbox.width / (window.devicePixelRatio || 1) : this.plotEl.clientWidth - 60;
    // one bucket per 2 CSS px: the M4 line still looks like a full draw, and the
    // server and the page do half the work of one per pixel
    return Math.max(64, Math.round((w || 600) / 2));
  }

  /** The series' first/last step and count as the catalog knows them now. */
  _meta(line) {
    const m = this.opts.getMeta ? this.opts.getMeta(line.model, line.series) : null;
    return m ? { first: m.first_step, last: m.last_step, count: m.count } : null;
  }

  async _loadFull(line) {
    line.loading = true;
    line.error = null;
    const ctl = new AbortController();
    line._ctl = ctl;
    line.pending = [];
    // what the page knew when it asked; websocket points from now on go to `pending`
    const known = this._meta(line);
    try {
      const r = await api.getBuckets(line.model, line.series, this._n(), null, null, ctl.signal);
      if (this.destroyed || ctl.signal.aborted) return;
      // the answer already holds the first (count_total - known count) pending points
      let included = line.pending.length;
      let first = null, last = null;
      if (known && known.count != null) {
        included = Math.max(0, Math.min(line.pending.length, r.countTotal - known.count));
        first = known.first; last = known.last;
        for (const p of line.pending.slice(0, included)) {
          if (first == null || p[0] < first) first = p[0];
          if (last == null || p[0] > last) last = p[0];
        }
      }
      const b = Buckets.fromResponse(r, { first, last });
      for (const p of line.pending.slice(included)) b.add(p[0], p[1], p[2]);
      line.pending = [];
      line.full = b;
      line.countTotal = r.countTotal + 0;
      line.startTime = b.length ? Math.min(...b.t0.slice(0, 16)) : NaN;
      line.view = null;
    } catch (e) {
      if (e.name === 'AbortError') return;
      line.error = e.message;
      if (e.status === 404) line.full = new Buckets(0);
    } finally {
      if (line._ctl === ctl) { line.loading = false; line._ctl = null; }
    }
    this._afterData(true);
    if (this.state.x) this._refetch();
  }

  /** Step range [a, b] of a line that the x range [xa, xb] (axis units) covers. */
  _stepRange(line, xa, xb) {
    if (this.xMode === 'step') return [Math.floor(xa), Math.ceil(xb)];
    const b = line.full;
    if (!b || !b.length) return null;
    const off = this.xMode === 'rel' ? line.startTime : 0;
    let sa = Infinity, sb = -Infinity;
    for (let i = 0; i < b.length; i++) {
      if (b.t1[i] - off >= xa && b.t0[i] - off <= xb) {
        if (b.s0[i] < sa) sa = b.s0[i];
        if (b.s1[i] > sb) sb = b.s1[i];
      }
    }
    if (sa > sb) return null;
    return [Math.floor(sa / b.width) * b.width, (Math.floor(sb / b.width) + 1) * b.width - 1];
  }

  /** After a zoom: fetch finer buckets for every line whose full level is too coarse. */
  _refetchViews() {
    if (this.destroyed || !this.u) return;
    const range = this.state.x;
    const n = this._n();
    for (const line of this.lines) {
      if (!range || !line.full || !line.show) { if (!range) this._dropView(line); continue; }
      const sr = this._stepRange(line, range[0], range[1]);
      if (!sr) continue;
      const sa = Math.max(sr[0], line.full.firstStep()), sb = Math.min(sr[1], line.full.lastStep());
      if (sa > sb) continue;
      const want = levelFor(sa, sb, n);
      if (want >= line.full.level) { this._dropView(line); continue; }
      if (line.view && line.view.level <= want && this._covers(line, range[0], range[1])) continue;
      this._fetchView(line, sa, sb, n, range);
    }
    this.scheduleDraw();
  }

  _dropView(line) {
    if (line._viewCtl) line._viewCtl.abort();
    line.view = null; line.viewRange = null; line.viewSteps = null;
  }

  async _fetchView(line, sa, sb, n, range) {
    if (line._viewCtl) line._viewCtl.abort();
    const ctl = new AbortController();
    line._viewCtl = ctl;
    try {
      const r = await api.getBuckets(line.model, line.series, n, sa, sb, ctl.signal);
      if (this.destroyed || ctl.signal.aborted) return;
      const m = this._meta(line);
      line.view = Buckets.fromResponse(r, m);
      line.viewRange = [range[0], range[1]];
      line.viewSteps = [sa, sb];
      line.viewMode = this.xMode;
    } catch (e) {
      if (e.name !== 'AbortError') line.error = e.message;
      return;
    } finally {
      if (line._viewCtl === ctl) line._viewCtl = null;
    }
    this._fitAfterChange();
  }

  _covers(line, xa, xb) {
    if (!line.view || !line.viewRange || line.viewMode !== this.xMode) return false;
    const eps = (xb - xa) * 1e-6;
    return line.viewRange[0] <= xa + eps && xb - eps <= line.viewRange[1];
  }

  // ---------------------------------------------------------------- live

  /** New points for (model, series) from the websocket. */
  addPoints(model, series, steps, values, times) {
    const line = this.lineFor(model, series);
    if (!line) return false;
    if (!line.full || line.loading) {
      for (let i = 0; i < steps.length; i++) line.pending.push([steps[i], values[i], times[i]]);
      return true;
    }
    line.full.addPoints(steps, values, times);
    line.countTotal += steps.length;
    while (line.full.length > 2 * this._n()) line.full = line.full.coarsen(1);
    if (line.view && line.viewSteps) {
      for (let i = 0; i < steps.length; i++) {
        if (steps[i] >= line.viewSteps[0] && steps[i] <= line.viewSteps[1]) line.view.add(steps[i], values[i], times[i]);
      }
    }
    if (Number.isNaN(line.startTime) && times.length) line.startTime = times[0];
    this._afterData(false);
    return true;
  }

  /**
   * Bring a line up to date with the store from the last bucket it has (after a
   * reconnect, or a "refresh" event for a large batch): only the missing tail is
   * fetched. `meta` is the series' entry from /api/v1/models, when known.
   */
  async catchUp(model, series, meta) {
    const line = this.lineFor(model, series);
    if (!line) return;
    if (!line.full || !line.full.length || line.loading) { if (!line.loading) this._loadFull(line); return; }
    const b = line.full;
    if (meta && meta.count === b.total() && meta.last_step <= b.maxStep) return;   // nothing missed
    const fromKey = b.k[b.length - 1];
    const x0 = fromKey * b.width;
    const lastStep = meta && meta.last_step != null ? meta.last_step : null;
    if (lastStep != null && lastStep < x0) {
      if (meta.count !== b.total()) this._loadFull(line);
      return;
    }
    const x1 = lastStep != null ? lastStep : x0 + b.width * this._n();
    const n = Math.floor(x1 / b.width) - fromKey + 1;
    if (n > 2 * this._n()) { this._loadFull(line); return; }   // a long tail: a coarser level fits better
    line.loading = true;          // websocket points wait in `pending` meanwhile
    line.pending = [];
    let handedOver = false;
    try {
      const r = await api.getBuckets(model, series, Math.max(1, n), x0, x1);
      if (this.destroyed || line.full !== b) return;
      b.replaceTail(fromKey, Buckets.fromResponse(r));
      if (meta) b.clampTo(null, meta.last_step);
      line.countTotal = r.countTotal;
      if (b.total() !== r.countTotal) {   // older steps changed too: fetch it all again
        handedOver = true;
        line.loading = false;
        this._loadFull(line);
        return;
      }
      // points that arrived while we fetched and are past what the answer held
      for (const p of line.pending) if (p[0] > b.maxStep) b.add(p[0], p[1], p[2]);
      while (line.full.length > 2 * this._n()) line.full = line.full.coarsen(1);
    } catch (e) {
      if (e.status === 404) { line.full = new Buckets(0); }
      else { line.error = e.message; return; }
    } finally {
      if (!handedOver) { line.loading = false; line.pending = []; this.scheduleDraw(); }
    }
    if (line.view) this._dropView(line);
    this._afterData(false);
    if (this.state.x) this._refetch();
  }

  /** The buckets drawn for a line right now: the zoomed fetch if it covers the view. */
  _display(line) {
    if (!line.full) return null;
    const sc = this.u && this.u.scales.x;
    if (line.view && sc && sc.min != null && this._covers(line, sc.min, sc.max)) return line.view;
    return line.full;
  }

  _displayFor(line, xa, xb) {
    if (line.view && this._covers(line, xa, xb)) return line.view;
    return line.full;
  }
}
