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

// 20 colours, neighbours far apart in hue and lightness: [hue, saturation, lightness]
const PALETTE = [
  [212, 72, 45], [28, 90, 50], [135, 55, 38], [356, 70, 50], [272, 48, 52],
  [185, 80, 34], [326, 65, 55], [48, 85, 42], [16, 55, 36], [232, 60, 62],
  [95, 60, 40], [300, 40, 36], [200, 85, 60], [0, 0, 42], [160, 70, 42],
  [40, 70, 62], [250, 45, 35], [345, 60, 70], [70, 70, 33], [190, 40, 58],
];

/** The i-th colour of the palette (past its end: golden-angle hues, varied lightness). */
export function paletteColor(i, alpha = 1) {
  let [hue, sat, light] = i < PALETTE.length ? PALETTE[i]
    : [Math.round((i * 137.508) % 360), 60 + (i % 3) * 10, 38 + (i % 4) * 8];
  if (isDark()) light = Math.min(78, light + 14);
  return alpha >= 1 ? `hsl(${hue} ${sat}% ${light}%)` : `hsl(${hue} ${sat}% ${light}% / ${alpha})`;
}

const naturalOrder = new Intl.Collator(undefined, { numeric: true }).compare;

/** Names → Map(name → colour): palette colours in the natural sorted order of the names. */
export function assignColors(names) {
  const sorted = [...new Set(names)].sort(naturalOrder);
  return new Map(sorted.map((n, i) => [n, paletteColor(i)]));
}
