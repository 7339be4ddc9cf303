// Modal dialogs on <dialog>: a confirmation and a generic panel.
import { h } from './dom.js';

/** Ask before something irreversible. Resolves true when confirmed. */
export function confirmDialog(message, confirmLabel = 'Delete') {
  return new Promise(resolve => {
    const ok = h('button', { type: 'button', class: 'danger confirm-ok', text: confirmLabel });
    const cancel = h('button', { type: 'button', class: 'confirm-cancel', text: 'Cancel' });
    const dlg = h('dialog', { class: 'confirm-dialog' },
      h('p', { class: 'confirm-message', text: message }),
      h('div', { class: 'dialog-buttons' }, cancel, ok));
    document.body.appendChild(dlg);
    let result = false;
    ok.addEventListener('click', () => { result = true; dlg.close(); });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    dlg.showModal();
    cancel.focus();
  });
}

/** Show `content` in a closable modal panel; returns the dialog element. */
export function panelDialog(title, content, cls = '') {
  const close = h('button', { type: 'button', class: 'icon dialog-close', 'aria-label': 'close', text: '✕' });
  const dlg = h('dialog', { class: `panel-dialog ${cls}` },
    h('div', { class: 'dialog-head' }, h('h2', { text: title }), close), content);
  close.addEventListener('click', () => { dlg.close(); dlg.remove(); });
  dlg.addEventListener('close', () => dlg.remove());
  document.body.appendChild(dlg);
  dlg.showModal();
  return dlg;
}

/**
 * Ask for the server's token (it was started with --token) and trade it for the
 * session cookie. Resolves once the server took it; asks again on a wrong one.
 */
export function tokenDialog(submit) {
  return new Promise(resolve => {
    const input = h('input', { type: 'password', class: 'token-input', autocomplete: 'current-password',
      'aria-label': 'token', placeholder: 'token' });
    const error = h('p', { class: 'token-error', role: 'alert' });
    const ok = h('button', { type: 'submit', class: 'confirm-ok', text: 'Unlock' });
    const form = h('form', { method: 'dialog', class: 'token-form' },
      h('p', { class: 'confirm-message',
        text: 'This pastalog server needs its token (the one given to pastalog run --token).' }),
      input, error, h('div', { class: 'dialog-buttons' }, ok));
    const dlg = h('dialog', { class: 'confirm-dialog token-dialog' }, form);
    form.addEventListener('submit', async e => {
      e.preventDefault();
      error.textContent = '';
      try {
        await submit(input.value);
        dlg.close();
        dlg.remove();
        resolve();
      } catch (err) {
        error.textContent = err.message || 'wrong token';
        input.select();
      }
    });
    dlg.addEventListener('cancel', e => e.preventDefault());
    document.body.appendChild(dlg);
    dlg.showModal();
    input.focus();
  });
}
