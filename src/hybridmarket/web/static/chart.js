// The price chart: uPlot, YES price (%) against time, a stepped line since the price only moves
// on trades. The container carries data-points / data-last so tests (and curious people) can
// see what is drawn.

import uPlot from "/static/vendor/uPlot.esm.js";

function css(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export class PriceChart {
  constructor(el) {
    this.el = el;
    this.plot = null;
    this.data = [[], []];
    this.span = null; // seconds shown back from the latest point; null: everything
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(el);
  }

  size() {
    const w = Math.max(240, Math.floor(this.el.clientWidth));
    const hgt = w < 500 ? 200 : 280;
    return { width: w, height: hgt };
  }

  opts() {
    const axis = css("--muted", "#888");
    const grid = css("--grid", "rgba(128,128,128,.15)");
    const line = css("--yes", "#1a9b5b");
    return {
      ...this.size(),
      cursor: { drag: { x: true, y: false } },
      legend: { show: true, live: true },
      hooks: {
        // Off the plot, the legend shows the latest price rather than dashes.
        setCursor: [(u) => { if (u.cursor.idx == null && u.data[0].length) u.setLegend({ idx: u.data[0].length - 1 }); }],
        ready: [(u) => { if (u.data[0].length) u.setLegend({ idx: u.data[0].length - 1 }); }],
      },
      scales: {
        // At least ten minutes on screen, so a young market's few points are not stretched
        // over seconds; the price axis zooms to the data, in steps of 5 points, within 0-100 %.
        x: { time: true, range: (u, min, max) => (max - min < 600 ? [max - 600, max + 30] : [min, max]) },
        y: {
          range: (u, min, max) => {
            if (min == null || max == null) return [0, 100];
            let lo = Math.max(0, Math.floor((min - 5) / 5) * 5);
            let hi = Math.min(100, Math.ceil((max + 5) / 5) * 5);
            if (hi - lo < 20) {
              const mid = (hi + lo) / 2;
              lo = Math.max(0, mid - 10);
              hi = Math.min(100, lo + 20);
              lo = hi - 20;
            }
            return [lo, hi];
          },
        },
      },
      series: [
        { value: (u, v) => (v == null ? "–" : new Date(v * 1000).toLocaleString()) },
        {
          label: "YES",
          stroke: line,
          width: 2,
          fill: line + "22",
          paths: uPlot.paths.stepped({ align: 1 }),
          value: (u, v) => (v == null ? "–" : `${v.toFixed(1)}%`),
          // Dots on each price change while there are few, so single trades stand out.
          points: { show: (u, si, i0, i1) => i1 - i0 < 40, size: 6 },
        },
      ],
      axes: [
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid } },
        {
          stroke: axis,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          values: (u, vals) => vals.map((v) => `${v}%`),
          size: 52,
        },
      ],
    };
  }

  /** points: [{t: ISO, price_yes: "0.5"}] in time order. */
  setData(points) {
    const xs = [], ys = [];
    for (const p of points) {
      const t = Math.floor(new Date(p.t).getTime() / 1000);
      const y = Number(p.price_yes) * 100;
      if (!Number.isFinite(t) || !Number.isFinite(y)) continue;
      if (xs.length && t < xs[xs.length - 1]) continue;
      if (xs.length && t === xs[xs.length - 1]) { ys[ys.length - 1] = y; continue; }
      xs.push(t);
      ys.push(y);
    }
    this.data = [xs, ys];
    this.el.dataset.points = String(xs.length);
    this.el.dataset.last = ys.length ? ys[ys.length - 1].toFixed(3) : "";
    this.el.dataset.end = xs.length ? String(xs[xs.length - 1]) : ""; // unix seconds of the last point
    if (!this.plot) {
      this.plot = new uPlot(this.opts(), this.data, this.el);
    } else {
      this.plot.setData(this.data);
      if (xs.length && this.plot.cursor.idx == null) this.plot.setLegend({ idx: xs.length - 1 });
    }
    this.applySpan();
  }

  /** Show the last `seconds` before the latest point (null: all of it). */
  setSpan(seconds) {
    this.span = seconds;
    if (this.plot) {
      if (seconds === null) this.plot.setData(this.data); // rescales to everything
      this.applySpan();
    }
  }

  applySpan() {
    const xs = this.data[0];
    if (!this.plot || this.span === null || !xs.length) return;
    const max = xs[xs.length - 1];
    this.plot.setScale("x", { min: max - this.span, max: max + Math.max(30, this.span / 50) });
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size());
  }

  destroy() {
    this.ro.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}
