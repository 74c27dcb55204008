/*
 * recnet explorer: charts, the good practices and the programmes, drawn from the public API.
 *
 * Requests are anonymous on purpose: the page shows exactly what anyone may see, that is the
 * disclosure-controlled figures and CLEAR published records. Text from the API is only ever
 * written with textContent or as attribute values, never parsed as HTML.
 *
 * The words are the explorer's message catalogues, fetched from /explorer/messages/<lang>.json
 * (English always, as the fallback for a word a catalogue lacks). The language is, in order:
 * ?lang= in the address, the reader's last choice (the recnet_lang cookie, which the record
 * pages read too, or localStorage), the browser's languages (Accept-Language), English.
 */
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  // Okabe-Ito: distinguishable with the common colour-vision deficiencies.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"];
  const LANGUAGES = ["en", "ru", "kk", "ky", "tg", "tk", "uz"];
  const CHOICE = "recnet_lang"; // cookie and localStorage key: the reader's last choice
  const TEXT = { en: {} }; // language -> its catalogue, once fetched

  const known = (lang) => {
    const primary = String(lang || "").toLowerCase().split(/[-_]/)[0];
    return LANGUAGES.includes(primary) ? primary : null;
  };

  function remembered() {
    const cookie = document.cookie.split("; ").find((part) => part.startsWith(`${CHOICE}=`));
    let stored = null;
    try {
      stored = localStorage.getItem(CHOICE);
    } catch {
      // storage may be off (private mode, policy): the cookie still remembers
    }
    return known(cookie && cookie.slice(CHOICE.length + 1)) || known(stored);
  }

  function remember(lang) {
    document.cookie = `${CHOICE}=${lang}; Path=/; Max-Age=31536000; SameSite=Lax`;
    try {
      localStorage.setItem(CHOICE, lang);
    } catch {
      // see remembered()
    }
  }

  function initialLanguage() {
    const asked = known(new URLSearchParams(location.search).get("lang"));
    const browser = (navigator.languages || [navigator.language]).map(known).find(Boolean);
    return asked || remembered() || browser || "en";
  }

  const state = {
    lang: initialLanguage(),
    codelists: new Map(), // dimension -> Map(code -> names by language)
    vocabularies: new Map(), // vocabulary name -> Map(code -> labels by language)
    area: null,
    sexage: null,
    query: "",
    lists: { practices: { request: 0, next: null }, programmes: { request: 0, next: null } },
  };

  const t = (key, values = {}) =>
    ((TEXT[state.lang] || {})[key] ?? TEXT.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(values[k]));

  async function loadCatalogue(lang) {
    if (TEXT[lang] && Object.keys(TEXT[lang]).length) return;
    const response = await fetch(`/explorer/messages/${lang}.json`, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`the ${lang} catalogue answered ${response.status}`);
    TEXT[lang] = await response.json();
  }
  const number = (n) => new Intl.NumberFormat(state.lang).format(n);

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

  async function getJSON(path) {
    // Accept-Language picks titles in the page's language without leaving out records that
    // are written only in another one (the `lang` parameter would filter them out).
    const headers = { Accept: "application/json", "Accept-Language": `${state.lang}, en;q=0.5` };
    const response = await fetch(path, { headers });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return response.json();
  }

  function label(map, code) {
    const names = map && map.get(code);
    return names ? names[state.lang] || names.en || code : code;
  }
  const codeName = (dimension, code) => label(state.codelists.get(dimension), code);
  const termName = (vocabulary, code) => label(state.vocabularies.get(vocabulary), code);

  function withheldText(cell) {
    return cell.CONF_STATUS === "C" ? t("withheldC") : t("withheld");
  }

  /* A grouped bar chart: one group per category, one bar per series. A withheld cell is drawn
   * as a hatched full-height column, never as a bar of zero, so it cannot be read as a figure. */
  function groupedBars(container, { id, title, groups, series, cell }) {
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

  function index(items, keyOf) {
    const map = new Map();
    for (const item of items) map.set(keyOf(item), item);
    return map;
  }

  function showStatus(container, key) {
    container.replaceChildren(el("p", { class: "status" }, t(key)));
    container.setAttribute("aria-busy", "false");
  }

  function drawArea() {
    const container = document.getElementById("chart-area");
    if (!state.area) return;
    // CAS is the regional total: the chart shows the member states themselves.
    const items = state.area.filter((c) => c.REF_AREA !== "CAS");
    if (!items.length) return showStatus(container, "noFigures");
    const years = [...new Set(items.map((c) => c.TIME_PERIOD))].sort();
    const states = [...new Set(items.map((c) => c.REF_AREA))].sort();
    const cells = index(items, (c) => `${c.TIME_PERIOD}|${c.REF_AREA}`);
    groupedBars(container, {
      id: "area",
      title: t("byArea"),
      groups: years.map((y) => ({ code: y, label: y })),
      series: states.map((s, i) => ({ code: s, label: codeName("REF_AREA", s), color: PALETTE[i % PALETTE.length] })),
      cell: (year, area) => cells.get(`${year}|${area}`),
    });
  }

  function drawSexAge() {
    const container = document.getElementById("chart-sexage");
    if (!state.sexage) return;
    // Parts only: the totals (_T) would dwarf the bands and repeat them.
    const parts = state.sexage.filter((c) => c.SEX !== "_T" && c.AGE !== "_T");
    if (!parts.length) return showStatus(container, "noFigures");
    // The latest year alone: adding years up is impossible where a year's figure is withheld.
    const year = parts.map((c) => c.TIME_PERIOD).sort().at(-1);
    const latest = parts.filter((c) => c.TIME_PERIOD === year);
    const order = [...(state.codelists.get("AGE") || new Map()).keys()];
    const bands = [...new Set(latest.map((c) => c.AGE))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    const cells = index(latest, (c) => `${c.AGE}|${c.SEX}`);
    groupedBars(container, {
      id: "sexage",
      title: `${t("bySexAge")}, ${year}`,
      groups: bands.map((b) => ({ code: b, label: codeName("AGE", b) })),
      series: ["F", "M"].map((s, i) => ({ code: s, label: codeName("SEX", s), color: PALETTE[i + 3] })),
      cell: (band, sex) => cells.get(`${band}|${sex}`),
    });
    container.parentElement.querySelector("figcaption").textContent = t("latestYear", { year });
    // The download holds what the chart draws: that year's figures.
    const csv = document.getElementById("csv-sexage");
    const url = new URL(csv.getAttribute("href"), location.origin);
    url.searchParams.set("start_period", year);
    url.searchParams.set("end_period", year);
    csv.setAttribute("href", url.pathname + url.search);
  }

  /* The two lists, read page by page from the API with its next_cursor ("load more"). */
  const LISTS = {
    practices: { count: "practice-count", found: "practicesFound", none: "none", failed: "practicesFailed" },
    programmes: { count: "programme-count", found: "programmesFound", none: "noProgrammes", failed: "programmesFailed" },
  };
  const PAGE_SIZE = 20;

  function plural(key, n) {
    const form = new Intl.PluralRules(state.lang).select(n);
    const words = TEXT[state.lang] || {};
    return t(words[`${key}_${form}`] !== undefined ? `${key}_${form}` : `${key}_other`, { n: number(n) });
  }

  function recordItem(plural_, item) {
    const doc = item.document || {};
    const li = el("li");
    const heading = el("h3");
    // Every item leads to its page, in the language the explorer shows.
    const href = `/${plural_}/${encodeURIComponent(item.id)}?lang=${state.lang}`;
    heading.append(el("a", { href, class: "record-title", lang: item.lang || state.lang }, item.title));
    li.append(heading);
    const facts = [codeName("REF_AREA", item.tenant)];
    if (plural_ === "practices" && doc.working_group) facts.push(termName("working_groups", doc.working_group));
    if (plural_ === "programmes" && doc.activity_status) facts.push(termName("activity_statuses", doc.activity_status));
    li.append(el("p", { class: "meta" }, facts.join(" · ")));
    if (item.summary) li.append(el("p", { class: "summary", lang: item.lang || state.lang }, item.summary));
    const tags = plural_ === "practices" ? doc.approaches : doc.components;
    if (tags && tags.length) {
      const list = el("ul", { class: "tags", "aria-label": t(plural_ === "practices" ? "approaches" : "components") });
      for (const code of tags) list.append(el("li", {}, termName("approaches", code)));
      li.append(list);
    }
    return li;
  }

  async function loadList(plural_, more = false) {
    const list = state.lists[plural_];
    const request = ++list.request;
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (state.query) params.set("q", state.query);
    if (more && list.next) params.set("cursor", list.next);
    const container = document.getElementById(plural_);
    const count = document.getElementById(LISTS[plural_].count);
    const button = document.getElementById(`${plural_}-more`);
    container.setAttribute("aria-busy", "true");
    button.disabled = true;
    try {
      const page = await getJSON(`/v1/${plural_}?${params}`);
      if (request !== list.request) return; // a newer search or language has been asked for
      const items = page.items.map((item) => recordItem(plural_, item));
      if (more) container.append(...items);
      else container.replaceChildren(...items);
      list.next = page.next_cursor || null;
      const shown = container.children.length;
      count.textContent = shown ? plural(LISTS[plural_].found, shown) : t(LISTS[plural_].none);
      button.hidden = !list.next;
    } catch (error) {
      if (request !== list.request) return;
      console.error(error);
      if (!more) container.replaceChildren();
      count.textContent = t(LISTS[plural_].failed);
    } finally {
      if (request === list.request) {
        container.setAttribute("aria-busy", "false");
        button.disabled = false;
      }
    }
  }

  const loadLists = () => Promise.all(Object.keys(LISTS).map((plural_) => loadList(plural_)));

  function translatePage() {
    document.documentElement.lang = state.lang;
    document.title = `recnet — ${t("title")}`;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-label]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    }
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
    }
    // The feeds give titles in the chosen language too.
    for (const link of document.querySelectorAll('a[href^="/v1/feeds/"]')) {
      const url = new URL(link.getAttribute("href"), location.origin);
      url.searchParams.set("lang", state.lang);
      link.setAttribute("href", url.pathname + url.search);
    }
  }

  async function setLanguage(lang) {
    try {
      await loadCatalogue(lang);
    } catch (error) {
      console.error(error);
      return; // stay in the language the page is in
    }
    state.lang = lang;
    remember(lang);
    const url = new URL(location.href);
    url.searchParams.set("lang", lang);
    history.replaceState(null, "", url);
    translatePage();
    drawArea();
    drawSexAge();
    loadLists();
  }

  async function loadReference() {
    const [structure, vocabularies] = await Promise.all([
      getJSON("/v1/statistics/structure"),
      getJSON("/v1/vocabularies"),
    ]);
    const lists = new Map(structure.codelists.map((l) => [l.id, l]));
    for (const dimension of structure.dimensions) {
      const list = lists.get(dimension.codelist);
      if (list) state.codelists.set(dimension.id, new Map(list.codes.map((c) => [c.id, c.names])));
    }
    for (const v of vocabularies.items) {
      state.vocabularies.set(v.name, new Map(v.terms.map((term) => [term.code, term.labels])));
    }
  }

  async function loadFigures() {
    const base = "/v1/statistics/aggregates?indicator=RETURNED&frequency=A&by=";
    const charts = [
      ["chart-area", "REF_AREA,TIME_PERIOD", "area", drawArea],
      ["chart-sexage", "SEX,AGE,TIME_PERIOD", "sexage", drawSexAge],
    ];
    await Promise.all(charts.map(async ([id, by, key, draw]) => {
      try {
        state[key] = (await getJSON(base + by)).items;
        draw();
      } catch (error) {
        console.error(error);
        showStatus(document.getElementById(id), "failed");
      }
    }));
  }

  async function start() {
    try {
      await Promise.all([loadCatalogue("en"), loadCatalogue(state.lang)]);
    } catch (error) {
      console.error(error);
      if (!TEXT[state.lang] || !Object.keys(TEXT[state.lang]).length) state.lang = "en";
    }
    translatePage();
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.addEventListener("click", () => setLanguage(button.dataset.lang));
    }
    const input = document.getElementById("q");
    let pending;
    const search = () => {
      clearTimeout(pending);
      state.query = input.value.trim();
      loadLists();
    };
    document.getElementById("search").addEventListener("submit", (event) => {
      event.preventDefault();
      search();
    });
    // Search as one types, once typing pauses, without a request per keystroke.
    input.addEventListener("input", () => {
      clearTimeout(pending);
      pending = setTimeout(search, 300);
    });
    for (const plural_ of Object.keys(LISTS)) {
      document.getElementById(`${plural_}-more`).addEventListener("click", () => loadList(plural_, true));
    }
    // Labels first (codes are shown until they arrive), then figures and both lists together.
    loadReference()
      .catch((error) => console.error(error))
      .then(() => Promise.all([loadFigures(), loadLists()]));
  }

  start();
})();
