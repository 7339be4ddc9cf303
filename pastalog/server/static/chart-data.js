// The data side of a chart: per-line buckets for the whole series, finer ones for a
// zoomed range (debounced), live points folded in exactly once, and catching up after
// a gap. chart.js draws it; this class knows nothing of the drawing and talks to it
// only through the callbacks it is given.
//
// Exactly once: every stored point of a series has a sequence number (its order of
// arrival, docs/API.md). Each answer carries the `seq` of its snapshot and each
// websocket `points` event the numbers of its points, so a live point that arrives
// while a fetch is under way is folded in if and only if its number is above the
// answer's. An event whose first number is past the last one known + 1 means points
// were missed: the tail is fetched again.
import * as api from './api.js';
import { Buckets, levelFor } from './buckets.js';
import { debounce } from './dom.js';

export class ChartData {
  /**
   * @param {object} o  callbacks:
   *   buckets()  how many buckets to ask for (from the plot's width)
   *   xMode()    'step', 'wall' or 'rel'
   *   zoom()     the zoomed x range [a, b] in axis units, or null
   *   onData()   lines' data changed: redraw
   */
  constructor(o) {
    this.o = o;
    this.lines = [];
    this.destroyed = false;
    this.refetch = debounce(() => this.refetchViews(), 150);
  }

  /**
   * Set the lines: [{key, model, series, label, color, dash, show}]. Lines that stay
   * keep their data; new ones are fetched.
   */
  setLines(specs) {
    const old = new Map(this.lines.map(l => [l.key, l]));
    const next = specs.map(s => {
      const prev = old.get(s.key);
      if (prev) { Object.assign(prev, s); return prev; }
      return { ...s, full: null, view: null, viewRange: null, viewSteps: null, viewPending: null,
        pending: [], seq: null, loading: false, error: null, startTime: NaN, _ctl: null, _viewCtl: null };
    });
    for (const l of old.values()) if (!next.includes(l)) this._abort(l);
    this.lines = next;
    return next.filter(l => !l.full && !l.loading);
  }

  lineFor(model, series) {
    return this.lines.find(l => l.model === model && l.series === series);
  }

  _abort(line) {
    if (line._ctl) line._ctl.abort();
    if (line._viewCtl) line._viewCtl.abort();
  }

  _changed() { if (!this.destroyed) this.o.onData(); }

  /** Keep a line's whole-series buckets at about the chart's resolution. */
  _fit(line) {
    const n = this.o.buckets();
    while (line.full.length > 2 * n) line.full = line.full.coarsen(1);
  }

  /**
   * Fold points [step, value, time, seq] that arrived after the snapshot `seq` into
   * `b`. Returns the last sequence number now held, or -1 if points were missed.
   */
  static fold(b, points, seq) {
    for (const p of points) {
      if (p[3] <= seq) continue;          // already in the answer
      if (p[3] > seq + 1) return -1;      // a gap: something was missed
      b.add(p[0], p[1], p[2]);
      seq = p[3];
    }
    return seq;
  }

  // ---------------------------------------------------------------- fetching

  /** (Re)load a line's whole series; live points meanwhile wait in `pending`. */
  async loadFull(line) {
    if (line._ctl) line._ctl.abort();
    line.loading = true;
    line.error = null;
    const ctl = new AbortController();
    line._ctl = ctl;
    line.pending = [];
    line.recheck = false;
    let again = false;
    try {
      const r = await api.getBuckets(line.model, line.series, this.o.buckets(), null, null, ctl.signal);
      if (this.destroyed || ctl.signal.aborted) return;
      const b = Buckets.fromResponse(r);
      const seq = ChartData.fold(b, line.pending, r.seq);
      again = seq < 0;
      line.seq = again ? r.seq : seq;
      line.pending = [];
      line.full = b;
      this._fit(line);
      line.startTime = b.length ? Math.min(...b.t0.slice(0, 16)) : NaN;
      this.dropView(line);
    } catch (e) {
      if (e.name === 'AbortError') return;
      line.error = e.message;
      if (e.status === 404) { line.full = new Buckets(0); line.seq = 0; }
    } finally {
      if (line._ctl === ctl) { line.loading = false; line._ctl = null; }
    }
    this._changed();
    if (again || line.recheck) { this.catchUp(line); return; }
    if (this.o.zoom()) this.refetch();
  }

  /** Step range [a, b] of a line that the x range [xa, xb] (axis units) covers. */
  stepRange(line, xa, xb) {
    const mode = this.o.xMode();
    if (mode === 'step') return [Math.floor(xa), Math.ceil(xb)];
    const b = line.full;
    if (!b || !b.length) return null;
    const off = mode === 'rel' ? line.startTime : 0;
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
  refetchViews() {
    if (this.destroyed) return;
    const range = this.o.zoom();
    const n = this.o.buckets();
    for (const line of this.lines) {
      if (!range) { this.dropView(line); continue; }
      if (!line.full || !line.show) continue;
      const sr = this.stepRange(line, range[0], range[1]);
      if (!sr) continue;
      const sa = Math.max(sr[0], line.full.firstStep()), sb = Math.min(sr[1], line.full.lastStep());
      if (sa > sb) continue;
      const want = levelFor(sa, sb, n);
      if (want >= line.full.level) { this.dropView(line); continue; }
      if (line.view && line.view.level <= want && this.covers(line, range[0], range[1])) continue;
      this._fetchView(line, sa, sb, n, range);
    }
    this._changed();
  }

  dropView(line) {
    if (line._viewCtl) line._viewCtl.abort();
    line.view = null; line.viewRange = null; line.viewSteps = null; line.viewPending = null;
  }

  async _fetchView(line, sa, sb, n, range) {
    if (line._viewCtl) line._viewCtl.abort();
    const ctl = new AbortController();
    line._viewCtl = ctl;
    line.viewPending = [];
    line.viewPendingSteps = [sa, sb];
    try {
      const r = await api.getBuckets(line.model, line.series, n, sa, sb, ctl.signal);
      if (this.destroyed || ctl.signal.aborted) return;
      const v = Buckets.fromResponse(r);
      // live points in the range that arrived during the fetch (a gap here only
      // costs the zoomed view a point until the next zoom: the full line refetches)
      for (const p of line.viewPending) if (p[3] > r.seq) v.add(p[0], p[1], p[2]);
      line.view = v;
      line.viewRange = [range[0], range[1]];
      line.viewSteps = [sa, sb];
      line.viewMode = this.o.xMode();
    } catch (e) {
      if (e.name !== 'AbortError') line.error = e.message;
      return;
    } finally {
      if (line._viewCtl === ctl) { line._viewCtl = null; line.viewPending = null; }
    }
    this._changed();
  }

  covers(line, xa, xb) {
    if (!line.view || !line.viewRange || line.viewMode !== this.o.xMode()) return false;
    const eps = (xb - xa) * 1e-6;
    return line.viewRange[0] <= xa + eps && xb - eps <= line.viewRange[1];
  }

  /** The buckets to draw for a line over [xa, xb]: the zoomed fetch if it covers it. */
  display(line, xa, xb) {
    if (!line.full) return null;
    if (line.view && xa != null && this.covers(line, xa, xb)) return line.view;
    return line.full;
  }

  // ---------------------------------------------------------------- live

  /**
   * New points for (model, series) from the websocket; `seq` is the number of the
   * last of them (docs/API.md). Returns false if no line shows that series.
   */
  addPoints(model, series, steps, values, times, seq) {
    const line = this.lineFor(model, series);
    if (!line) return false;
    const n = steps.length;
    const pts = [];
    for (let i = 0; i < n; i++) pts.push([steps[i], values[i], times[i], seq - n + 1 + i]);
    if (line.viewPending) {
      const [a, b] = line.viewPendingSteps;
      for (const p of pts) if (p[0] >= a && p[0] <= b) line.viewPending.push(p);
    }
    if (!line.full || line.loading) { line.pending.push(...pts); return true; }
    const had = line.seq;
    const now = ChartData.fold(line.full, pts, had);
    if (now < 0) { this.catchUp(line); return true; }
    if (now === had) return true;            // all of them already held
    line.seq = now;
    this._fit(line);
    if (line.view && line.viewSteps) {
      for (const p of pts) {
        if (p[3] > had && p[0] >= line.viewSteps[0] && p[0] <= line.viewSteps[1]) line.view.add(p[0], p[1], p[2]);
      }
    }
    if (Number.isNaN(line.startTime) && n) line.startTime = times[0];
    this._changed();
    return true;
  }

  /** A "refresh" event (a large batch was stored): catch up unless already held. */
  refresh(model, series, seq) {
    const line = this.lineFor(model, series);
    if (!line) return;
    if (line.full && !line.loading && line.seq != null && seq <= line.seq) return;
    this.catchUp(line);
  }

  /** The series was deleted: it starts again, empty, from sequence number 0. */
  deleted(model, series) {
    for (const line of this.lines) {
      if (line.model !== model || (series != null && line.series !== series)) continue;
      this._abort(line);
      line.loading = false;
      line.pending = [];
      line.full = new Buckets(0);
      line.seq = 0;
      line.startTime = NaN;
      this.dropView(line);
    }
    this._changed();
  }

  /**
   * Bring a line up to date with the store (after a reconnect, a gap or a "refresh"):
   * only the tail from the last bucket held is fetched, unless older steps changed.
   */
  async catchUp(line) {
    if (!line.full || !line.full.length || line.loading) {
      // (asked while a fetch is under way, its snapshot may be older than the
      // reason for asking: look again once it is in)
      if (line.loading) line.recheck = true;
      else this.loadFull(line);
      return;
    }
    const b = line.full;
    const fromKey = b.k[b.length - 1];
    const ctl = new AbortController();
    line._ctl = ctl;
    line.loading = true;          // websocket points wait in `pending` meanwhile
    line.pending = [];
    line.recheck = false;
    let reload = false;
    try {
      const r = await api.getBuckets(line.model, line.series, 2 * this.o.buckets(), fromKey * b.width, null, ctl.signal);
      if (this.destroyed || ctl.signal.aborted || line.full !== b) return;
      // a tail too long for our level (a coarser whole fits better), or points
      // missed at older steps too (the totals differ): load it all again
      reload = r.level > b.level;
      if (!reload) {
        b.replaceTail(fromKey, Buckets.fromResponse(r));
        const seq = b.total() === r.countTotal ? ChartData.fold(b, line.pending, r.seq) : -1;
        reload = seq < 0;
        if (!reload) { line.seq = seq; line.error = null; this._fit(line); }
      }
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (e.status === 404) { line.full = new Buckets(0); line.seq = 0; }
      else line.error = e.message;
    } finally {
      if (line._ctl === ctl) { line.loading = false; line._ctl = null; line.pending = []; }
    }
    if (reload) { this.loadFull(line); return; }
    this.dropView(line);
    this._changed();
    if (line.recheck) { this.catchUp(line); return; }
    if (this.o.zoom()) this.refetch();
  }

  destroy() {
    this.destroyed = true;
    this.refetch.cancel();
    for (const l of this.lines) this._abort(l);
  }
}
