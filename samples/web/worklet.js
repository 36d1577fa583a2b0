// AudioWorklet: mono capture, resampled to 16 kHz with a windowed-sinc low-pass (any input rate),
// posted to the page in blocks of 1600 samples (100 ms) as Float32Array.
const OUT_RATE = 16000;
const BLOCK = 1600;
const HALF = 16; // zero crossings on each side

class Capture16k extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / OUT_RATE; // input samples per output sample
    this.cutoff = Math.min(1, OUT_RATE / sampleRate) * 0.9; // fraction of the input Nyquist
    this.width = Math.ceil(HALF / this.cutoff); // taps on each side, in input samples
    this.history = new Float32Array(0);
    this.historyStart = -this.width; // absolute index of history[0]; zeros before the stream
    this.history = new Float32Array(this.width);
    this.nextOut = 0; // index of the next output sample
    this.block = new Float32Array(BLOCK);
    this.fill = 0;
    this.stopped = false;
    this.port.onmessage = (e) => {
      if (e.data === 'flush') this.flush();
    };
  }

  kernel(d) {
    const r = d / this.width;
    if (r <= -1 || r >= 1) return 0;
    const x = d * this.cutoff;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const w = 0.42 + 0.5 * Math.cos(Math.PI * r) + 0.08 * Math.cos(2 * Math.PI * r); // Blackman
    return this.cutoff * sinc * w;
  }

  emit(v) {
    this.block[this.fill++] = v;
    if (this.fill === BLOCK) {
      this.port.postMessage(this.block, [this.block.buffer]);
      this.block = new Float32Array(BLOCK);
      this.fill = 0;
    }
  }

  produce(final) {
    const end = this.historyStart + this.history.length; // exclusive absolute index
    for (;;) {
      const t = this.nextOut * this.ratio;
      const centre = Math.floor(t);
      if (!final && centre + this.width >= end) break;
      if (final && centre >= end - this.width) break;
      let acc = 0;
      let norm = 0;
      for (let k = centre - this.width + 1; k <= centre + this.width; k++) {
        const h = this.kernel(t - k);
        norm += h;
        const i = k - this.historyStart;
        if (i >= 0 && i < this.history.length) acc += this.history[i] * h;
      }
      this.emit(norm ? acc / norm : 0);
      this.nextOut++;
    }
    // Keep only what later outputs still need.
    const need = Math.floor(this.nextOut * this.ratio) - this.width;
    const drop = need - this.historyStart;
    if (drop > 0) {
      this.history = this.history.slice(drop);
      this.historyStart += drop;
    }
  }

  append(samples) {
    const grown = new Float32Array(this.history.length + samples.length);
    grown.set(this.history);
    grown.set(samples, this.history.length);
    this.history = grown;
  }

  flush() {
    this.append(new Float32Array(this.width));
    this.produce(true);
    if (this.fill) this.port.postMessage(this.block.slice(0, this.fill));
    this.fill = 0;
    this.port.postMessage('flushed');
    this.stopped = true;
  }

  process(inputs) {
    if (this.stopped) return false;
    const input = inputs[0];
    if (input && input.length) {
      const n = input[0].length;
      const mono = new Float32Array(n);
      for (const channel of input) for (let i = 0; i < n; i++) mono[i] += channel[i] / input.length;
      this.append(mono);
      this.produce(false);
    }
    return true;
  }
}

registerProcessor('capture-16k', Capture16k);
