"use strict";
// PropScope page: every piece of article text reaches the page through textContent, never innerHTML.

const state = { analysis: null, techniques: new Map(), hidden: new Set(), minScore: 0, unitAt: [], pieces: [] };
const tip = { mark: null, pinned: false };
// How strongly each confidence band is painted. The band itself is the analysis' own (document.py), never
// recomputed here from the score.
const STRENGTH = { likely: 1, possible: 0.65, unsure: 0.4 };
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

const techniqueOf = (name) => state.techniques.get(name) || { name, display_name: name, tag: "?", colour: null, definition: "", example: "" };

const catalogue = fetch("/api/techniques")
  .then((response) => response.json())
  .then((techniques) => { for (const t of techniques) state.techniques.set(t.name, t); });
catalogue.catch(() => setStatus("Could not load the technique catalogue.", true));

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

async function analyze(event) {
  event.preventDefault();
  const text = $("text").value;
  const url = $("url").value.trim();
  const body = url && !text.trim() ? { url } : { text, title: $("title").value || null };
  setStatus("Analyzing…");
  $("analyze").disabled = true;
  try {
    await catalogue;
    const response = await fetch("/api/analyze", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || `request failed (${response.status})`);
    show(data, body.url ? data.article.id : "");  // a fetched article's id is the address it came from
    setStatus(`${data.spans.length} spans found.`);
  } catch (error) {
    clearResult();  // an error must not leave the previous article on screen as if it were this one's
    setStatus(error.message, true);
  } finally {
    $("analyze").disabled = false;
  }
}

function show(analysis, address) {
  state.analysis = analysis;
  state.hidden.clear();
  const { title, text } = analysis.article;
  $("result-title").textContent = title || (address ? "Untitled page" : "Pasted text");
  showSource(address);
  $("article-id").value = slug(addressName(address)) || slug(title) || slug(text.trim().split("\n", 1)[0]) || "article";
  $("result").hidden = false;
  buildLegend();
  render();
  // On a phone the result starts screens below the button: bring it up and start the Tab order there.
  $("result").scrollIntoView({ block: "start" });
  $("result-title").focus({ preventScroll: true });
}

function clearResult() {
  hideTooltip();
  state.analysis = null;
  $("result").hidden = true;
  for (const id of ["article", "legend", "chart"]) $(id).replaceChildren();
}

function showSource(address) {
  const link = $("source-link");
  link.textContent = address;
  if (/^https?:\/\//i.test(address)) link.href = address;
  else link.removeAttribute("href");
  $("source").hidden = !address;
}

// Corpus rows name their article; the same "text" for every pasted article would mix them up.
function addressName(address) {
  try {
    const url = new URL(address);
    return (url.pathname.split("/").filter(Boolean).pop() || "").replace(/\.\w+$/, "") || url.hostname;
  } catch {
    return "";
  }
}

const slug = (words) =>
  words.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").slice(0, 60).replace(/^-+|-+$/g, "");

const articleId = () => $("article-id").value.trim().replace(/\s+/g, "-") || "article";

const scoredSpans = () => state.analysis.spans.filter((s) => s.score >= state.minScore);
const visibleSpans = () => scoredSpans().filter((s) => !state.hidden.has(s.technique));

// The API's offsets count code points, as Python does; JavaScript strings index UTF-16 units, in which
// an emoji or a flag outside the Basic Multilingual Plane takes two. unitAt[i]: the unit where code point i starts.
function utf16Offsets(text) {
  const unitAt = [0];
  for (const character of text) unitAt.push(unitAt[unitAt.length - 1] + character.length);
  return unitAt;
}

// The catalogue's colour mixed with white: a weaker band is paler under the same black text. A technique the
// catalogue lacks (a model newer than the page) has no colour.
function tint(colour, strength) {
  if (!colour) return "transparent";
  const mixed = [1, 3, 5].map((i) => Math.round(255 - (255 - parseInt(colour.slice(i, i + 2), 16)) * strength));
  return `rgb(${mixed.join(", ")})`;
}

const strongestFirst = (a, b) => STRENGTH[b.confidence] - STRENGTH[a.confidence] || b.score - a.score;

function renderArticle(spans) {
  const text = state.analysis.article.text;
  const unitAt = utf16Offsets(text);
  const cuts = new Set([0, unitAt.length - 1]);
  for (const s of spans) { cuts.add(s.start); cuts.add(s.end); }
  const points = [...cuts].sort((a, b) => a - b);
  state.unitAt = unitAt;
  state.pieces = [];
  const article = $("article");
  article.replaceChildren();
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const piece = document.createTextNode(text.slice(unitAt[a], unitAt[b]));
    state.pieces.push({ start: a, node: piece });
    const covering = spans.filter((s) => s.start < b && a < s.end).sort(strongestFirst);
    article.append(covering.length ? markOf(piece, covering) : piece);
  }
}

// One stripe per technique, each as strong as the band of its surest span there (covering: strongest first).
function paintOf(techniques, covering) {
  const paints = techniques.map((name) => tint(techniqueOf(name).colour, STRENGTH[covering.find((s) => s.technique === name).confidence]));
  const stripe = (paint, k) => `${paint} ${(100 * k) / paints.length}% ${(100 * (k + 1)) / paints.length}%`;
  return paints.length > 1 ? `linear-gradient(${paints.map(stripe).join(", ")})` : paints[0];
}

// One piece of text under one or more spans.
function markOf(piece, covering) {
  const techniques = [...new Set(covering.map((s) => s.technique))];
  const mark = el("mark", { tabIndex: 0, className: covering[0].confidence }, [piece]);
  mark.style.background = paintOf(techniques, covering);
  mark.classList.toggle("overlap", covering.length > 1);
  mark.dataset.techniques = techniques.join("|");
  mark.dataset.confidence = covering[0].confidence;
  mark.setAttribute("role", "button");
  mark.setAttribute("aria-label", covering.map((s) => `${techniqueOf(s.technique).display_name} (${s.confidence})`).join(", ") + ": " + piece.data);
  mark.addEventListener("mouseenter", () => { if (!tip.pinned) showTooltip(mark, covering); });
  mark.addEventListener("mouseleave", () => { if (!tip.pinned) hideTooltip(); });
  mark.addEventListener("focus", () => showTooltip(mark, covering));
  mark.addEventListener("blur", (event) => { if (!tip.pinned && !$("tooltip").contains(event.relatedTarget)) hideTooltip(); });
  mark.addEventListener("click", () => (tip.pinned && tip.mark === mark ? hideTooltip() : showTooltip(mark, covering, true)));
  mark.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    showTooltip(mark, covering, true);
    $("tooltip").focus();  // pinned, the detail's links are one Tab away; Escape comes back here
  });
  return mark;
}

function showTooltip(mark, spans, pinned = false) {
  const box = $("tooltip");
  if (tip.mark && tip.mark !== mark) tip.mark.removeAttribute("aria-describedby");
  const passages = passagesOf(spans);
  box.replaceChildren(...passages.map((passage) => detailOf(passage, passages.length > 1)));
  box.hidden = false;
  Object.assign(tip, { mark, pinned });
  mark.setAttribute("aria-describedby", "tooltip");
  place(box, mark);
}

function hideTooltip() {
  if (tip.mark) tip.mark.removeAttribute("aria-describedby");
  Object.assign(tip, { mark: null, pinned: false });
  $("tooltip").hidden = true;
}

// Beside the passage, never over it: below where it fits (or where there is more room), else above; always
// inside the viewport, scrolling within itself when the room is short (a phone).
function place(box, mark) {
  const [margin, gap] = [8, 6];
  const anchor = mark.getBoundingClientRect();
  const [width, height] = [document.documentElement.clientWidth, window.innerHeight];
  const below = height - anchor.bottom - gap - margin;
  const above = anchor.top - gap - margin;
  box.style.maxHeight = "";
  const downward = box.offsetHeight <= below || below >= above;
  box.style.maxHeight = `${Math.max(downward ? below : above, 0)}px`;
  const top = downward ? anchor.bottom + gap : anchor.top - gap - box.offsetHeight;
  const left = Math.max(margin, Math.min(anchor.left, width - box.offsetWidth - margin));
  box.style.top = `${window.scrollY + top}px`;
  box.style.left = `${window.scrollX + left}px`;
}

function swatchOf(technique) {
  const swatch = el("span", { className: "swatch" });
  swatch.style.background = tint(technique.colour, 1);
  return swatch;
}

// Spans of one passage share its evidence (it is the passage's): one section per passage, a heading per technique.
function passagesOf(spans) {
  const passages = new Map();
  for (const s of spans) {
    const key = `${s.start}:${s.end}`;
    passages.set(key, [...(passages.get(key) || []), s]);
  }
  return [...passages.values()];
}

const quoted = (text) => `“${text.length > 90 ? `${text.slice(0, 89)}…` : text}”`;

function detailOf(spans, quote) {
  const [first] = spans;
  return el("section", {}, [
    ...(quote ? [el("p", { className: "passage", textContent: quoted(first.text) })] : []),
    ...spans.flatMap((span) => {
      const t = techniqueOf(span.technique);
      return [
        el("h3", {}, [swatchOf(t), el("span", { className: "tag", textContent: t.tag }), ` ${t.display_name}`]),
        el("p", { className: `score ${span.confidence}`, textContent: `Score ${span.score.toFixed(2)} · ${span.confidence}` }),
        el("p", { textContent: t.definition }),
      ];
    }),
    ...(first.evidence ? [evidenceOf(first.evidence)] : []),
  ]);
}

// What the analysis found for this span, each kind of evidence only where there is some.
function evidenceOf(evidence) {
  const kinds = [
    ["Key words", evidence.words.length ? [evidence.words.map((w) => quoted(w.text)).join(", ")] : []],
    ["Also at", evidence.repeats.map((r) => el("button", {
      type: "button", className: "jump", textContent: `${quoted(r.text)} (paragraph ${paragraphAt(r.start)})`,
      onclick: () => jumpTo(r.start, r.end),
    }))],
    ["Signals", evidence.signals.length ? [evidence.signals.join(", ")] : []],
    ["Techniques weighed", evidence.techniques.length
      ? [evidence.techniques.map((w) => `${techniqueOf(w.technique).display_name} ${Math.round(100 * w.probability)}%`).join(", ")]
      : []],
  ];
  const list = el("dl");
  for (const [term, details] of kinds) if (details.length) list.append(el("dt", { textContent: term }), el("dd", {}, details));
  return list;
}

// Which paragraph (non-blank line) a place is in, so the places a passage recurs can be told apart.
function paragraphAt(position) {
  const lines = state.analysis.article.text.slice(0, state.unitAt[position]).split("\n");
  return lines.slice(0, -1).filter((line) => line.trim()).length + 1;
}

function pointAt(position) {
  const piece = state.pieces.findLast((p) => p.start <= position);
  return [piece.node, state.unitAt[position] - state.unitAt[piece.start]];
}

// Selects a place where the passage recurs and scrolls it to the middle of the screen.
function jumpTo(start, end) {
  const range = document.createRange();
  range.setStart(...pointAt(start));
  range.setEnd(...pointAt(end));
  hideTooltip();
  $("article").focus({ preventScroll: true });
  getSelection().removeAllRanges();
  getSelection().addRange(range);
  window.scrollBy(0, range.getBoundingClientRect().top - window.innerHeight / 2);
}

function countsByTechnique(spans) {
  const counts = new Map();
  for (const s of spans) counts.set(s.technique, (counts.get(s.technique) || 0) + 1);
  return counts;
}

// Built once per analysis, so a checkbox keeps its focus while the reader ticks several.
function buildLegend() {
  const byCount = [...countsByTechnique(state.analysis.spans).entries()].sort((a, b) => b[1] - a[1]);
  $("legend").replaceChildren(...byCount.map(([name]) => {
    const t = techniqueOf(name);
    const box = el("input", { type: "checkbox", checked: true });
    box.dataset.technique = name;
    box.addEventListener("change", () => {
      if (box.checked) state.hidden.delete(name);
      else state.hidden.add(name);
      render();
    });
    return el("li", {}, [el("label", { title: `${t.definition} Example: ${t.example}` }, [
      box, swatchOf(t), el("span", { className: "tag", textContent: t.tag }), el("span", { textContent: t.display_name }),
      el("span", { className: "count" }),
    ])]);
  }));
  if (!byCount.length) $("legend").append(el("li", { textContent: "No technique found." }));
}

function renderCounts(spans) {
  const scored = countsByTechnique(scoredSpans());
  for (const box of $("legend").querySelectorAll("input")) {
    box.closest("label").querySelector(".count").textContent = String(scored.get(box.dataset.technique) || 0);
  }
  const shown = [...countsByTechnique(spans).entries()].sort((a, b) => b[1] - a[1]);
  const most = shown.length ? shown[0][1] : 1;
  $("chart").replaceChildren(...shown.map(([name, count]) => {
    const bar = el("div", { className: "bar" });
    bar.style.background = tint(techniqueOf(name).colour, 1);
    bar.style.width = `${(100 * count) / most}%`;
    return el("div", {}, [el("span", { textContent: `${techniqueOf(name).display_name} (${count})` }), bar]);
  }));
}

// Counted from the spans on screen, as document.py counts them, so the summary follows the slider and filters.
function renderSummary(spans) {
  const { sentences } = state.analysis;
  const flagged = sentences.filter((s) => spans.some((x) => x.start < s.end && s.start < x.end)).length;
  const share = sentences.length ? Math.round((100 * flagged) / sentences.length) : 0;
  $("summary").textContent =
    `${flagged} of ${sentences.length} sentences (${share}%) use at least one technique shown; ` +
    `${spans.length} of ${state.analysis.spans.length} spans shown.`;
}

function render() {
  hideTooltip();
  const spans = visibleSpans();
  renderArticle(spans);
  renderCounts(spans);
  renderSummary(spans);
}

function download(name, type, content) {
  const link = el("a", { href: URL.createObjectURL(new Blob([content], { type })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

const rows = () => visibleSpans().map((s) => `${articleId()}\t${s.technique}\t${s.start}\t${s.end}\n`).join("");

$("input").addEventListener("submit", analyze);
$("min-score").addEventListener("input", (event) => {
  state.minScore = Number(event.target.value);
  $("min-score-value").textContent = state.minScore.toFixed(2);
  if (state.analysis) render();
});
$("show-all").addEventListener("click", () => {
  state.hidden.clear();
  for (const box of $("legend").querySelectorAll("input")) box.checked = true;
  render();
});
$("download-json").addEventListener("click", () => download(`${articleId()}.json`, "application/json", JSON.stringify(state.analysis, null, 2)));
$("download-rows").addEventListener("click", () => download(`${articleId()}.labels`, "text/tab-separated-values", rows()));
$("tooltip").addEventListener("focusout", (event) => {
  if (event.relatedTarget && !$("tooltip").contains(event.relatedTarget) && event.relatedTarget !== tip.mark) hideTooltip();
});
document.addEventListener("click", (event) => { if (!event.target.closest("#tooltip, #article mark")) hideTooltip(); });
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || !tip.mark) return;
  if ($("tooltip").contains(document.activeElement)) tip.mark.focus();
  hideTooltip();
});
window.addEventListener("resize", hideTooltip);
