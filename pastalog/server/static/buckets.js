// Columnar per-bucket aggregates of one series at one level, as the server sends
// them (see docs/API.md, buckets=N), kept up to date locally as live points arrive:
// a new point is folded into its bucket exactly as the server would, so streaming
// never re-fetches what the page already has. Buckets are cells of 2^level steps.

const FIELDS = ['k', 's0', 's1', 'count', 'nans', 'min', 'max', 'first', 'last', 'sum', 't0', 't1'];

export class Buckets {
  constructor(level) {
    this.level = level;
    this.width = 2 ** level;
    this.version = 0;        // bumped on every change, keys the chart's derived caches
    this.maxStep = -Infinity; // highest step held: a point at or past it is the newest
    this.derived = new Map();
    for (const f of FIELDS) this[f] = [];
  }

  get length() { return this.k.length; }

  /** From a parseBinaryBuckets() or parseBuckets() answer (api.js): the server's columns, as they are. */
  static fromResponse(r) {
    const b = new Buckets(r.level);
    const c = r.cols;
    const n = c.x0.length;
    for (let i = 0; i < n; i++) {
      const count = c.count[i], nans = c.nans[i];
      const finite = count - nans;
      b.k.push(Math.floor(c.x0[i] / b.width));
      b.s0.push(c.s0[i]); b.s1.push(c.s1[i]);
      b.count.push(count); b.nans.push(nans);
      b.min.push(c.min[i]); b.max.push(c.max[i]);
      b.first.push(c.first[i]); b.last.push(c.last[i]);
      b.sum.push(finite > 0 ? c.mean[i] * finite : 0);
      b.t0.push(c.t0[i]); b.t1.push(c.t1[i]);
      if (c.s1[i] > b.maxStep) b.maxStep = c.s1[i];
    }
    return b;
  }

  /** Mean of the non-NaN values of bucket i (NaN if none). */
  mean(i) {
    const n = this.count[i] - this.nans[i];
    return n > 0 ? this.sum[i] / n : NaN;
  }

  /** One number that stands for bucket i (the value itself at level 0). */
  value(i) {
    if (this.count[i] === 1) return this.last[i];
    return this.mean(i);
  }

  lastStep() { return this.length ? this.s1[this.length - 1] : -Infinity; }
  firstStep() { return this.length ? this.s0[0] : Infinity; }

  /** Index of the first bucket with k >= key (binary search). */
  lowerBound(key) {
    let lo = 0, hi = this.k.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.k[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Fold one point into its bucket. */
  add(step, value, time) {
    this.version++;
    const key = Math.floor(step / this.width);
    const n = this.k.length;
    let i = n && this.k[n - 1] === key ? n - 1 : (n === 0 || this.k[n - 1] < key ? n : this.lowerBound(key));
    const isNaN_ = Number.isNaN(value);
    if (i === this.k.length || this.k[i] !== key) {
      if (step > this.maxStep) this.maxStep = step;
      this._insert(i, [key, step, step, 1, isNaN_ ? 1 : 0, isNaN_ ? NaN : value, isNaN_ ? NaN : value,
        value, value, isNaN_ ? 0 : value, time, time]);
      return;
    }
    this.count[i] += 1;
    if (isNaN_) this.nans[i] += 1;
    else {
      this.sum[i] += value;
      if (!(this.min[i] <= value)) this.min[i] = value;   // NaN min means "no value yet"
      if (!(this.max[i] >= value)) this.max[i] = value;
    }
    // last: the value at the bucket's highest step, ties to the last to arrive
    if (step >= this.s1[i]) { this.last[i] = value; this.s1[i] = step; }
    if (step > this.maxStep) this.maxStep = step;
    if (step < this.s0[i]) { this.first[i] = value; this.s0[i] = step; }
    if (time < this.t0[i]) this.t0[i] = time;
    if (time > this.t1[i]) this.t1[i] = time;
  }

  _insert(i, row) {
    FIELDS.forEach((f, j) => this[f].splice(i, 0, row[j]));
  }

  /** Fold columns of points (steps, values, times) in. */
  addPoints(steps, values, times) {
    for (let i = 0; i < steps.length; i++) this.add(steps[i], values[i], times[i]);
  }

  /** A copy merged into cells 2^shift times as wide (exact, like the server's). */
  coarsen(shift) {
    const out = new Buckets(this.level + shift);
    out.maxStep = this.maxStep;
    const n = this.length;
    for (let i = 0; i < n; i++) {
      const key = Math.floor(this.k[i] / 2 ** shift);
      const j = out.k.length - 1;
      if (j >= 0 && out.k[j] === key) {
        out.s1[j] = this.s1[i];
        out.count[j] += this.count[i];
        out.nans[j] += this.nans[i];
        if (!(out.min[j] <= this.min[i])) out.min[j] = Number.isNaN(this.min[i]) ? out.min[j] : this.min[i];
        if (!(out.max[j] >= this.max[i])) out.max[j] = Number.isNaN(this.max[i]) ? out.max[j] : this.max[i];
        out.last[j] = this.last[i];
        out.sum[j] += this.sum[i];
        out.t0[j] = Math.min(out.t0[j], this.t0[i]);
        out.t1[j] = Math.max(out.t1[j], this.t1[i]);
      } else {
        // (field by field, not a loop over FIELDS: the overview coarsens 500 lines)
        out.k.push(key);
        out.s0.push(this.s0[i]); out.s1.push(this.s1[i]);
        out.count.push(this.count[i]); out.nans.push(this.nans[i]);
        out.min.push(this.min[i]); out.max.push(this.max[i]);
        out.first.push(this.first[i]); out.last.push(this.last[i]);
        out.sum.push(this.sum[i]); out.t0.push(this.t0[i]); out.t1.push(this.t1[i]);
      }
    }
    return out;
  }

  /**
   * Replace every bucket from cell `fromKey` on with `other` (fetched from that
   * cell's first step at a level <= ours): the catch-up after a reconnect.
   */
  replaceTail(fromKey, other) {
    this.version++;
    const o = other.level < this.level ? other.coarsen(this.level - other.level) : other;
    const i = this.lowerBound(fromKey);
    for (const f of FIELDS) this[f].length = i;
    for (let j = 0; j < o.length; j++) {
      if (o.k[j] < fromKey) continue;
      for (const f of FIELDS) this[f].push(o[f][j]);
    }
    this.maxStep = this.length ? this.s1[this.length - 1] : -Infinity;
  }

  /** Something computed from these buckets, recomputed only when they change. */
  cached(key, compute) {
    const k = `${key}@${this.version}`;
    let v = this.derived.get(k);
    if (v === undefined) {
      if (this.derived.size > 16) this.derived.clear();
      v = compute();
      this.derived.set(k, v);
    }
    return v;
  }

  /** Total points held. */
  total() {
    let t = 0;
    for (let i = 0; i < this.count.length; i++) t += this.count[i];
    return t;
  }
}

/**
 * The level the server chooses for N buckets over steps [x0, x1]: the smallest whose
 * cells cover the range in at most N, except that steps -1 and 0 never share a cell
 * (floor division keeps them apart at every level), so such a range may take two.
 */
export function levelFor(x0, x1, n) {
  let level = 0;
  for (;;) {
    const w = 2 ** level, a = Math.floor(x0 / w), b = Math.floor(x1 / w);
    if (b - a + 1 <= n || (a === -1 && b === 0)) return level;
    level++;
  }
}
