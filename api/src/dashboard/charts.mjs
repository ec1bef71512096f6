// A tiny SVG chart renderer for the dashboard: grouped vertical bars over
// time and horizontal bars by category. No dependencies, nothing from the
// network; every element is made with createElementNS (no markup strings), so
// the page's script-src 'self' / style-src 'self' policy holds.
//
// Each chart is an <svg role="img"> labelled by its own <title> and <desc>
// (a one-line summary for screen readers); every bar carries a <title> with
// its exact value. The page shows the same numbers in a table next to it.

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

/** The smallest of 1, 2 or 5 times a power of ten that is at least `value`. */
function niceUp(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

/** The top of an axis with four round steps; whole steps for whole numbers. */
export function niceMax(value) {
  if (!(value > 0)) return 4;
  let step = niceUp(value / 4);
  if (Number.isInteger(value)) step = Math.max(1, Math.ceil(step));
  return step * 4;
}

let uid = 0;
function frame(title, summary, width, height) {
  uid += 1;
  const titleId = `chart-title-${uid}`;
  const descId = `chart-desc-${uid}`;
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": `${titleId} ${descId}`,
    class: "chart",
    preserveAspectRatio: "xMidYMid meet",
  });
  const t = svg("title", { id: titleId });
  t.textContent = title;
  const d = svg("desc", { id: descId });
  d.textContent = summary;
  root.append(t, d);
  return root;
}

function text(x, y, content, attrs = {}) {
  const node = svg("text", { x, y, ...attrs });
  node.textContent = content;
  return node;
}

/**
 * Grouped bars: one group per label, one bar per series.
 * series: [{ name, values: number[], className }]
 * format: number -> string for axis ticks and bar titles.
 */
export function groupedBars({ title, summary, labels, series, format = String, width = 720, height = 300 }) {
  const root = frame(title, summary, width, height);
  const margin = { top: 16, right: 12, bottom: 56, left: 72 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const y = (v) => margin.top + plotH - (v / max) * plotH;

  const grid = svg("g", { class: "chart-grid", "aria-hidden": "true" });
  for (let i = 0; i <= 4; i += 1) {
    const v = (max / 4) * i;
    grid.append(
      svg("line", { x1: margin.left, x2: margin.left + plotW, y1: y(v), y2: y(v) }),
      text(margin.left - 8, y(v) + 4, format(v), { "text-anchor": "end", class: "chart-tick" }),
    );
  }
  root.append(grid);

  const groupW = plotW / Math.max(1, labels.length);
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, series.length));
  const bars = svg("g", { class: "chart-bars" });
  labels.forEach((label, i) => {
    const x0 = margin.left + i * groupW + groupW * 0.1;
    series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      // A small non-zero value stays visible.
      const h = Math.max(v > 0 ? 2 : 0, margin.top + plotH - y(v));
      const bar = svg("rect", {
        x: x0 + j * barW,
        y: margin.top + plotH - h,
        width: barW - 1,
        height: h,
        class: s.className,
      });
      const tip = svg("title");
      tip.textContent = `${label}: ${s.name} ${format(v)}`;
      bar.append(tip);
      bars.append(bar);
    });
    // Every label when there is room, else every other one.
    if (labels.length <= 16 || i % 2 === (labels.length - 1) % 2) {
      root.append(
        text(x0 + (barW * series.length) / 2, margin.top + plotH + 18, label, {
          "text-anchor": "middle",
          class: "chart-label",
          "aria-hidden": "true",
        }),
      );
    }
  });
  root.append(bars);
  root.append(
    svg("line", {
      x1: margin.left, x2: margin.left + plotW, y1: margin.top + plotH, y2: margin.top + plotH,
      class: "chart-axis", "aria-hidden": "true",
    }),
  );

  const legend = svg("g", { class: "chart-legend", "aria-hidden": "true" });
  let lx = margin.left;
  for (const s of series) {
    legend.append(
      svg("rect", { x: lx, y: height - 20, width: 14, height: 14, class: s.className }),
      text(lx + 20, height - 8, s.name, { class: "chart-label" }),
    );
    lx += 28 + s.name.length * 9;
  }
  root.append(legend);
  return root;
}

/** Horizontal bars, one per row: rows [{ label, value }]. */
export function horizontalBars({ title, summary, rows, format = String, className = "bar-a", width = 720 }) {
  const rowH = 28;
  const margin = { top: 8, right: 96, bottom: 8, left: 200 };
  const height = margin.top + margin.bottom + Math.max(1, rows.length) * rowH;
  const root = frame(title, summary, width, height);
  const plotW = width - margin.left - margin.right;
  // No axis here: the longest bar is the largest value.
  const max = Math.max(1, ...rows.map((r) => r.value));
  rows.forEach((r, i) => {
    const yTop = margin.top + i * rowH;
    const w = Math.max(r.value > 0 ? 2 : 0, (r.value / max) * plotW);
    const label = r.label.length > 26 ? `${r.label.slice(0, 25)}…` : r.label;
    root.append(text(margin.left - 8, yTop + rowH / 2 + 5, label, { "text-anchor": "end", class: "chart-label" }));
    const bar = svg("rect", { x: margin.left, y: yTop + 4, width: w, height: rowH - 8, class: className });
    const tip = svg("title");
    tip.textContent = `${r.label}: ${format(r.value)}`;
    bar.append(tip);
    root.append(bar, text(margin.left + w + 6, yTop + rowH / 2 + 5, format(r.value), { class: "chart-value" }));
  });
  return root;
}
