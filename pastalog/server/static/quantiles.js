// Quantiles of a histogram record (edges + counts), estimated the way numpy's
// percentile (linear) reads raw values: the fraction q is the rank q·(N−1) among the N
// values sorted, interpolated between the two order statistics around it, where the
// c values of a bin are taken as spread evenly over it (the j-th at (j + ½)/c of its
// width). Each estimated order statistic lies in the bin of the true one, so the
// answer is off from numpy's percentile of the raw values by less than one bin width
// (tests/browser/test_histogram_views.py checks this in Chromium). The 0 % and 100 %
// quantiles are the record's exact min and max when it has them.

/** TensorBoard's distribution bands: these percentiles, outermost pair first. */
export const PERCENTS = Object.freeze([0, 7, 16, 31, 50, 69, 84, 93, 100]);

/**
 * The values at fractions `qs` (each in [0, 1]) of a histogram.
 *
 * @param {ArrayLike<number>} edges   nbins + 1 increasing bin edges (none when nbins is 0)
 * @param {ArrayLike<number>} counts  nbins counts (of finite values)
 * @param {ArrayLike<number>} qs      fractions, e.g. [0, 0.5, 1]
 * @param {number} [min]  exact smallest value (clamps the answer; NaN = unknown)
 * @param {number} [max]  exact largest value
 * @returns {Float64Array} one value per fraction; NaN when the histogram is empty
 *
 * quantiles([0, 1, 2], [1, 1], [0, 0.5, 1]) → [0, 1, 2]
 */
export function quantiles(edges, counts, qs, min = NaN, max = NaN) {
  const nb = counts.length;
  if (edges.length !== nb + 1 && !(edges.length === 0 && nb === 0)) {
    throw new RangeError(`a histogram needs one edge more than counts: ${edges.length} edges, ${nb} counts`);
  }
  const out = new Float64Array(qs.length).fill(NaN);
  let total = 0;
  for (let b = 0; b < nb; b++) if (counts[b] > 0) total += counts[b];
  if (!(total > 0)) return out;
  let first = 0, last = nb - 1;
  while (!(counts[first] > 0)) first++;
  while (!(counts[last] > 0)) last--;
  const lo = Number.isFinite(min) ? min : edges[first];
  const hi = Number.isFinite(max) ? max : edges[last + 1];
  // the k-th smallest value (0-based, k real), placed evenly within its bin
  const cum = new Float64Array(nb + 1);   // count in the bins before bin i
  for (let b = 0; b < nb; b++) cum[b + 1] = cum[b] + Math.max(0, counts[b]);
  const order = (k) => {
    let a = first, z = last;               // the bin with cum[b] <= k < cum[b + 1]
    while (a < z) { const m = (a + z + 1) >> 1; if (cum[m] <= k) a = m; else z = m - 1; }
    const c = counts[a];
    const f = Math.min(1, Math.max(0, (k - cum[a] + 0.5) / c));
    return edges[a] + f * (edges[a + 1] - edges[a]);
  };
  for (let j = 0; j < qs.length; j++) {
    const q = qs[j];
    if (!(q >= 0 && q <= 1)) throw new RangeError(`a quantile is a fraction in [0, 1], not ${q}`);
    if (q === 0) { out[j] = lo; continue; }
    if (q === 1) { out[j] = hi; continue; }
    const r = q * (total - 1), k = Math.floor(r), f = r - k;
    const a = order(k);
    const v = f > 0 ? a + f * (order(k + 1) - a) : a;
    out[j] = Math.min(hi, Math.max(lo, v));
  }
  return out;
}

/** The PERCENTS quantiles of one record ({edges, counts, min, max}). */
export function recordQuantiles(rec, percents = PERCENTS) {
  return quantiles(rec.edges, rec.counts, percents.map(p => p / 100), rec.min, rec.max);
}
