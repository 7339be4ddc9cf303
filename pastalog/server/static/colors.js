// Stable colours: a model's hue comes from a hash of its name, so the same model
// has the same colour in every view and on every reload.

/** 32-bit FNV-1a hash of a string. */
export function hashString(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche (murmur3 fmix32) so similar names land far apart
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Dark theme: the user's choice in the page (data-theme on <html>), else the OS's. */
export function isDark() {
  const t = document.documentElement.dataset.theme;
  if (t === 'dark' || t === 'light') return t === 'dark';
  return !!(window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
}

/** The colour of a model (or any name): hash → hue, plus a little lightness spread. */
export function colorFor(name, alpha = 1) {
  const h = hashString(name);
  const hue = (h % 18) * 20 + 8;           // 18 well-separated hues...
  const step = (h >>> 8) % 3;              // ...times three lightness bands
  const dark = isDark();
  const light = dark ? 58 + step * 8 : 36 + step * 8;
  const sat = dark ? 70 : 68;
  return alpha >= 1 ? `hsl(${hue} ${sat}% ${light}%)` : `hsl(${hue} ${sat}% ${light}% / ${alpha})`;
}

/** A colour of colorFor() (an hsl() string) with an alpha. */
export function withAlpha(color, alpha) {
  return color.replace(/\s*(\/[^)]*)?\)$/, ` / ${alpha})`);
}

const DASHES = [[], [6, 3], [2, 3], [8, 3, 2, 3], [12, 4]];

/** Dash pattern for the i-th statistic shown at once (solid for the first). */
export function dashFor(i) {
  return DASHES[i % DASHES.length];
}

/** A theme colour from CSS custom properties (for canvas drawing). */
export function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}
