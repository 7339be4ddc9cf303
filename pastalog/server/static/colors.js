// Colours. Lines on one chart get colours from a palette, assigned in the natural
// sorted order of the names on that chart (assignColors): no two of them look alike
// (a hash of the name often collided), and the same runs get the same colours on
// every reload. A run's colour can change when the set of runs on the chart changes.

/** Dark theme: the user's choice in the page (data-theme on <html>), else the OS's. */
export function isDark() {
  const t = document.documentElement.dataset.theme;
  if (t === 'dark' || t === 'light') return t === 'dark';
  return !!(window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
}

/** A colour of paletteColor() (an hsl() string) with an alpha. */
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

// 20 colours, the first dozen far apart in hue and lightness, then darker / lighter
// ones that differ from all of those: [hue, saturation, lightness]
const PALETTE = [
  [212, 72, 45], [28, 90, 50], [135, 55, 38], [356, 70, 50], [272, 48, 52],
  [185, 80, 34], [326, 65, 55], [48, 85, 42], [16, 55, 36], [0, 0, 50],
  [240, 55, 28], [160, 55, 58], [345, 60, 30], [35, 95, 70], [265, 70, 78],
  [200, 85, 65], [65, 60, 30], [10, 80, 68], [175, 60, 22], [90, 55, 55],
];

/**
 * The i-th colour of the palette (past its end: golden-angle hues, varied lightness);
 * `dark`: for the dark theme (asked of the page unless given).
 */
export function paletteColor(i, alpha = 1, dark = isDark()) {
  let [hue, sat, light] = i < PALETTE.length ? PALETTE[i]
    : [Math.round((i * 137.508) % 360), 60 + (i % 3) * 10, 38 + (i % 4) * 8];
  if (dark) light = Math.min(78, light + 14);
  return alpha >= 1 ? `hsl(${hue} ${sat}% ${light}%)` : `hsl(${hue} ${sat}% ${light}% / ${alpha})`;
}

const naturalOrder = new Intl.Collator(undefined, { numeric: true }).compare;

/** Names → Map(name → colour): palette colours in the natural sorted order of the names. */
export function assignColors(names) {
  const sorted = [...new Set(names)].sort(naturalOrder);
  const dark = isDark();   // (once: a media query per name costs 500 runs ~15 ms)
  return new Map(sorted.map((n, i) => [n, paletteColor(i, 1, dark)]));
}
