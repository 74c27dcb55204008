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
  const { el, PALETTE, groupedBars } = window.recnetChart; // chart.js
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
  const words = { t, number, withheldText }; // what a chart says, in the page's language

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
    groupedBars(container, words, {
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
    groupedBars(container, words, {
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
