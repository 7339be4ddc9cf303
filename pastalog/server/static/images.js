// Images of one model: the latest image of every image name, and one image name
// through time with a step slider and a play button, drawn as large as fits. A click
// on an image opens the viewer; "compare" puts one image name of several runs side by
// side (image-viewer.js).
import * as api from './api.js';
import { h, clear } from './dom.js';
import { fmtStep, fmtTime } from './format.js';
import { confirmDialog } from './dialogs.js';
import { blobUrl, drawFitted, openViewer, openCompare } from './image-viewer.js';

// room kept for the page header when the through-time frame is as tall as the window
const FRAME_MARGIN = 80;

export class ImagesPanel {
  /** @param {object} o {model, catalog, S, save, notify} */
  constructor(container, o) {
    this.o = o;
    this.list = [];           // images of the selected name, in step order
    this.timer = null;
    this.latestGrid = h('div', { class: 'image-grid' });
    this.nameSelect = h('select', { class: 'img-name', 'aria-label': 'image name',
      onchange: () => this.select(this.nameSelect.value) });
    this.slider = h('input', { type: 'range', class: 'img-slider', min: '0', max: '0', value: '0',
      'aria-label': 'step', oninput: () => { this.stop(); this.show(Number(this.slider.value)); } });
    this.play = h('button', { type: 'button', class: 'img-play', text: '▶ play', 'aria-label': 'play',
      onclick: () => (this.timer ? this.stop() : this.start()) });
    this.stepLabel = h('span', { class: 'img-step' });
    this.image = h('img', { class: 'img-frame', alt: '', title: 'open in the viewer',
      onclick: () => this.openViewer(this.selected, this.list, this.index, true),
      onload: () => this.fit() });
    this.dialog = null;       // the open viewer or compare view
    this.deleteBtn = h('button', { type: 'button', class: 'danger img-delete', text: 'delete image name',
      onclick: () => this.deleteName() });
    this.timeline = h('div', { class: 'img-timeline' },
      h('div', { class: 'img-controls' }, this.nameSelect, this.play, this.slider, this.stepLabel, this.deleteBtn),
      this.frameBox = h('div', { class: 'img-frame-box' }, this.image));
    this.el = h('section', { class: 'images' },
      h('h2', { text: 'Images' }),
      h('h3', { text: 'Latest' }), this.latestGrid,
      h('h3', { text: 'Through time' }), this.timeline);
    container.appendChild(this.el);
    // refit when the box's width or the window's height changes (not on the height
    // change the refit itself causes)
    let boxW = -1;
    this.resizer = new ResizeObserver(() => {
      if (this.frameBox.clientWidth !== boxW) { boxW = this.frameBox.clientWidth; this.fit(); }
    });
    this.resizer.observe(this.frameBox);
    this.onResize = () => this.fit();
    window.addEventListener('resize', this.onResize);
    this.render();
    // a link to the compare view reopens it
    const S = this.o.S;
    if (S.cmp && S.img != null && this.names().includes(S.img)) this.openCompare(S.img, S.cstep, S.cmp);
  }

  /** Draw the through-time frame at the largest size that fits its box and the window. */
  fit() {
    const im = this.list[this.index];
    if (!im || !this.image.getAttribute('src')) return;
    const w = im.width || this.image.naturalWidth, hh = im.height || this.image.naturalHeight;
    // the box's clientWidth includes its 8 px padding on each side
    drawFitted(this.image, w, hh, this.frameBox.clientWidth - 16, window.innerHeight - FRAME_MARGIN);
  }

  /** The viewer on one image name; follow=true keeps the through-time frame on its step. */
  async openViewer(name, list, index, follow = false) {
    if (name == null) return;
    this.closeDialog();
    const dlg = await openViewer({
      model: this.o.model, name, list, index, notify: this.o.notify,
      onStep: follow ? (step, i) => { if (this.selected === name && this.list === list) this.show(i); } : null,
      onCompare: step => this.openCompare(name, step),
    });
    if (this.destroyed && dlg) dlg.close();
    else this.dialog = dlg;
  }

  /** The compare view of one image name across the runs that have it. */
  openCompare(name, step = null, selected = null) {
    this.closeDialog();
    const cat = this.o.catalog;
    const models = cat.modelNames().filter(m => cat.model(m).images.has(name));
    if (!selected) selected = [this.o.model, ...models.filter(m => m !== this.o.model)].slice(0, 4);
    const S = this.o.S;
    if (this.selected !== name) this.select(name);
    let open = true;
    this.dialog = openCompare({
      name, models, selected, step, notify: this.o.notify,
      onState: st => { if (!open) return; S.img = name; S.cmp = st.models; S.cstep = st.step; this.o.save(); },
      onClose: () => {
        open = false;
        if (this.destroyed) return;
        S.cmp = null; S.cstep = null; this.o.save();
      },
    });
  }

  closeDialog() {
    if (this.dialog && this.dialog.open) this.dialog.close();
    this.dialog = null;
  }

  names() {
    const m = this.o.catalog.model(this.o.model);
    return m ? [...m.images.keys()].sort() : [];
  }

  /** Re-render the latest-images grid and the name list (names came or went). */
  render() {
    const m = this.o.catalog.model(this.o.model);
    const names = this.names();
    this.el.hidden = names.length === 0;
    clear(this.latestGrid);
    for (const name of names) {
      const im = m.images.get(name);
      const img = h('img', { src: blobUrl(im.last_sha), alt: name, loading: 'lazy' });
      const open = () => { this.select(name); this.openViewer(name, null, null); };
      const compare = h('button', { type: 'button', class: 'icon image-compare', text: 'compare runs…',
        title: 'this image of several runs side by side',
        onclick: e => { e.stopPropagation(); this.openCompare(name); } });
      const card = h('figure', { class: 'image-card', dataset: { name }, tabindex: '0', title: 'open (and show through time)',
        onclick: open,
        onkeydown: e => { if (e.key === 'Enter' && e.target === card) open(); } },
      img, h('figcaption', {}, h('span', { class: 'image-name', text: name }),
        h('span', { class: 'image-step', text: `step ${fmtStep(im.last_step)}` }), compare));
      this.latestGrid.appendChild(card);
    }
    const cur = this.selected;
    clear(this.nameSelect);
    for (const n of names) this.nameSelect.appendChild(h('option', { value: n, text: n }));
    const want = names.includes(cur) ? cur : names.includes(this.o.S.img) ? this.o.S.img : names[0];
    if (want != null && want !== cur) this.select(want, this.o.S.istep);
    else if (want != null) this.nameSelect.value = want;
  }

  async select(name, step = null) {
    this.stop();
    this.selected = name;
    this.nameSelect.value = name;
    this.o.S.img = name;
    this.o.save();
    try {
      const r = await api.getImages(this.o.model, name);
      if (this.selected !== name) return;
      this.list = r.images || [];
    } catch (e) {
      this.list = [];
      this.o.notify(`could not load images: ${e.message}`);
    }
    this.slider.max = String(Math.max(0, this.list.length - 1));
    let i = this.list.length - 1;
    if (step != null) {
      const j = this.list.findIndex(x => x.step === step);
      if (j >= 0) i = j;
    }
    this.show(i);
  }

  show(i) {
    const n = this.list.length;
    if (!n) { this.image.removeAttribute('src'); this.stepLabel.textContent = 'no images'; return; }
    i = Math.max(0, Math.min(n - 1, i));
    const im = this.list[i];
    this.index = i;
    this.slider.value = String(i);
    const src = im.url || blobUrl(im.sha);
    if (this.image.getAttribute('src') !== src) this.image.src = src;
    this.image.alt = `${this.selected} at step ${im.step}`;
    this.image.dataset.step = String(im.step);
    this.stepLabel.textContent = `step ${fmtStep(im.step)} · ${i + 1}/${n}`;
    this.stepLabel.title = fmtTime(im.time);
    this.fit();
    const following = i === n - 1;
    this.o.S.istep = following ? null : im.step;
    this.o.save();
  }

  start() {
    if (this.list.length < 2) return;
    if (this.index >= this.list.length - 1) this.show(0);
    this.play.textContent = '❚❚ pause';
    this.play.setAttribute('aria-label', 'pause');
    this.timer = setInterval(() => {
      if (this.index >= this.list.length - 1) { this.stop(); return; }
      this.show(this.index + 1);
    }, 300);
  }

  stop() {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.play.textContent = '▶ play';
    this.play.setAttribute('aria-label', 'play');
  }

  /** A live image event (of any model: an open compare view shows other runs). */
  onImage(ev) {
    if (this.dialog && this.dialog.addImage) this.dialog.addImage(ev);
    if (ev.model !== this.o.model) return;
    this.render();
    if (ev.name !== this.selected) return;
    const following = this.index === this.list.length - 1;
    const im = { step: ev.step, time: ev.time, sha: ev.sha, url: ev.url, width: ev.width, height: ev.height };
    let j = this.list.length;
    while (j > 0 && this.list[j - 1].step > im.step) j--;
    this.list.splice(j, 0, im);
    this.slider.max = String(this.list.length - 1);
    if (following && !this.timer) this.show(this.list.length - 1);
    else this.slider.value = String(this.index);
  }

  async deleteName() {
    const name = this.selected;
    if (name == null) return;
    const ok = await confirmDialog(`Delete every image named “${name}” of model “${this.o.model}”?`);
    if (!ok) return;
    try {
      await api.deleteImages(this.o.model, name);
    } catch (e) {
      this.o.notify(`could not delete: ${e.message}`);
      return;
    }
    this.selected = null;
    this.o.catalog.apply([{ type: 'deleted', model: this.o.model, image: name }]);
  }

  destroy() {
    this.destroyed = true;
    this.stop();
    this.closeDialog();
    this.resizer.disconnect();
    window.removeEventListener('resize', this.onResize);
    this.el.remove();
  }
}
