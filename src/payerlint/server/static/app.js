// payerlint workbench: plain JavaScript, no build step, no library, no CDN.
// Everything shown comes from this service's own API; text is always set with
// textContent (never parsed as HTML), so nothing in a claim or a rulebook can run here.
// A claim pasted here is sent to this service only and is not stored anywhere.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function say(message, problem) {
  const status = $("status");
  status.textContent = message || "";
  status.classList.toggle("problem", Boolean(problem));
}

// ------------------------------------------------------------------ the API

async function api(method, path, body, contentType) {
  const headers = {};
  const token = $("token").value.trim();
  if (token) headers["Authorization"] = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
  const response = await fetch(path, { method, headers, body });
  const text = await response.text();
  let data = null;
  try { data = JSON.parse(text); } catch (_) { data = null; }
  if (!response.ok) {
    let message = data && data.error ? data.error : `${response.status} ${response.statusText}`;
    if (response.status === 401) message = "This service needs its API token: enter it at the top of the page.";
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return { data, text };
}

// ------------------------------------------------------------------ pages

const PAGES = ["check", "rules", "quarters", "graph", "remit"];

function showPage(moveFocus) {
  const wanted = location.hash.replace("#", "");
  const page = PAGES.includes(wanted) ? wanted : "check";
  for (const section of document.querySelectorAll("main section[data-page]")) {
    section.hidden = section.dataset.page !== page;
  }
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${page[0].toUpperCase()}${page.slice(1)} · payerlint workbench`;
  if (moveFocus) {
    const heading = $(`${page}-title`);
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

// ------------------------------------------------------------------ payers and quarters

const state = { payers: [] };

function fillPayers(select, withRouting) {
  const keep = select.value;
  select.replaceChildren();
  if (withRouting) select.append(el("option", { value: "", text: "Route by the claim's payer_id and dates" }));
  for (const payer of state.payers) {
    select.append(el("option", { value: payer.id, text: `${payer.name} (${payer.id})` }));
  }
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

function fillQuarters(payerSelect, quarterSelect, offset) {
  const payer = state.payers.find((p) => p.id === payerSelect.value);
  quarterSelect.replaceChildren();
  quarterSelect.disabled = !payer;
  if (!payer) {
    quarterSelect.append(el("option", { value: "", text: "(pick a payer)" }));
    return;
  }
  for (const quarter of payer.quarters) quarterSelect.append(el("option", { value: quarter, text: quarter }));
  const index = Math.max(0, payer.quarters.length - 1 - (offset || 0));
  quarterSelect.value = payer.quarters[index] || "";
}

async function loadPayers() {
  try {
    const { data } = await api("GET", "/v1/payers");
    state.payers = data;
  } catch (error) {
    say(error.message, true);
    return;
  }
  fillPayers($("check-payer"), true);
  for (const prefix of ["rules", "quarters", "graph"]) fillPayers($(`${prefix}-payer`), false);
  fillQuarters($("check-payer"), $("check-quarter"));
  fillQuarters($("rules-payer"), $("rules-quarter"));
  fillQuarters($("graph-payer"), $("graph-quarter"));
  fillQuarters($("quarters-payer"), $("quarters-old"), 1);
  fillQuarters($("quarters-payer"), $("quarters-new"));
  say("");
}

// ------------------------------------------------------------------ reading a fix and an explanation

const SINGULAR = { lines: "line", diagnoses: "diagnosis", modifiers: "modifier", interventions: "intervention",
  diagnosis_pointers: "diagnosis pointer" };

function words(name) { return name.replace(/_/g, " "); }

function describePath(pointer) {
  const tokens = pointer.split("/").slice(1).map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
  const out = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const next = tokens[i + 1];
    if (next !== undefined && /^\d+$/.test(next)) {
      out.push(`${SINGULAR[token] || words(token).replace(/s$/, "")} ${Number(next) + 1}`);
      i++;
    } else if (token === "-") {
      out.push("(at the end)");
    } else {
      out.push(words(token));
    }
  }
  return out.join(" ") || "the claim";
}

function shown(value) {
  if (Array.isArray(value)) return value.length ? value.map(shown).join(", ") : "nothing";
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// One JSON Patch operation as a sentence: "set line 1 units to 1".
function describeOperation(op) {
  const tokens = op.path.split("/");
  const last = tokens[tokens.length - 1];
  switch (op.op) {
    case "replace":
      return `set ${describePath(op.path)} to ${shown(op.value)}`;
    case "add":
      if (last === "-") return `add ${shown(op.value)} to ${describePath(tokens.slice(0, -1).join("/"))}`;
      if (/^\d+$/.test(last)) return `insert ${shown(op.value)} as ${describePath(op.path)}`;
      return `set ${describePath(op.path)} to ${shown(op.value)}`;
    case "remove":
      return `remove ${describePath(op.path)}`;
    case "move":
      return `move ${describePath(op.from)} to ${describePath(op.path)}`;
    case "copy":
      return `copy ${describePath(op.from)} to ${describePath(op.path)}`;
    case "test":
      return `check that ${describePath(op.path)} is ${shown(op.value)}`;
    default:
      return `${op.op} ${op.path}`;
  }
}

function describeFix(fix) { return fix.map(describeOperation).join("; "); }

function explained(explanation) {
  const items = [];
  for (const b of explanation.bindings || []) items.push(`with ${b.name} = ${b.value}`);
  for (const p of explanation.params || []) items.push(`param ${p.name} = ${p.value}`);
  for (const d of explanation.definitions || []) items.push(`${d.name}${d.for ? ` for ${d.for}` : ""} = ${d.value}`);
  for (const r of explanation.table_rows || []) {
    items.push(`table ${r.table} (${r.key.join(", ")}): ${r.found ? "found" : "no row"}${r.file_line ? `, file line ${r.file_line}` : ""}`);
  }
  for (const c of explanation.code_sets || []) items.push(`${c.code} ${c.member ? "is" : "is not"} in code set ${c.code_set}`);
  for (const p of explanation.phrases || []) items.push(`phrase "${p.matched}" of ${p.phrases}`);
  return items;
}

// ------------------------------------------------------------------ Check

function looksLikeJsonLines(text) {
  try { JSON.parse(text); return false; } catch (_) { /* not one document */ }
  const lines = text.split("\n").filter((line) => line.trim());
  if (lines.length < 2) return false;
  try { JSON.parse(lines[0]); return true; } catch (_) { return false; }
}

// Where a claim value is in what the user sent (a result's `source.locations`): the
// 837P segment and element, or the FHIR element; nothing for a payerlint JSON claim.
function locate(located, pointer) {
  return located && pointer && located[pointer] ? located[pointer] : null;
}

function sourceLine(label, text) {
  return el("p", { class: "source" }, el("strong", { text: `${label}: ` }), text);
}

function renderFinding(finding, located) {
  const where = finding.line === null ? "whole claim" : `line ${finding.line + 1}`;
  const item = el("li", { class: "finding" },
    el("div", { class: "head" },
      el("span", { class: `badge ${finding.severity}`, text: finding.severity }),
      el("span", { class: "rule", text: finding.rule }),
      el("span", { class: "where", text: `${where} · ${finding.category}${finding.rulebook ? ` · ${finding.rulebook}` : ""}` })),
    el("p", { class: "message", text: finding.message }));
  const at = locate(located, finding.pointer) || (finding.line === null ? null : locate(located, `/lines/${finding.line}`));
  if (at) item.append(sourceLine("In your file", at));
  if (finding.fix.length) item.append(el("p", { class: "fix" }, el("strong", { text: "Fix: " }), describeFix(finding.fix)));
  if (finding.x12 && finding.x12.length) {
    item.append(el("p", { class: "fix" }, el("strong", { text: "In the 837P: " }),
      finding.x12.map((edit) => edit.edit).join("; ")));
  } else if (finding.fix.length && located) {
    const places = [...new Set(finding.fix.map((op) => locate(located, op.path)).filter(Boolean))];
    if (places.length) item.append(sourceLine("Change", places.join("; ")));
  }
  if (finding.citation) item.append(el("p", { class: "cite" }, el("strong", { text: "Source: " }), finding.citation));
  if (finding.explanation) {
    const read = explained(finding.explanation);
    if (read.length) {
      item.append(el("details", {}, el("summary", { text: "What the rule read" }),
        el("ul", {}, read.map((text) => el("li", { text })))));
    }
  }
  return item;
}

function renderResult(result) {
  const name = result.claim_id ? `claim ${result.claim_id}` : "claim (no claim id)";
  const source = result.source || null;
  const located = source ? source.locations : null;
  const article = el("article", { class: "claim", "aria-label": `${name}: ${result.verdict}` },
    el("h3", {}, el("span", { class: `badge verdict ${result.verdict}`, text: result.verdict }), name,
      el("span", { class: "where", text: result.rulebooks.join(", ") || "not checked" })));
  if (source) {
    article.append(el("p", { class: "hint source-format",
      text: `Read from ${source.format}${result.record ? `, ${result.record}` : ""}` +
        (source.documentation ? `; documentation from ${source.documentation}` : "") }));
  }
  if (result.verdict !== "error") {
    if (result.complete) {
      article.append(el("p", { class: "hint", text: "Every rule that applies could run." }));
    } else {
      const missing = [...new Set(result.not_evaluated.map((n) => n.missing))];
      article.append(el("p", { class: "incomplete",
        text: `Incomplete: ${result.not_evaluated.length} rule check(s) could not run because the claim has no ${missing.join(", ")}.` }));
      const told = missing.filter((pointer) => locate(located, pointer));
      if (told.length) {
        article.append(el("ul", { class: "missing" },
          told.map((pointer) => el("li", {}, el("code", { text: pointer }), ` ${located[pointer]}`))));
      }
    }
  }
  if (result.findings.length) {
    article.append(el("ul", { class: "findings" }, result.findings.map((f) => renderFinding(f, located))));
  } else {
    article.append(el("p", { text: "No findings." }));
  }
  if (result.fix.length && result.findings.filter((f) => f.fix.length).length > 1) {
    article.append(el("p", { class: "fix" }, el("strong", { text: "All fixes together: " }), describeFix(result.fix)));
    if (result.x12 && result.x12.length) {
      article.append(el("p", { class: "fix" }, el("strong", { text: "All together in the 837P: " }),
        result.x12.map((edit) => edit.edit).join("; ")));
    }
  }
  return article;
}

// What a pasted text is, for the request: an 837P starts with its ISA segment; FHIR is
// JSON with a resourceType; JSON Lines goes to the streaming endpoint.
function requestFor(text, format) {
  const trimmed = text.replace(/^\uFEFF/, "").trimStart();
  if (format === "x12" || (format === "auto" && trimmed.startsWith("ISA"))) {
    return { path: "/v1/check", type: "application/edi-x12", lines: false };
  }
  if (format === "fhir") return { path: "/v1/check", type: "application/fhir+json", lines: false };
  const lines = looksLikeJsonLines(text);
  return { path: lines ? "/v1/check/jsonl" : "/v1/check", type: lines ? "application/x-ndjson" : "application/json",
    lines, format: format === "json" ? "json" : null };
}

async function runCheck(event) {
  event.preventDefault();
  const text = $("check-claim").value;
  const out = $("check-results");
  if (!text.trim()) {
    say("Paste a claim or open a claim file first.", true);
    $("check-claim").focus();
    return;
  }
  const params = new URLSearchParams();
  const payer = $("check-payer").value;
  if (payer) params.set("rulebook", `${payer}@${$("check-quarter").value}`);
  if ($("check-explain").checked) params.set("explain", "true");
  const request = requestFor(text, $("check-format").value);
  if (request.format) params.set("format", request.format);
  const lines = request.lines;
  say("Checking…");
  try {
    const { data, text: body } = await api("POST", `${request.path}?${params}`, text, request.type);
    const results = lines ? body.split("\n").filter(Boolean).map((line) => JSON.parse(line))
      : (Array.isArray(data) ? data : [data]);
    out.replaceChildren(...results.map(renderResult));
    const counts = {};
    for (const r of results) counts[r.verdict] = (counts[r.verdict] || 0) + 1;
    say(`Checked ${results.length} claim(s): ` + Object.entries(counts).map(([v, n]) => `${n} ${v}`).join(", ") + ".");
  } catch (error) {
    out.replaceChildren();
    say(error.message, true);
  }
}

function openFile(input, then) {
  const file = input.files && input.files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => then(String(reader.result));
  reader.onerror = () => say(`Could not read ${file.name}.`, true);
  reader.readAsText(file);
}

// ------------------------------------------------------------------ Rules

function origin(item, own) {
  if (!item.origin) return "";
  const place = `${item.origin.file}:${item.origin.line}`;
  return item.inherited ? `inherited from ${item.origin.rulebook} (${place})` : `${own ? "this rulebook" : item.origin.rulebook} (${place})`;
}

function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
}

async function fetchRulebook(payer, quarter) {
  const { data } = await api("GET", `/v1/rulebooks/${encodeURIComponent(payer)}/${encodeURIComponent(quarter)}`);
  return data;
}

async function showRules(event) {
  event.preventDefault();
  const out = $("rules-out");
  say("Loading the rulebook…");
  let book;
  try {
    book = await fetchRulebook($("rules-payer").value, $("rules-quarter").value);
  } catch (error) {
    out.replaceChildren();
    say(error.message, true);
    return;
  }
  const parts = [
    el("h3", { text: `${book.title} — ${book.id}` }),
    el("p", {}, book.extends.length ? `Extends ${book.extends.join(" → ")}. ` : "", book.facts_as_of ? `Facts as of ${book.facts_as_of}.` : ""),
  ];
  if (book.sources.length) parts.push(el("details", {}, el("summary", { text: "Sources" }), el("ul", {}, book.sources.map((s) => el("li", { text: s })))));
  const byCategory = {};
  for (const rule of book.rules) (byCategory[rule.category] = byCategory[rule.category] || []).push(rule);
  parts.push(el("h3", { text: `Rules (${book.rules.length})` }));
  for (const category of Object.keys(byCategory).sort()) {
    const rules = byCategory[category].sort((a, b) => a.id.localeCompare(b.id));
    parts.push(el("h4", { text: `${category} (${rules.length})` }));
    parts.push(table(["Rule", "Severity", "Citation", "Written in"], rules.map((r) => [
      [el("code", { text: r.id }), el("br"), r.title],
      el("span", { class: `badge ${r.severity}`, text: r.severity }),
      r.citation,
      [origin(r, true), r.overrides ? ` · overrides ${r.overrides.rulebook}` : ""],
    ])));
  }
  if (book.disabled.length) {
    parts.push(el("h3", { text: `Disabled rules (${book.disabled.length})` }));
    parts.push(table(["Rule", "Why", "Disabled by"], book.disabled.map((d) => [el("code", { text: d.rule }), d.reason || "", d.origin ? d.origin.rulebook : ""])));
  }
  parts.push(el("h3", { text: `Params (${book.params.length})` }));
  parts.push(table(["Param", "Value", "Citation", "Written in"], book.params.map((p) => [el("code", { text: p.name }), p.value, p.citation || "", origin(p, true)])));
  parts.push(el("h3", { text: `Code sets (${book.code_sets.length})` }));
  parts.push(table(["Code set", "Members", "Citation", "Written in"], book.code_sets.map((c) => [
    [el("code", { text: c.name }), c.label ? el("br") : "", c.label || ""], el("span", { class: "members mono", text: c.members.join(", ") }), c.citation || "", origin(c, true)])));
  if (book.tables.length) {
    parts.push(el("h3", { text: `Tables (${book.tables.length})` }));
    parts.push(table(["Table", "Rows", "Columns", "Citation"], book.tables.map((t) => [
      [el("code", { text: t.name }), el("br"), t.file], String(t.rows), t.columns.map((c) => c.name).join(", "), t.citation || ""])));
  }
  if (book.phrases.length) {
    parts.push(el("h3", { text: `Phrase sets (${book.phrases.length})` }));
    parts.push(table(["Phrase set", "Phrases", "Citation"], book.phrases.map((p) => [el("code", { text: p.name }), p.phrases.join("; "), p.citation || ""])));
  }
  out.replaceChildren(...parts);
  say(`${book.id}: ${book.rules.length} rules.`);
}

// ------------------------------------------------------------------ Quarters

function readClaims(text) {
  const skipped = [];
  try {
    const value = JSON.parse(text);
    return { claims: Array.isArray(value) ? value : [value], skipped };
  } catch (_) { /* JSON Lines */ }
  const claims = [];
  text.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    try { claims.push(JSON.parse(line)); } catch (_) { skipped.push(index + 1); }
  });
  return { claims, skipped };
}

function renderChange(change) {
  const box = el("div", { class: "change" }, el("strong", { text: change.summary }));
  if (change.inherited_from) box.append(el("span", { class: "hint", text: ` (written in ${change.inherited_from})` }));
  for (const t of (change.details && change.details.texts) || []) {
    box.append(el("pre", { class: "mono", text: `- ${t.clause} ${t.old || "(none)"}\n+ ${t.clause} ${t.new || "(none)"}` }));
  }
  if (change.reaches.length) box.append(el("p", { class: "hint", text: `Reaches: ${change.reaches.join(", ")}` }));
  return box;
}

async function compare(event) {
  event.preventDefault();
  const payer = $("quarters-payer").value;
  const body = { old: `${payer}@${$("quarters-old").value}`, new: `${payer}@${$("quarters-new").value}` };
  const out = $("quarters-out");
  const file = $("quarters-claims").files[0];
  let skipped = [];
  if (file) {
    const read = readClaims(await file.text());
    body.claims = read.claims;
    skipped = read.skipped;
  }
  say("Comparing…");
  let diff;
  try {
    ({ data: diff } = await api("POST", "/v1/diff", JSON.stringify(body)));
  } catch (error) {
    out.replaceChildren();
    say(error.message, true);
    return;
  }
  const parts = [el("h3", { text: `${diff.old} → ${diff.new}: ${diff.changes.length} change(s)` })];
  if (!diff.changes.length) parts.push(el("p", { text: "No changes in meaning (layout, comments and order are not changes)." }));
  parts.push(...diff.changes.map(renderChange));
  if (diff.summary) {
    const s = diff.summary;
    parts.push(el("h3", { text: "Replay" }),
      el("p", { class: "replay-summary", text: `${s.claims_checked} claims checked, ${s.claims_changed} changed outcome.` }));
    if (skipped.length) parts.push(el("p", { class: "hint", text: `Not replayed: line(s) ${skipped.join(", ")} of the file are not JSON.` }));
    const transitions = Object.entries(s.verdict_changes);
    if (transitions.length) parts.push(el("ul", {}, transitions.map(([t, n]) => el("li", { text: `verdict ${t}: ${n}` }))));
    const causes = Object.entries(s.by_change);
    if (causes.length) parts.push(el("p", { text: "Changed by:" }), el("ul", {}, causes.map(([c, n]) => el("li", { text: `${c}: ${n} claim(s)` }))));
    if (diff.claims.length) {
      parts.push(table(["Claim", "Verdict", "What changed", "Because"], diff.claims.map((impact) => [
        impact.claim_id || impact.record || "",
        `${impact.old_verdict} → ${impact.new_verdict}`,
        el("ul", {}, impact.differences.map((d) => el("li", { text: `${d.kind}: ${d.rule}${d.line !== null ? ` (line ${d.line + 1})` : ""}` }))),
        el("ul", {}, [...new Set(impact.differences.flatMap((d) => d.causes.map((c) => c.detail)))].map((text) => el("li", { text }))),
      ])));
    }
  }
  out.replaceChildren(...parts);
  say(`${diff.changes.length} change(s)${diff.summary ? `; ${diff.summary.claims_changed} claim(s) change outcome` : ""}.`);
}

// ------------------------------------------------------------------ Graph

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 230, NODE_H = 24, COL_GAP = 90, ROW_GAP = 8;

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

const graph = { view: { x: 0, y: 0, k: 1 }, layer: null, nodes: new Map(), book: null, svg: null };

function layout(book) {
  const preds = new Map(), succs = new Map();
  for (const n of book.graph.nodes) { preds.set(n.id, []); succs.set(n.id, []); }
  for (const e of book.graph.edges) { preds.get(e.to).push(e.from); succs.get(e.from).push(e.to); }
  const depth = new Map();
  const visit = (id) => {
    if (depth.has(id)) return depth.get(id);
    depth.set(id, 0);  // the compiler refuses cycles; this only guards the walk
    const d = preds.get(id).length ? 1 + Math.max(...preds.get(id).map(visit)) : 0;
    depth.set(id, d);
    return d;
  };
  book.graph.nodes.forEach((n) => visit(n.id));
  const lastData = Math.max(0, ...book.graph.nodes.filter((n) => n.kind !== "rule").map((n) => depth.get(n.id)));
  const columns = [];
  for (const n of book.graph.nodes) {
    const column = n.kind === "rule" ? lastData + 1 : depth.get(n.id);
    (columns[column] = columns[column] || []).push(n);
  }
  const order = { param: 0, codeset: 1, phrases: 2, table: 3, let: 4, rule: 5 };
  const place = new Map();
  columns.forEach((column, c) => {
    (column || []).sort((a, b) => (order[a.kind] - order[b.kind]) || a.name.localeCompare(b.name));
    (column || []).forEach((n, r) => place.set(n.id, { x: c * (NODE_W + COL_GAP), y: r * (NODE_H + ROW_GAP) }));
  });
  return { preds, succs, place };
}

function applyView() {
  const v = graph.view;
  graph.layer.setAttribute("transform", `translate(${v.x} ${v.y}) scale(${v.k})`);
}

function zoom(factor, cx, cy) {
  const v = graph.view;
  const k = Math.min(3, Math.max(0.15, v.k * factor));
  v.x = cx - (cx - v.x) * (k / v.k);
  v.y = cy - (cy - v.y) * (k / v.k);
  v.k = k;
  applyView();
}

function upstream(id, preds) {
  const seen = new Set();
  const stack = [...preds.get(id)];
  while (stack.length) {
    const next = stack.pop();
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...preds.get(next));
  }
  return seen;
}

function selectNode(id, shape) {
  const inputs = upstream(id, shape.preds);
  for (const [nodeId, g] of graph.nodes) {
    g.classList.toggle("selected", nodeId === id);
    g.classList.toggle("input", inputs.has(nodeId));
    g.classList.toggle("dim", nodeId !== id && !inputs.has(nodeId));
    g.setAttribute("aria-pressed", nodeId === id ? "true" : "false");
  }
  for (const path of graph.layer.querySelectorAll(".edge")) {
    const lit = (path.dataset.to === id || inputs.has(path.dataset.to)) && (inputs.has(path.dataset.from));
    path.classList.toggle("lit", lit);
  }
  const [kind, name] = [id.split(":")[0], id.slice(id.indexOf(":") + 1)];
  const detail = $("graph-detail");
  const direct = shape.preds.get(id);
  const parts = [el("h3", { text: `${kind === "let" ? "definition" : kind} ${name}` })];
  const rule = graph.book.rules.find((r) => `rule:${r.id}` === id);
  if (rule) parts.push(el("p", { text: rule.title }), el("p", {}, el("span", { class: `badge ${rule.severity}`, text: rule.severity }), ` ${rule.citation}`));
  const jump = (target) => el("button", { type: "button", class: "linkish", "data-node": target, text: target });
  parts.push(el("p", { class: "reads-direct", text: direct.length ? "Reads directly:" : "Reads nothing else in the rulebook." }));
  if (direct.length) parts.push(el("ul", {}, direct.map((d) => el("li", {}, jump(d)))));
  const indirect = [...inputs].filter((d) => !direct.includes(d)).sort();
  if (indirect.length) parts.push(el("p", { text: "Through those, also:" }), el("ul", {}, indirect.map((d) => el("li", {}, jump(d)))));
  const users = shape.succs.get(id);
  if (users.length) parts.push(el("p", { text: "Read by:" }), el("ul", {}, users.map((d) => el("li", {}, jump(d)))));
  detail.replaceChildren(...parts);
  for (const button of detail.querySelectorAll("button[data-node]")) {
    button.addEventListener("click", () => { const g = graph.nodes.get(button.dataset.node); if (g) { g.focus(); selectNode(button.dataset.node, shape); } });
  }
}

function centerOn(id, shape) {
  const p = shape.place.get(id);
  const box = graph.svg.getBoundingClientRect();
  const v = graph.view;
  const sx = v.x + p.x * v.k, sy = v.y + p.y * v.k;
  if (sx < 0 || sy < 0 || sx + NODE_W * v.k > box.width || sy + NODE_H * v.k > box.height) {
    v.x = box.width / 2 - (p.x + NODE_W / 2) * v.k;
    v.y = box.height / 2 - (p.y + NODE_H / 2) * v.k;
    applyView();
  }
}

function drawGraph(book) {
  const shape = layout(book);
  const root = svg("svg", { role: "group", "aria-label": `Dependency graph of ${book.id}: ${book.graph.nodes.length} nodes`, tabindex: "0", "aria-describedby": "graph-help" });
  const layer = svg("g");
  root.append(layer);
  graph.svg = root; graph.layer = layer; graph.nodes = new Map(); graph.book = book;
  graph.view = { x: 20, y: 20, k: 0.8 };
  for (const e of book.graph.edges) {
    const a = shape.place.get(e.from), b = shape.place.get(e.to);
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2, mid = (x1 + x2) / 2;
    const path = svg("path", { class: "edge", d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` });
    path.dataset.from = e.from; path.dataset.to = e.to;
    layer.append(path);
  }
  for (const n of book.graph.nodes) {
    const p = shape.place.get(n.id);
    const g = svg("g", { class: `node kind-${n.kind}`, transform: `translate(${p.x} ${p.y})`, tabindex: "0", role: "button",
      "aria-pressed": "false", "aria-label": `${n.kind === "let" ? "definition" : n.kind} ${n.name}: reads ${shape.preds.get(n.id).length}` });
    g.dataset.node = n.id;
    const label = `${n.kind === "let" ? "def" : n.kind} ${n.name}`;
    g.append(svg("rect", { width: NODE_W, height: NODE_H, rx: 6 }));
    const text = svg("text", { x: 8, y: 16 });
    text.textContent = label.length > 34 ? label.slice(0, 33) + "…" : label;
    g.append(text);
    g.addEventListener("click", () => selectNode(n.id, shape));
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); selectNode(n.id, shape); }
    });
    g.addEventListener("focus", () => centerOn(n.id, shape));
    layer.append(g);
    graph.nodes.set(n.id, g);
  }
  let drag = null;
  root.addEventListener("pointerdown", (event) => {
    if (event.target.closest && event.target.closest(".node")) return;
    drag = { x: event.clientX, y: event.clientY, vx: graph.view.x, vy: graph.view.y };
    root.setPointerCapture(event.pointerId);
  });
  root.addEventListener("pointermove", (event) => {
    if (!drag) return;
    graph.view.x = drag.vx + event.clientX - drag.x;
    graph.view.y = drag.vy + event.clientY - drag.y;
    applyView();
  });
  root.addEventListener("pointerup", () => { drag = null; });
  root.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = root.getBoundingClientRect();
    zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  root.addEventListener("keydown", (event) => {
    const step = 60;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[event.key]) {
      event.preventDefault();
      graph.view.x += moves[event.key][0]; graph.view.y += moves[event.key][1];
      applyView();
    } else if (event.key === "+" || event.key === "=" || event.key === "-") {
      event.preventDefault();
      const box = root.getBoundingClientRect();
      zoom(event.key === "-" ? 1 / 1.2 : 1.2, box.width / 2, box.height / 2);
    }
  });
  $("graph-canvas").replaceChildren(root);
  applyView();
  $("graph-detail").replaceChildren(el("p", { class: "hint", text: "Select a node to see what it reads." }));
}

async function showGraph(event) {
  event.preventDefault();
  say("Loading the graph…");
  try {
    const book = await fetchRulebook($("graph-payer").value, $("graph-quarter").value);
    drawGraph(book);
    say(`${book.id}: ${book.graph.nodes.length} nodes, ${book.graph.edges.length} edges.`);
  } catch (error) {
    say(error.message, true);
  }
}

// ------------------------------------------------------------------ wiring

document.addEventListener("DOMContentLoaded", () => {
  showPage(false);
  window.addEventListener("hashchange", () => showPage(true));
  $("check-payer").addEventListener("change", () => fillQuarters($("check-payer"), $("check-quarter")));
  $("rules-payer").addEventListener("change", () => fillQuarters($("rules-payer"), $("rules-quarter")));
  $("graph-payer").addEventListener("change", () => fillQuarters($("graph-payer"), $("graph-quarter")));
  $("quarters-payer").addEventListener("change", () => {
    fillQuarters($("quarters-payer"), $("quarters-old"), 1);
    fillQuarters($("quarters-payer"), $("quarters-new"));
  });
  $("check-file").addEventListener("change", () => openFile($("check-file"), (text) => { $("check-claim").value = text; }));
  $("check-form").addEventListener("submit", runCheck);
  $("rules-form").addEventListener("submit", showRules);
  $("quarters-form").addEventListener("submit", compare);
  $("remit-form").addEventListener("submit", measure);
  $("remit-html").addEventListener("click", downloadReport);
  $("graph-form").addEventListener("submit", showGraph);
  $("token").addEventListener("change", loadPayers);
  loadPayers();
});

// ------------------------------------------------------------------ Remittances

const remit = { body: null };

function readFiles(input) {
  return Promise.all([...input.files].map((file) => file.text().then((text) => ({ name: file.name, text }))));
}

function money(text) {
  const [whole, cents] = String(text).replace("-", "").split(".");
  return `${String(text).startsWith("-") ? "-" : ""}$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${cents}`;
}

function pct(value) { return value === null ? "n/a" : `${(value * 100).toFixed(1)}%`; }

// The charts are the service's own SVG (the HTML report's), parsed as SVG, never as HTML.
function chart(text) {
  if (!text) return null;
  const parsed = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
  return parsed.nodeName === "svg" ? document.importNode(parsed, true) : null;
}

async function measure(event) {
  event.preventDefault();
  const out = $("remit-out");
  if (!$("remit-835").files.length || !$("remit-claims").files.length) {
    say("Choose at least one 835 file and one claims file.", true);
    return;
  }
  say("Measuring…");
  try {
    remit.body = JSON.stringify({ remittances: await readFiles($("remit-835")), claims: await readFiles($("remit-claims")) });
    const { data } = await api("POST", "/v1/remit?charts=svg", remit.body);
    const s = data.summary, m = s.money;
    const cards = [["hit rate", pct(s.hit_rate)], ["false-alarm rate", pct(s.false_alarm_rate)], ["denied", money(m.denied)],
      ["caught", money(m.caught)], ["missed", money(m.missed)], ["no rule can predict", money(m.unpredictable)],
      ["paid on false alarms", money(m.false_alarms_paid)], ["claims measured", String(s.claims_measured)]];
    const figures = [["misses_by_reason", "Misses by reason"], ["false_alarms_by_rule", "False alarms by rule"],
      ["denied_by_quarter", "Denied dollars by quarter"]].map(([key, title]) => {
      const drawing = chart(data.charts[key]);
      return drawing ? el("figure", { class: "remit-chart" }, el("figcaption", { text: title }), drawing) : null;
    });
    out.replaceChildren(
      el("div", { class: "remit-cards" }, cards.map(([k, v]) => el("div", { class: "remit-card" }, el("span", { text: k }), el("b", { text: v })))),
      el("h3", { text: "Top missed denial reasons" }),
      table(["Code", "Family", "Denials", "Amount", "Meaning"], data.top_missed.map((t) => [t.code, t.family, String(t.count), money(t.amount), t.label])),
      el("div", { class: "remit-charts" }, figures),
      el("h3", { text: "Rules" }),
      table(["Rule", "Codes", "Predicted", "Hits", "False alarms", "Other reason", "Hit rate", "False-alarm rate", "$ hits", "$ false alarms"],
        data.rules.map((r) => [r.rule, r.codes.join(" "), String(r.predictions), String(r.hits), String(r.false_alarms),
          String(r.other_reason), pct(r.hit_rate), pct(r.false_alarm_rate), money(r.money.hits), money(r.money.false_alarms)])),
      el("h3", { text: "Misses: denied, no rule predicted it" }),
      table(["Code", "Remarks", "Procedure", "Denials", "Amount", "Claims"],
        data.misses.map((g) => [g.code, g.remarks.join(" "), g.procedure, String(g.count), money(g.amount), g.claims.join(" ")])),
      el("h3", { text: "Denials no rule can predict" }),
      table(["Code", "Family", "Procedure", "Denials", "Amount"],
        data.unpredictable.map((g) => [g.code, g.family, g.procedure, String(g.count), money(g.amount)])));
    $("remit-html").disabled = false;
    const r = data.remittances;
    say(`${s.claims_measured} claims measured; ${r.claim_payments} claim payments read, ${r.warnings} warnings, ${r.errors} errors.`, r.errors > 0);
  } catch (error) {
    say(error.message, true);
  }
}

async function downloadReport() {
  if (!remit.body) return;
  const headers = { "Content-Type": "application/json" };
  const token = $("token").value.trim();
  if (token) headers["Authorization"] = "Bearer " + token;
  const response = await fetch("/v1/remit?format=html", { method: "POST", headers, body: remit.body });
  if (!response.ok) { say(`${response.status} ${response.statusText}`, true); return; }
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "payerlint-remit.html" });
  document.body.append(link);
  link.click();
  link.remove();
}
