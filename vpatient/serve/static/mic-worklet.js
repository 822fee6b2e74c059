// AudioWorklet: the microphone as 16-bit PCM blocks (about 40 ms each) posted to the page, which sends
// them over the WebSocket. The block size is in samples at the context's own rate.
class MicCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = Math.round(sampleRate * 0.04);
    this.buf = new Int16Array(this.block);
    this.n = 0;
    this.on = false;
    this.port.onmessage = (e) => { this.on = !!e.data.on; if (!this.on) this.flush(); };
  }
  flush() {
    if (this.n > 0) {
      this.port.postMessage(this.buf.slice(0, this.n).buffer, []);
      this.n = 0;
    }
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch || !this.on) return true;
    for (let i = 0; i < ch.length; i++) {
      const s = Math.max(-1, Math.min(1, ch[i]));
      this.buf[this.n++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.n === this.block) {
        const out = this.buf; this.buf = new Int16Array(this.block); this.n = 0;
        this.port.postMessage(out.buffer, [out.buffer]);
      }
    }
    return true;
  }
}
registerProcessor("mic-capture", MicCapture);
