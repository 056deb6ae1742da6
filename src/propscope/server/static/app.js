"use strict";
// PropScope page: every piece of article text reaches the page through textContent, never innerHTML.

const state = { analysis: null, techniques: {}, only: null, minScore: 0 };
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

const techniqueOf = (name) => state.techniques[name] || { display_name: name, colour: "#cccccc", definition: "", example: "" };

async function loadTechniques() {
  const response = await fetch("/api/techniques");
  for (const t of await response.json()) state.techniques[t.name] = t;
}

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
    const response = await fetch("/api/analyze", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || `request failed (${response.status})`);
    state.analysis = data;
    state.only = null;
    $("result").hidden = false;
    render();
    setStatus(`${data.spans.length} spans found.`);
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    $("analyze").disabled = false;
  }
}

const scoredSpans = () => state.analysis.spans.filter((s) => s.score >= state.minScore);
const visibleSpans = () => scoredSpans().filter((s) => !state.only || s.technique === state.only);

// The API's offsets count code points, as Python does; JavaScript strings index UTF-16 units, in which
// an emoji or a flag outside the Basic Multilingual Plane takes two. unitAt[i]: the unit where code point i starts.
function utf16Offsets(text) {
  const unitAt = [0];
  for (const character of text) unitAt.push(unitAt[unitAt.length - 1] + character.length);
  return unitAt;
}

function renderArticle() {
  const text = state.analysis.article.text;
  const unitAt = utf16Offsets(text);
  const spans = visibleSpans();
  const cuts = new Set([0, unitAt.length - 1]);
  for (const s of spans) { cuts.add(s.start); cuts.add(s.end); }
  const points = [...cuts].sort((a, b) => a - b);
  const article = $("article");
  article.replaceChildren();
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const piece = text.slice(unitAt[a], unitAt[b]);
    const covering = spans.filter((s) => s.start < b && a < s.end);
    if (!covering.length) { article.append(document.createTextNode(piece)); continue; }
    const top = covering.reduce((best, s) => (s.score > best.score ? s : best));
    const mark = el("mark", { textContent: piece, tabIndex: 0 });
    mark.style.background = techniqueOf(top.technique).colour;
    mark.dataset.technique = top.technique;
    mark.dataset.techniques = covering.map((s) => s.technique).join("|");
    mark.setAttribute("aria-label", covering.map((s) => techniqueOf(s.technique).display_name).join(", ") + ": " + piece);
    if (covering.length > 1) mark.classList.add("overlap");
    mark.addEventListener("mouseenter", () => showTooltip(mark, covering));
    mark.addEventListener("focus", () => showTooltip(mark, covering));
    mark.addEventListener("mouseleave", hideTooltip);
    mark.addEventListener("blur", hideTooltip);
    article.append(mark);
  }
}

function showTooltip(mark, spans) {
  const tip = $("tooltip");
  tip.replaceChildren(...spans.map((s) => {
    const t = techniqueOf(s.technique);
    return el("section", {}, [
      el("h3", { textContent: `${t.display_name} · score ${s.score.toFixed(2)}` }),
      el("p", { textContent: t.definition }),
      el("p", { className: "example", textContent: `Example: ${t.example}` }),
    ]);
  }));
  tip.hidden = false;
  const box = mark.getBoundingClientRect();
  const left = Math.min(window.scrollX + box.left, window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 8);
  tip.style.left = `${Math.max(8, left)}px`;
  tip.style.top = `${window.scrollY + box.bottom + 6}px`;
}

function hideTooltip() { $("tooltip").hidden = true; }

function countsByTechnique(spans) {
  const counts = new Map();
  for (const s of spans) counts.set(s.technique, (counts.get(s.technique) || 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

function renderLegend() {
  const counts = countsByTechnique(scoredSpans());
  $("legend").replaceChildren(...counts.map(([name, count]) => {
    const t = techniqueOf(name);
    const swatch = el("span", { className: "swatch" });
    swatch.style.background = t.colour;
    const button = el("button", { type: "button", title: t.definition }, [
      swatch, el("span", { textContent: t.display_name }), el("span", { className: "count", textContent: String(count) }),
    ]);
    button.dataset.technique = name;
    button.setAttribute("aria-pressed", String(state.only === name));
    button.addEventListener("click", () => { state.only = state.only === name ? null : name; render(); });
    return el("li", {}, [button]);
  }));
  if (!counts.length) $("legend").append(el("li", { textContent: "No technique at this score." }));
  const most = counts.length ? counts[0][1] : 1;
  $("chart").replaceChildren(...counts.map(([name, count]) => {
    const bar = el("div", { className: "bar" });
    bar.style.background = techniqueOf(name).colour;
    bar.style.width = `${(100 * count) / most}%`;
    return el("div", {}, [el("span", { textContent: `${techniqueOf(name).display_name} (${count})` }), bar]);
  }));
}

function renderSummary() {
  const { summary } = state.analysis;
  const share = Math.round(100 * summary.flagged_share);
  $("summary").textContent =
    `${summary.flagged_sentences} of ${summary.sentences} sentences (${share}%) use at least one technique; ` +
    `${visibleSpans().length} of ${state.analysis.spans.length} spans shown.`;
}

function render() {
  hideTooltip();
  renderArticle();
  renderLegend();
  renderSummary();
}

function download(name, type, content) {
  const link = el("a", { href: URL.createObjectURL(new Blob([content], { type })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function rows() {
  const id = state.analysis.article.id.replace(/[\t\n]/g, " ");
  return visibleSpans().map((s) => `${id}\t${s.technique}\t${s.start}\t${s.end}\n`).join("");
}

$("input").addEventListener("submit", analyze);
$("min-score").addEventListener("input", (event) => {
  state.minScore = Number(event.target.value);
  $("min-score-value").textContent = state.minScore.toFixed(2);
  if (state.analysis) render();
});
$("show-all").addEventListener("click", () => { state.only = null; render(); });
$("download-json").addEventListener("click", () => download("analysis.json", "application/json", JSON.stringify(state.analysis, null, 2)));
$("download-rows").addEventListener("click", () => download("analysis.labels", "text/tab-separated-values", rows()));
document.addEventListener("keydown", (event) => { if (event.key === "Escape") hideTooltip(); });
loadTechniques().catch(() => setStatus("Could not load the technique catalogue.", true));
