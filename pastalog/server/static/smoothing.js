// Exponentially weighted smoothing, debiased like TensorBoard's: the running average
// starts at 0 and is divided by (1 - w^n), so the first points are not dragged to 0.
// Works on buckets: a bucket of n points with mean m is folded in as n points of m,
// which is exact at level 0 (one point per bucket) and close above it.

/**
 * @param {import('./buckets.js').Buckets} b
 * @param {number} w  weight in [0, 1): 0 = no smoothing
 * @returns {Float64Array} the smoothed value per bucket (NaN where it has no finite value)
 */
export function smoothBuckets(b, w) {
  const n = b.length;
  const out = new Float64Array(n);
  let avg = 0, seen = 0;
  for (let i = 0; i < n; i++) {
    const v = b.value(i);
    if (!Number.isFinite(v)) { out[i] = NaN; continue; }
    if (w <= 0) { out[i] = v; continue; }
    const m = Math.max(1, b.count[i] - b.nans[i]);
    const d = w ** m;
    avg = avg * d + (1 - d) * v;
    seen += m;
    out[i] = avg / (1 - w ** seen);
  }
  return out;
}
