// Images you can read: the size rule (as large as fits; whole-number nearest-neighbour
// scaling when enlarging, so an 8×8 digit stays pixels), the viewer (one image name of
// one model at natural size up to the window, ←/→ through its steps, Escape closes) and
// the compare view (one image name across runs at one shared step, each run showing the
// step or its nearest earlier one).
import * as api from './api.js';
import { h, clear } from './dom.js';
import { fmtStep, fmtTime } from './format.js';

export const blobUrl = sha => `/api/v1/blobs/${encodeURIComponent(sha)}.png`;

/**
 * The drawn size of a natW×natH image in a boxW×boxH box: the largest that fits.
 * Enlarging uses a whole-number factor (nearest-neighbour stays even: every source
 * pixel the same number of screen pixels); shrinking is smooth.
 * @returns {{w: number, h: number, scale: number, pixelated: boolean}}
 */
export function fitSize(natW, natH, boxW, boxH) {
  if (!(natW > 0 && natH > 0)) return { w: 0, h: 0, scale: 1, pixelated: true };
  const s = Math.min(Math.max(1, boxW) / natW, Math.max(1, boxH) / natH);
  if (s >= 1) {
    const k = Math.floor(s);
    return { w: natW * k, h: natH * k, scale: k, pixelated: true };
  }
  return { w: Math.max(1, Math.floor(natW * s)), h: Math.max(1, Math.floor(natH * s)), scale: s, pixelated: false };
}

/** Size `img` (its natural size known from `im` or once loaded) to fit boxW×boxH. */
export function drawFitted(img, natW, natH, boxW, boxH) {
  const f = fitSize(natW, natH, boxW, boxH);
  if (!f.w) return f;
  img.style.width = `${f.w}px`;
  img.style.height = `${f.h}px`;
  img.classList.toggle('smooth', !f.pixelated);
  img.dataset.scale = String(f.scale);
  return f;
}

/** Fit `img` to the box given by box(), now if its size is known, else once loaded. */
function fitWhenKnown(img, im, box) {
  const go = () => {
    const w = im.width || img.naturalWidth, hh = im.height || img.naturalHeight;
    const b = box();
    drawFitted(img, w, hh, b.w, b.h);
  };
  if (im.width && im.height) go();
  img.onload = () => { if (!(im.width && im.height)) go(); };
}

/** The index of the last entry of `list` (step order) with step ≤ `step`; -1 if none. */
export function nearestEarlier(list, step) {
  let lo = 0, hi = list.length - 1, best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].step <= step) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return best;
}

/** A full-window modal; resolves its close. onResize runs while it is open. */
function bigDialog(cls, label, head, body, onResize) {
  const dlg = h('dialog', { class: `big-dialog ${cls}`, 'aria-label': label }, head, body);
  document.body.appendChild(dlg);
  const resize = () => onResize();
  window.addEventListener('resize', resize);
  dlg.addEventListener('close', () => { window.removeEventListener('resize', resize); dlg.remove(); });
  dlg.showModal();
  return dlg;
}

/**
 * Show one image name of one model at natural size (up to the window); ←/→ step
 * through time, Escape closes.
 * @param {object} o {model, name, list (images in step order, or null to fetch), index,
 *   onStep(step) (optional), onCompare() (optional), notify}
 */
export async function openViewer(o) {
  let list = o.list;
  if (!list) {
    try { list = (await api.getImages(o.model, o.name)).images || []; } catch (e) {
      if (o.notify) o.notify(`could not load images: ${e.message}`);
      return null;
    }
  }
  if (!list.length) return null;
  let i = Math.max(0, Math.min(list.length - 1, o.index ?? list.length - 1));
  let actual = false;       // true: 1:1 (scroll when larger than the window); false: fit
  const img = h('img', { class: 'viewer-img', alt: '' });
  const stage = h('div', { class: 'viewer-stage' }, img);
  const zoom = h('button', { type: 'button', class: 'viewer-zoom', text: '1:1', title: 'actual size / fit the window',
    onclick: () => { actual = !actual; zoom.textContent = actual ? 'fit' : '1:1'; fit(); } });
  const stepLabel = h('span', { class: 'viewer-step' });
  const prev = h('button', { type: 'button', class: 'viewer-prev', text: '◀', 'aria-label': 'earlier step', onclick: () => show(i - 1) });
  const next = h('button', { type: 'button', class: 'viewer-next', text: '▶', 'aria-label': 'later step', onclick: () => show(i + 1) });
  const compare = o.onCompare ? h('button', { type: 'button', class: 'viewer-compare', text: 'compare runs…',
    onclick: () => { dlg.close(); o.onCompare(list[i].step); } }) : null;
  const close = h('button', { type: 'button', class: 'icon dialog-close', 'aria-label': 'close', text: '✕', onclick: () => dlg.close() });
  const head = h('div', { class: 'dialog-head viewer-head' },
    h('h2', { text: o.name, title: `${o.model} · ${o.name}` }),
    h('span', { class: 'viewer-model', text: o.model }),
    h('div', { class: 'spacer' }), prev, stepLabel, next, zoom, compare, close);

  function fit() {
    const im = list[i];
    // 1:1 is a box exactly the image's size: fitSize then gives scale 1
    const w = () => im.width || img.naturalWidth, hh = () => im.height || img.naturalHeight;
    fitWhenKnown(img, im, () => (actual ? { w: w(), h: hh() } : { w: stage.clientWidth - 8, h: stage.clientHeight - 8 }));
  }
  function show(j) {
    i = Math.max(0, Math.min(list.length - 1, j));
    const im = list[i];
    img.src = im.url || blobUrl(im.sha);
    img.alt = `${o.name} at step ${im.step}`;
    img.dataset.step = String(im.step);
    const size = im.width ? ` · ${im.width}×${im.height}` : '';
    stepLabel.textContent = `step ${fmtStep(im.step)} · ${i + 1}/${list.length}${size}`;
    stepLabel.title = fmtTime(im.time);
    prev.disabled = i === 0;
    next.disabled = i === list.length - 1;
    fit();
    if (o.onStep) o.onStep(im.step, i);
  }
  const dlg = bigDialog('image-viewer', `${o.name} of ${o.model}`, head, stage, fit);
  dlg.addEventListener('keydown', e => {
    if (e.key === 'ArrowLeft') { e.preventDefault(); show(i - 1); }
    else if (e.key === 'ArrowRight') { e.preventDefault(); show(i + 1); }
  });
  show(i);
  close.focus();
  return dlg;
}

/**
 * One image name across several runs, side by side at one shared step (each run shows
 * that step or its nearest earlier one). Returns the dialog; its addImage(ev) takes a
 * live image event (the view follows new steps when it shows the latest).
 * @param {object} o {name, models (all runs having the name), selected (runs shown),
 *   step (or null: the latest), onState({models, step}) , onClose(), notify}
 */
export function openCompare(o) {
  const cache = new Map();   // model → images in step order (a promise while loading)
  let selected = o.models.filter(m => o.selected.includes(m));
  let steps = [];            // union of the selected runs' steps, sorted
  let step = o.step;
  const grid = h('div', { class: 'compare-grid' });
  const slider = h('input', { type: 'range', class: 'compare-slider', min: '0', max: '0', value: '0', 'aria-label': 'step',
    oninput: () => { step = steps[Number(slider.value)]; draw(); report(); } });
  const stepLabel = h('span', { class: 'compare-step' });
  const picks = o.models.map(m => {
    const box = h('input', { type: 'checkbox', value: m, onchange: () => {
      selected = o.models.filter(x => (x === m ? box.checked : selected.includes(x)));
      load();
    } });
    box.checked = selected.includes(m);
    return h('label', { class: 'compare-pick-run', title: m }, box, m);
  });
  const close = h('button', { type: 'button', class: 'icon dialog-close', 'aria-label': 'close', text: '✕', onclick: () => dlg.close() });
  const head = h('div', { class: 'compare-head' },
    h('div', { class: 'dialog-head' }, h('h2', { text: `${o.name} · compare runs` }), close),
    h('div', { class: 'compare-pick', role: 'group', 'aria-label': 'runs' }, h('span', { class: 'compare-pick-label', text: 'runs:' }), ...picks),
    h('div', { class: 'compare-controls' }, slider, stepLabel));

  function report() { if (o.onState) o.onState({ models: selected, step }); }

  async function load() {
    const want = selected.slice();
    await Promise.all(want.map(async m => {
      if (!cache.has(m)) {
        cache.set(m, api.getImages(m, o.name).then(r => r.images || [], e => {
          if (o.notify) o.notify(`could not load images of ${m}: ${e.message}`);
          cache.delete(m);
          return [];
        }));
      }
      await cache.get(m);
    }));
    if (String(want) !== String(selected)) return;   // the choice changed meanwhile
    const all = new Set();
    const lists = await Promise.all(selected.map(m => cache.get(m)));
    for (const l of lists) for (const im of l) all.add(im.step);
    steps = [...all].sort((a, b) => a - b);
    if (step == null || !steps.length) step = steps.length ? steps[steps.length - 1] : null;
    else if (!all.has(step)) {
      // keep the step, or the nearest earlier one the union has
      const j = nearestEarlier(steps.map(s => ({ step: s })), step);
      step = steps[Math.max(0, j)];
    }
    slider.max = String(Math.max(0, steps.length - 1));
    slider.dataset.steps = JSON.stringify(steps);
    slider.disabled = steps.length < 2;
    await build(lists);
    report();
  }

  let cols = [];
  async function build(lists) {
    clear(grid);
    // up to four runs in one row; more wrap into rows of at most four
    const n = Math.max(1, selected.length), rows = Math.ceil(n / 4);
    grid.style.gridTemplateColumns = `repeat(${Math.ceil(n / rows)}, minmax(0, 1fr))`;
    grid.style.gridTemplateRows = `repeat(${rows}, minmax(0, 1fr))`;
    cols = selected.map((m, k) => {
      const img = h('img', { alt: '' });
      const note = h('span', { class: 'compare-note' });
      const col = h('figure', { class: 'compare-col', dataset: { model: m } },
        h('figcaption', {}, h('span', { class: 'compare-model', text: m, title: m }), note),
        h('div', { class: 'compare-frame' }, img));
      grid.appendChild(col);
      return { model: m, list: lists[k], img, note, col };
    });
    if (!selected.length) grid.appendChild(h('p', { class: 'empty', text: 'Pick runs to compare.' }));
    draw();
  }

  function draw() {
    dlg.dataset.step = step == null ? '' : String(step);
    const k = steps.indexOf(step);
    slider.value = String(Math.max(0, k));
    stepLabel.textContent = step == null ? 'no images' : `step ${fmtStep(step)} · ${k + 1}/${steps.length}`;
    for (const c of cols) {
      const j = step == null ? -1 : nearestEarlier(c.list, step);
      if (j < 0) {
        c.img.hidden = true;
        c.img.removeAttribute('src');
        delete c.img.dataset.step;
        c.note.textContent = step == null ? '' : `nothing at or before step ${fmtStep(step)}`;
        c.col.classList.add('missing');
        continue;
      }
      const im = c.list[j];
      c.col.classList.remove('missing');
      c.img.hidden = false;
      const src = im.url || blobUrl(im.sha);
      if (c.img.getAttribute('src') !== src) c.img.src = src;
      c.img.alt = `${o.name} of ${c.model} at step ${im.step}`;
      c.img.dataset.step = String(im.step);
      c.note.textContent = im.step === step ? `step ${fmtStep(im.step)}` : `step ${fmtStep(im.step)} (nearest earlier)`;
      c.note.title = fmtTime(im.time);
      const frame = c.img.parentNode;
      fitWhenKnown(c.img, im, () => ({ w: frame.clientWidth - 8, h: frame.clientHeight - 8 }));
    }
  }

  /** A live image event: add it to its run's list and to the steps. */
  function addImage(ev) {
    if (ev.name !== o.name || !cache.has(ev.model)) return;
    cache.get(ev.model).then(list => {
      const im = { step: ev.step, time: ev.time, sha: ev.sha, url: ev.url, width: ev.width, height: ev.height };
      let j = list.length;
      while (j > 0 && list[j - 1].step > im.step) j--;
      list.splice(j, 0, im);
      if (!selected.includes(ev.model) || !dlg.open) return;
      const latest = step === steps[steps.length - 1];
      if (!steps.includes(im.step)) {
        steps.push(im.step);
        steps.sort((a, b) => a - b);
        slider.max = String(steps.length - 1);
        slider.dataset.steps = JSON.stringify(steps);
        slider.disabled = steps.length < 2;
      }
      if (latest) step = steps[steps.length - 1];
      draw();
      report();
    });
  }

  const dlg = bigDialog('image-compare', `${o.name}: compare runs`, head, grid, draw);
  dlg.addEventListener('keydown', e => {
    if (e.target === slider || e.target.tagName === 'INPUT' && e.target.type !== 'checkbox') return;
    if (!steps.length || (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight')) return;
    e.preventDefault();
    const k = Math.max(0, Math.min(steps.length - 1, steps.indexOf(step) + (e.key === 'ArrowLeft' ? -1 : 1)));
    step = steps[k];
    draw();
    report();
  });
  dlg.addEventListener('close', () => { if (o.onClose) o.onClose(); });
  dlg.addImage = addImage;
  load();
  close.focus();
  return dlg;
}
