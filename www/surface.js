// @ts-check
// A canvas that follows its CSS box and draws crisply on HiDPI screens.
//
// The canvas fills a wrapper whose size CSS decides; a ResizeObserver reports the box in
// device pixels, so the backing store matches the screen one to one. Views draw in CSS
// pixels: `begin()` sets the device-pixel-ratio transform and clears.

export class Surface {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.width = 0; // CSS pixels
    this.height = 0;
    this.dpr = 1;
    /** Bumped whenever the backing store changes size: views key their caches on it. */
    this.version = 0;
    this.observer = new ResizeObserver((entries) => {
      for (const entry of entries) this.measure(entry);
    });
    try {
      this.observer.observe(canvas, { box: "device-pixel-content-box" });
    } catch {
      this.observer.observe(canvas);
    }
  }

  /** @param {ResizeObserverEntry} entry */
  measure(entry) {
    const box = entry.contentBoxSize && entry.contentBoxSize[0];
    const cssWidth = box ? box.inlineSize : entry.contentRect.width;
    const cssHeight = box ? box.blockSize : entry.contentRect.height;
    const device = entry.devicePixelContentBoxSize && entry.devicePixelContentBoxSize[0];
    const dpr = window.devicePixelRatio || 1;
    const pixelWidth = device ? device.inlineSize : Math.round(cssWidth * dpr);
    const pixelHeight = device ? device.blockSize : Math.round(cssHeight * dpr);
    if (pixelWidth === this.canvas.width && pixelHeight === this.canvas.height && cssWidth === this.width) return;
    this.canvas.width = Math.max(1, pixelWidth);
    this.canvas.height = Math.max(1, pixelHeight);
    this.width = cssWidth;
    this.height = cssHeight;
    this.dpr = cssWidth > 0 ? pixelWidth / cssWidth : dpr;
    this.version += 1;
  }

  /** Whether there is anything to draw on. */
  get ready() {
    return this.width > 1 && this.height > 1;
  }

  /** Clears and sets up CSS-pixel coordinates; returns the context. */
  begin() {
    const ctx = this.ctx;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    return ctx;
  }
}
