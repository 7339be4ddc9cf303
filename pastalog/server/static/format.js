// Number, step and time formatting for axes, legends and tables.

/** JSON value from the API (number, "NaN", "Infinity", "-Infinity", null) → number. */
export function num(x) {
  if (typeof x === 'number') return x;
  if (x === null || x === undefined) return NaN;
  return Number(x);
}

/** A whole column from the API → Float64Array (null → NaN). */
export function numColumn(a) {
  const out = new Float64Array(a ? a.length : 0);
  for (let i = 0; i < out.length; i++) out[i] = num(a[i]);
  return out;
}

/** A value for people: 4 significant digits, NaN and ±∞ spelled out. */
export function fmtValue(v) {
  if (v === null || v === undefined) return '—';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+∞';
  if (v === -Infinity) return '−∞';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  return String(Number(v.toPrecision(5)));
}

/** A step: integer with thin grouping. */
export function fmtStep(s) {
  if (s == null || !Number.isFinite(s)) return '—';
  return Math.round(s).toLocaleString('en-US');
}

function pad(n, w = 2) { return String(n).padStart(w, '0'); }

/** Unix seconds → local "YYYY-MM-DD HH:MM:SS". */
export function fmtTime(t) {
  if (t == null || !Number.isFinite(t)) return '—';
  const d = new Date(t * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Seconds → "1h 02m", "3m 05s", "12.5s". */
export function fmtDuration(sec) {
  if (sec == null || !Number.isFinite(sec)) return '—';
  const sign = sec < 0 ? '−' : '';
  let s = Math.abs(sec);
  if (s < 60) return sign + `${Number(s.toPrecision(3))}s`;
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); s = Math.floor(s - mm * 60);
  if (d) return sign + `${d}d ${pad(hh)}h`;
  if (hh) return sign + `${hh}h ${pad(mm)}m`;
  return sign + `${mm}m ${pad(s)}s`;
}

/** Format an x value for the given axis mode. */
export function fmtX(x, xMode) {
  if (xMode === 'wall') return fmtTime(x);
  if (xMode === 'rel') return fmtDuration(x);
  return fmtStep(x);
}

/** Compact axis label for a step: 950, 12k, 1.5M (`digits` significant digits). */
export function fmtStepShort(s, digits = 4) {
  const a = Math.abs(s);
  if (a < 1e4) return String(Math.round(s));
  if (a < 1e6) return `${Number((s / 1e3).toPrecision(digits))}k`;
  if (a < 1e9) return `${Number((s / 1e6).toPrecision(digits))}M`;
  return `${Number((s / 1e9).toPrecision(digits))}B`;
}

/** Compact axis label for a value (`digits` significant digits). */
export function fmtAxisValue(v, digits = 6) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(Math.max(1, digits - 5));
  return String(Number(v.toPrecision(digits)));
}

/** Labels for value ticks that tell adjacent ticks apart (more digits when needed). */
export function fmtValueTicks(splits) {
  for (let digits = 6; digits <= 16; digits++) {
    const labels = splits.map(v => (v == null ? '' : fmtAxisValue(v, digits)));
    if (labels.every((l, i) => i === 0 || l !== labels[i - 1] || splits[i] === splits[i - 1])) return labels;
  }
  return splits.map(v => (v == null ? '' : String(v)));
}

/**
 * A long name shortened in the middle ("run-xxxx…seed-00001"), keeping its start and
 * its distinguishing end; names up to `max` characters are returned as they are.
 */
export function shortName(name, max = 40) {
  const s = String(name);
  if (s.length <= max) return s;
  const tail = Math.ceil((max - 1) * 0.45), head = max - 1 - tail;
  return `${s.slice(0, head)}…${s.slice(s.length - tail)}`;
}

/**
 * Labels for axis ticks at steps `splits` that tell adjacent ticks apart: compact
 * (12k, 1.5M) when that is enough, more digits when zoomed in deep.
 */
export function fmtStepTicks(splits) {
  const exact = splits.map(s => (s == null ? '' : Math.round(s).toLocaleString('en-US')));
  for (let digits = 4; digits <= 16; digits++) {
    const labels = splits.map(s => (s == null ? '' : fmtStepShort(s, digits)));
    if (labels.every((l, i) => i === 0 || l !== labels[i - 1] || exact[i] === exact[i - 1])) return labels;
  }
  return exact;
}
