// Images of one model: the latest image of every image name, and one image name
// through time with a step slider and a play button.
import * as api from './api.js';
import { h, clear } from './dom.js';
import { fmtStep, fmtTime } from './format.js';
import { confirmDialog } from './dialogs.js';

const blobUrl = sha => `/api/v1/blobs/${encodeURIComponent(sha)}.png`;

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
    this.image = h('img', { class: 'img-frame', alt: '' });
    this.deleteBtn = h('button', { type: 'button', class: 'danger img-delete', text: 'delete image name',
      onclick: () => this.deleteName() });
    this.timeline = h('div', { class: 'img-timeline' },
      h('div', { class: 'img-controls' }, this.nameSelect, this.play, this.slider, this.stepLabel, this.deleteBtn),
      h('div', { class: 'img-frame-box' }, this.image));
    this.el = h('section', { class: 'images' },
      h('h2', { text: 'Images' }),
      h('h3', { text: 'Latest' }), this.latestGrid,
      h('h3', { text: 'Through time' }), this.timeline);
    container.appendChild(this.el);
    this.render();
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
      const card = h('figure', { class: 'image-card', dataset: { name }, tabindex: '0', title: 'show through time',
        onclick: () => this.select(name),
        onkeydown: e => { if (e.key === 'Enter') this.select(name); } },
      img, h('figcaption', {}, h('span', { class: 'image-name', text: name }),
        h('span', { class: 'image-step', text: `step ${fmtStep(im.last_step)}` })));
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
    this.image.src = im.url || blobUrl(im.sha);
    this.image.alt = `${this.selected} at step ${im.step}`;
    this.image.dataset.step = String(im.step);
    this.stepLabel.textContent = `step ${fmtStep(im.step)} · ${i + 1}/${n}`;
    this.stepLabel.title = fmtTime(im.time);
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

  /** A live image event for this model. */
  onImage(ev) {
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

  destroy() { this.stop(); this.el.remove(); }
}
