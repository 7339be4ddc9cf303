// Tiny DOM helpers. Data is only ever set as text (textContent / attribute values),
// never parsed as markup: a model called "<img src=x onerror=...>" stays text.

/**
 * Create an element.
 * h('button', {class: 'x', text: label, onclick: fn, title: t}, child, ...)
 * Keys: class, text (textContent), on<event> (listener), dataset (object),
 * anything else is set with setAttribute (values are plain strings, never markup).
 * Children: nodes or strings (as text nodes); null/false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Remove every child of el. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Call fn at most once per `ms`, with the latest arguments, trailing edge. */
export function debounce(fn, ms) {
  let timer = null;
  const d = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; fn(...args); }, ms);
  };
  d.cancel = () => clearTimeout(timer);
  return d;
}

/**
 * Call fn once, `ms` after the first of a burst of calls (later calls in that time
 * ride along): unlike debounce, a steady stream of calls still gets through.
 */
export function throttle(fn, ms) {
  let timer = null;
  const t = () => { if (!timer) timer = setTimeout(() => { timer = null; fn(); }, ms); };
  t.cancel = () => { clearTimeout(timer); timer = null; };
  return t;
}

/** Coalesce calls into one per animation frame. */
export function perFrame(fn) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; fn(); });
  };
}
