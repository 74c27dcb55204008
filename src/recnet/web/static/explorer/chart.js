/*
 * recnet explorer: the grouped bar chart, and the helpers that make page and SVG elements
 * (loaded before explorer.js, which takes them from window.recnetChart).
 *
 * Text is only ever written with textContent or as attribute values, never parsed as HTML. A
 * chart's words (t, number, withheldText) come from the page, in the reader's language.
 */
"use strict";

window.recnetChart = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  // Okabe-Ito: distinguishable with the common colour-vision deficiencies.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"];

  function el(tag, attrs = {}, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgEl(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* A grouped bar chart: one group per category, one bar per series. A withheld cell is drawn
   * as a hatched full-height column, never as a bar of zero, so it cannot be read as a figure. */
  function groupedBars(container, { t, number, withheldText }, { id, title, groups, series, cell }) {
    container.replaceChildren();
    const W = 520, H = 260, left = 44, right = 8, top = 12, bottom = 32;
    const plotW = W - left - right, plotH = H - top - bottom;
    const values = [];
    for (const g of groups) for (const s of series) {
      const c = cell(g.code, s.code);
      if (c && c.OBS_VALUE !== null) values.push(c.OBS_VALUE);
    }
    const max = Math.max(1, ...values);
    const step = niceStep(max / 4);
    const top_ = Math.ceil(max / step) * step;
    const y = (v) => top + plotH - (v / top_) * plotH;

    const chart = svgEl("svg", {
      viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title`, class: "bars",
    });
    chart.append(svgEl("title", { id: `${id}-title` }, title));
    const defs = svgEl("defs");
    const hatch = svgEl("pattern", {
      id: `${id}-hatch`, width: 6, height: 6, patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(45)",
    });
    hatch.append(svgEl("rect", { width: 6, height: 6, fill: "#f4f4f4" }));
    hatch.append(svgEl("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#888", "stroke-width": 2 }));
    defs.append(hatch);
    chart.append(defs);

    for (let v = 0; v <= top_ + step / 2; v += step) {
      chart.append(svgEl("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), class: "grid" }));
      chart.append(svgEl("text", { x: left - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, number(v)));
    }
    const groupW = plotW / Math.max(1, groups.length);
    const barW = Math.min(36, (groupW * 0.8) / Math.max(1, series.length));
    groups.forEach((g, gi) => {
      const x0 = left + gi * groupW + (groupW - barW * series.length) / 2;
      series.forEach((s, si) => {
        const c = cell(g.code, s.code);
        if (!c) return; // not reported at all: nothing to draw
        const x = x0 + si * barW;
        let bar;
        if (c.OBS_VALUE === null) {
          bar = svgEl("rect", {
            x: x + 1, y: top, width: barW - 2, height: plotH, fill: `url(#${id}-hatch)`,
            class: "withheld", "data-conf": c.CONF_STATUS,
          });
          bar.append(svgEl("title", {}, `${g.label}, ${s.label}: ${withheldText(c)}`));
        } else {
          bar = svgEl("rect", {
            x: x + 1, y: y(c.OBS_VALUE), width: barW - 2, height: Math.max(0, y(0) - y(c.OBS_VALUE)),
            fill: s.color, class: "bar",
          });
          bar.append(svgEl("title", {}, `${g.label}, ${s.label}: ${number(c.OBS_VALUE)} ${t("persons")}`));
        }
        chart.append(bar);
      });
      chart.append(svgEl("text", {
        x: left + gi * groupW + groupW / 2, y: H - bottom + 18, class: "tick", "text-anchor": "middle",
      }, g.label));
    });
    chart.append(svgEl("line", { x1: left, x2: W - right, y1: y(0), y2: y(0), class: "axis" }));

    const legend = el("ul", { class: "legend" });
    const swatch = (fill) => {
      const box = svgEl("svg", { width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true" });
      box.append(svgEl("rect", { width: 14, height: 14, fill, stroke: "#666", "stroke-width": 0.5 }));
      return box;
    };
    for (const s of series) {
      const item = el("li");
      item.append(swatch(s.color), document.createTextNode(s.label));
      legend.append(item);
    }
    const withheldItem = el("li");
    const hatchBox = swatch(`url(#${id}-hatch)`);
    withheldItem.append(hatchBox, document.createTextNode(t("withheld")));
    legend.append(withheldItem);

    // The same figures as a table: for screen readers, and for anyone who wants the numbers.
    const details = el("details", { class: "figures" });
    details.append(el("summary", {}, t("table")));
    const table = el("table");
    const head = el("tr");
    head.append(el("th", { scope: "col" }, ""));
    for (const s of series) head.append(el("th", { scope: "col" }, s.label));
    const thead = el("thead");
    thead.append(head);
    table.append(thead);
    const body = el("tbody");
    for (const g of groups) {
      const row = el("tr");
      row.append(el("th", { scope: "row" }, g.label));
      for (const s of series) {
        const c = cell(g.code, s.code);
        const text = !c ? "–" : c.OBS_VALUE === null ? withheldText(c) : number(c.OBS_VALUE);
        row.append(el("td", c && c.OBS_VALUE === null ? { class: "withheld-cell" } : {}, text));
      }
      body.append(row);
    }
    table.append(body);
    details.append(table);

    container.append(chart, legend, details);
    container.setAttribute("aria-busy", "false");
  }

  function niceStep(raw) {
    const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
    for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
    return 10 * power;
  }

  return Object.freeze({ el, svgEl, PALETTE, groupedBars });
})();
