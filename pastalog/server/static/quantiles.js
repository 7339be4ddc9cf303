// Quantiles of a histogram record (edges + counts), interpolated linearly within the
// bin where the cumulative count crosses q·N: the values inside one bin are taken as
// spread evenly over it. The 0 % and 100 % quantiles are the record's exact min and
// max when it has them. An estimate is off from the raw values' percentile by at
// most about one bin width (tests/browser/test_histogram_views.py checks this against
// numpy in Chromium).

/** TensorBoard's distribution bands: these percentiles, outermost pair first. */
export const PERCENTS = Object.freeze([0, 7, 16, 31, 50, 69, 84, 93, 100]);

/**
 * The values at fractions `qs` (each in [0, 1]) of a histogram.
 *
 * @param {ArrayLike<number>} edges   nbins + 1 increasing bin edges
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
  if (edges.length !== nb + 1) {
    throw new RangeError(`a histogram needs one edge more than counts: ${edges.length} edges, ${nb} counts`);
  }
  const out = new Float64Array(qs.length).fill(NaN);
  let total = 0;
  for (let i = 0; i < nb; i++) if (counts[i] > 0) total += counts[i];
  if (!(total > 0)) return out;
  let first = 0, last = nb - 1;
  while (!(counts[first] > 0)) first++;
  while (!(counts[last] > 0)) last--;
  const lo = Number.isFinite(min) ? min : edges[first];
  const hi = Number.isFinite(max) ? max : edges[last + 1];
  // fractions in increasing order, walked once along the bins
  const order = Array.from(qs, (q, j) => j).sort((a, b) => qs[a] - qs[b]);
  let i = first, below = 0;   // count in bins before i
  for (const j of order) {
    const q = qs[j];
    if (!(q >= 0 && q <= 1)) throw new RangeError(`a quantile is a fraction in [0, 1], not ${q}`);
    if (q === 0) { out[j] = lo; continue; }
    if (q === 1) { out[j] = hi; continue; }
    const target = q * total;
    while (i < last && !(below + Math.max(0, counts[i]) >= target)) { below += Math.max(0, counts[i]); i++; }
    const c = Math.max(0, counts[i]);
    const f = c > 0 ? Math.min(1, Math.max(0, (target - below) / c)) : 0;
    const v = edges[i] + f * (edges[i + 1] - edges[i]);
    out[j] = Math.min(hi, Math.max(lo, v));
  }
  return out;
}

/** The PERCENTS quantiles of one record ({edges, counts, min, max}). */
export function recordQuantiles(rec, percents = PERCENTS) {
  return quantiles(rec.edges, rec.counts, percents.map(p => p / 100), rec.min, rec.max);
}
