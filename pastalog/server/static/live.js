// The websocket of docs/API.md: events in, a status for the badge out, and
// reconnection with exponential backoff; after a reconnect the views catch up.

export class Live {
  /**
   * @param {object} o  {model, onEvents(list), onStatus({state, retryIn}), onOpen(again)}
   */
  constructor(o) {
    this.o = o;
    this.ws = null;
    this.attempt = 0;
    this.opened = false;
    this.stopped = false;
    this.timer = null;
    this.state = 'connecting';
    this.received = 0;
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = this.o.model != null ? `?model=${encodeURIComponent(this.o.model)}` : '';
    return `${proto}//${location.host}/ws${q}`;
  }

  /** Connect; resolves once open (or after `waitMs`, so a dead socket never blocks the page). */
  start(waitMs = 1500) {
    return new Promise(resolve => {
      const t = setTimeout(resolve, waitMs);
      this._firstOpen = () => { clearTimeout(t); resolve(); };
      this._connect();
    });
  }

  _status(state, retryIn = null) {
    this.state = state;
    if (this.o.onStatus) this.o.onStatus({ state, retryIn });
  }

  _connect() {
    if (this.stopped) return;
    this._status(this.opened ? 'reconnecting' : 'connecting');
    let ws;
    try { ws = new WebSocket(this.url()); } catch (e) { this._retry(); return; }
    this.ws = ws;
    ws.onopen = () => {
      const again = this.opened;
      this.opened = true;
      this.attempt = 0;
      this._status('live');
      if (this._firstOpen) { this._firstOpen(); this._firstOpen = null; }
      if (this.o.onOpen) this.o.onOpen(again);
    };
    ws.onmessage = e => {
      let msg;
      try { msg = JSON.parse(e.data); } catch (err) { console.warn('pastalog: bad websocket message', err); return; }
      const list = Array.isArray(msg) ? msg : [msg];
      this.received += list.length;
      if (this.o.onEvents) this.o.onEvents(list);
    };
    ws.onclose = () => { if (this.ws === ws) { this.ws = null; this._retry(); } };
    ws.onerror = () => { /* onclose follows */ };
  }

  _retry() {
    if (this.stopped) return;
    const base = Math.min(10000, 250 * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt++;
    this._status('down', delay);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._connect(), delay);
  }

  /** Reconnect at once if down (the reason it was refused has gone, say). */
  retryNow() {
    if (this.ws || this.stopped) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this._connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(); }
  }
}
