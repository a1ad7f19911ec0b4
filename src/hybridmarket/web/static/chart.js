// The market page's charts, on uPlot: the price chart (YES price (%) against time, a stepped
// line since the price only moves on trades) and the activity chart (volume per interval as
// bars, distinct traders per interval as points on a line). The containers carry data-*
// attributes so tests (and curious people) can see what is drawn.

import uPlot from "/static/vendor/uPlot.esm.js";
import { LAMPORTS, sol } from "/static/util.js";

function css(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** The page's colours, read when a chart is made (they follow the light or dark scheme). */
function theme() {
  return {
    axis: css("--muted", "#888"),
    grid: css("--grid", "rgba(128,128,128,.15)"),
    text: css("--text", "#222"),
    accent: css("--accent", "#5b5bd6"),
    yes: css("--yes", "#1a9b5b"),
  };
}

/** An axis in the page's colours; `extra` adds to it or overrides. */
function axis(t, extra = {}) {
  return { stroke: t.axis, grid: { stroke: t.grid }, ticks: { stroke: t.grid }, ...extra };
}

/** Off the plot, the legend shows the point `idx(u)` (the latest, say) rather than dashes. */
function legendAt(idx) {
  const show = (u) => { const i = idx(u); if (i != null && i >= 0) u.setLegend({ idx: i }); };
  return {
    setCursor: [(u) => { if (u.cursor.idx == null) show(u); }],
    ready: [show],
  };
}
const latest = (u) => (u.data[0].length ? u.data[0].length - 1 : null);

const unix = (iso) => Math.floor(new Date(iso).getTime() / 1000);

/** A uPlot in `el` that follows the element's width; subclasses give `opts()` and the data. */
class Chart {
  constructor(el, heights) {
    this.el = el;
    this.heights = heights; // [narrow, wide]
    this.plot = null;
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(el);
  }

  size() {
    const w = Math.max(240, Math.floor(this.el.clientWidth));
    return { width: w, height: w < 500 ? this.heights[0] : this.heights[1] };
  }

  /** Draw `data`: the plot is made on first use, updated after. */
  draw(data) {
    if (!this.plot) this.plot = new uPlot(this.opts(), data, this.el);
    else this.plot.setData(data);
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

export class PriceChart extends Chart {
  constructor(el) {
    super(el, [200, 280]);
    this.data = [[], []];
    this.span = null; // seconds shown back from the latest point; null: everything
  }

  opts() {
    const t = theme();
    return {
      ...this.size(),
      cursor: { drag: { x: true, y: false } },
      legend: { show: true, live: true },
      hooks: legendAt(latest),
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
          stroke: t.yes,
          width: 2,
          fill: t.yes + "22",
          paths: uPlot.paths.stepped({ align: 1 }),
          value: (u, v) => (v == null ? "–" : `${v.toFixed(1)}%`),
          // Dots on each price change while there are few, so single trades stand out.
          points: { show: (u, si, i0, i1) => i1 - i0 < 40, size: 6 },
        },
      ],
      axes: [
        axis(t),
        axis(t, { values: (u, vals) => vals.map((v) => `${v}%`), size: 52 }),
      ],
    };
  }

  /** points: [{t: ISO, price_yes: "0.5"}] in time order. */
  setData(points) {
    const xs = [], ys = [];
    for (const p of points) {
      const t = unix(p.t);
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
    const made = !!this.plot;
    this.draw(this.data);
    if (made && xs.length && this.plot.cursor.idx == null) this.plot.setLegend({ idx: xs.length - 1 });
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
}

/** Round numbers of traders for the right axis: never a fraction of a wallet. */
const WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

/** A market's activity over a window of whole intervals: the volume traded in each as a bar
 * (left axis, SOL), the distinct wallets that traded in it as points, joined where intervals
 * follow each other (right axis). Intervals without trades are on the time axis with no bar
 * and no point, so the bars' spacing is time. The legend is the tooltip: hovered, it reads the interval's figures; off the plot, the
 * latest interval with trades. The container's data-bars is the number of bars drawn and
 * data-bar-x their centres (CSS px from the plot area's left), in time order. */
export class ActivityChart extends Chart {
  constructor(el) {
    super(el, [170, 220]);
    this.step = null;
    this.label = "";
    this.when = String;
    this.starts = []; // unix seconds of each interval shown
    this.rows = []; // its API bucket, or null
    this.window = [0, 1];
  }

  opts() {
    const t = theme();
    const row = (idx) => (idx == null ? null : this.rows[idx] || { volume: 0, trades: 0, traders: 0 });
    return {
      ...this.size(),
      cursor: { drag: { x: false, y: false } },
      legend: { show: true, live: true },
      hooks: { ...legendAt(() => this.lastIdx()), draw: [(u) => this.publish(u)] },
      scales: {
        x: { time: true, range: () => this.window },
        sol: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] },
        n: { range: (u, min, max) => [0, Math.max(2, Math.ceil((max || 0) * 1.15))] },
      },
      series: [
        { label: this.label, value: (u, v, si, idx) => (idx == null ? "–" : this.when(this.starts[idx])) },
        {
          label: "Volume",
          scale: "sol",
          stroke: t.accent,
          fill: t.accent + "99",
          width: 1,
          paths: uPlot.paths.bars({ size: [0.7, 48], align: 0 }),
          points: { show: false },
          value: (u, v, si, idx) => (idx == null ? "–" : sol(row(idx).volume)),
        },
        {
          label: "Traders",
          scale: "n",
          stroke: t.text,
          width: 2,
          points: { show: true, size: 5 },
          value: (u, v, si, idx) => (idx == null ? "–" : String(row(idx).traders)),
        },
      ],
      axes: [
        axis(t, { label: this.label, labelSize: 20 }),
        axis(t, { scale: "sol", label: "Volume (SOL)", labelSize: 20, size: 48 }),
        axis(t, {
          scale: "n", side: 1, label: "Traders", labelSize: 20, size: 40, grid: { show: false },
          incrs: WHOLE, values: (u, vals) => vals.map(String),
        }),
      ],
    };
  }

  /** The newest interval with trades. */
  lastIdx() {
    for (let i = this.rows.length - 1; i >= 0; i--) if (this.rows[i]) return i;
    return null;
  }

  /**
   * buckets: the API's activity buckets ({t, volume, trades, traders}), oldest first.
   * step: the interval in seconds; from, to: the window (unix seconds); label: what an
   * interval is called on the time axis ("Day"); when: an interval's start (unix seconds) as
   * the legend says it.
   */
  setData(buckets, { step, from, to, label, when }) {
    if (this.plot && (step !== this.step || label !== this.label)) { // other axes and legend
      this.plot.destroy();
      this.plot = null;
    }
    Object.assign(this, { step, label, when });
    const at = new Map(buckets.map((b) => [unix(b.t), b]));
    const times = [...at.keys()];
    // The intervals' grid is the buckets' own (the API cuts them at multiples of the step).
    const anchor = times.length ? times[0] : Math.floor(from / step) * step;
    const first = Math.min(anchor, anchor + Math.floor((from - anchor) / step) * step);
    const last = Math.max(times.length ? times[times.length - 1] : first, first + Math.floor((to - first) / step) * step);
    this.starts = [];
    this.rows = [];
    for (let s = first; s <= last && this.starts.length < 1000; s += step) {
      this.starts.push(s);
      this.rows.push(at.get(s) || null);
    }
    this.window = [first, this.starts[this.starts.length - 1] + step];
    const xs = this.starts.map((s) => s + step / 2); // a bar stands over its whole interval
    const volume = this.rows.map((b) => (b ? Number(b.volume) / LAMPORTS : null));
    const traders = this.rows.map((b) => (b ? b.traders : null)); // joined across adjacent intervals only
    this.el.dataset.bars = String(this.rows.filter(Boolean).length);
    const made = !!this.plot;
    this.draw([xs, volume, traders]);
    if (made && this.plot.cursor.idx == null && this.lastIdx() != null) this.plot.setLegend({ idx: this.lastIdx() });
  }

  publish(u) {
    const xs = u.data[0];
    this.el.dataset.barX = this.rows
      .map((b, i) => (b ? Math.round(u.valToPos(xs[i], "x")) : null))
      .filter((x) => x !== null)
      .join(",");
  }
}
