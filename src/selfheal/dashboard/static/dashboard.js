// selfheal live dashboard: renders the collector's snapshots (server-sent events) as plain SVG.
// No libraries and no network beyond this server, so it works offline.
// With several protected functions it lands on the fleet view; ?function=NAME drills down into one
// function's charts, ?view=fleet shows the fleet whatever its size. Data goes in as text, never as HTML.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const STATE_COLOR = { OK: "#2e9e5b", ALARM: "#d64545", INSUFFICIENT_DATA: "#c9a227" };
const MARGIN = { left: 56, right: 56, top: 8, bottom: 22 };
let latest = null;
const params = new URLSearchParams(window.location.search);
let chosen = params.get("function");
let fleetAsked = params.get("view") === "fleet";

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function clock(t) { return new Date(t * 1000).toISOString().slice(11, 19); }

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  seconds = Math.round(seconds);
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

// An axis for counts: a whole maximum and a tick count that puts every tick on a whole number.
function countAxis(value) {
  const yMax = value <= 4 ? Math.max(1, Math.ceil(value)) : Math.ceil(niceMax(value));
  const ticks = [4, 5, 2, 3].find((n) => n <= yMax && (yMax / n) % 1 === 0) || 1;
  return { yMax, ticks };
}

// One chart frame: clears the SVG, sizes it, returns scales and the drawing group.
function frame(svg, height, snap, yMax, yLabel, ticks = 4) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const width = Math.max(320, svg.clientWidth || svg.parentNode.clientWidth || 900);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const x = (t) => MARGIN.left + ((t - snap.start) / Math.max(1, snap.end - snap.start)) * plotW;
  const y = (v) => MARGIN.top + plotH - (Math.min(v, yMax) / yMax) * plotH;
  const grid = el("g", { class: "grid" }, svg);
  if (yLabel !== null) {
    for (let i = 0; i <= ticks; i++) {
      const v = (yMax * i) / ticks;
      el("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: y(v), y2: y(v) }, grid);
      const label = el("text", { x: MARGIN.left - 6, y: y(v) + 4, "text-anchor": "end" }, svg);
      label.textContent = yLabel(v);
    }
  }
  const span = snap.end - snap.start;
  const step = niceTimeStep(span / 8);
  for (let t = Math.ceil(snap.start / step) * step; t <= snap.end; t += step) {
    el("line", { x1: x(t), x2: x(t), y1: MARGIN.top, y2: MARGIN.top + plotH }, grid);
    const label = el("text", { x: x(t), y: height - 6, "text-anchor": "middle" }, svg);
    label.textContent = clock(t).slice(0, step >= 60 ? 5 : 8);
  }
  const clipId = `clip-${svg.id}`;
  const clip = el("clipPath", { id: clipId }, el("defs", {}, svg));
  el("rect", { x: MARGIN.left, y: 0, width: plotW, height }, clip);
  const body = el("g", { "clip-path": `url(#${clipId})` }, svg);
  return { svg, body, x, y, width, height, plotW, plotH };
}

function niceTimeStep(raw) {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  for (const s of steps) if (s >= raw) return s;
  return 86400;
}

function markerLines(f, snap) {
  for (const m of snap.decisions || []) {
    if (m.t < snap.start || m.t > snap.end) continue;
    el("line", { class: "marker-line", x1: f.x(m.t), x2: f.x(m.t), y1: MARGIN.top, y2: f.height - MARGIN.bottom }, f.body);
  }
}

function markerTip(m) {
  return `${m.kind === "action" ? "Healer action" : "Healer decision"} at ${clock(m.t)}\n` +
    `${m.label}\n${m.reason ? "why: " + m.reason + "\n" : ""}incident ${m.incident} — ${m.status}`;
}

function drawAlarm(snap) {
  const f = frame(document.getElementById("chart-alarm"), 64, snap, 1, null);
  const bandTop = 28, bandH = 14;
  for (const s of snap.segments || []) {
    const x1 = f.x(s.start), x2 = f.x(s.end);
    const rect = el("rect", {
      class: "band", "data-state": s.state, x: x1, y: bandTop, width: Math.max(1, x2 - x1), height: bandH,
      fill: STATE_COLOR[s.state] || "#999", rx: 2,
      "data-tip": `${s.state}\n${clock(s.start)} – ${clock(s.end)} (${duration(s.end - s.start)})`,
    }, f.body);
    // The label sits over the visible part of the band, whole, or not at all.
    const left = Math.max(x1, MARGIN.left), right = Math.min(x2, MARGIN.left + f.plotW);
    const labelW = s.state.length * 7 + 8;
    if (right - left > labelW) {
      const label = el("text", { class: "band-label", x: (left + right) / 2, y: bandTop - 4, "text-anchor": "middle" }, f.svg);
      label.textContent = s.state;
    }
    rect.setAttribute("aria-label", s.state);
  }
  markerLines(f, snap);
  for (const m of snap.decisions || []) {
    if (m.t < snap.start || m.t > snap.end) continue;
    const g = el("g", { class: `marker ${m.kind}`, "data-kind": m.kind, "data-tip": markerTip(m) }, f.svg);
    const cx = f.x(m.t);
    el("path", { d: `M ${cx - 7} ${bandTop + bandH + 12} L ${cx + 7} ${bandTop + bandH + 12} L ${cx} ${bandTop + bandH + 2} Z` }, g);
    el("rect", { x: cx - 9, y: bandTop - 2, width: 18, height: bandH + 16, fill: "transparent" }, g);
  }
}

function barWidth(f, snap) { return Math.max(2, f.x(snap.start + snap.period) - f.x(snap.start) - 2); }

function drawRequests(snap) {
  const points = snap.requests || [];
  const axis = countAxis(Math.max(1, ...points.map((p) => p[1])));
  const f = frame(document.getElementById("chart-requests"), 140, snap, axis.yMax, (v) => `${v}`, axis.ticks);
  const w = barWidth(f, snap);
  for (const [t, v] of points) {
    el("rect", { x: f.x(t) + 1, y: f.y(v), width: w, height: f.y(0) - f.y(v), fill: "#3b6fd8", opacity: 0.8,
      "data-tip": `${clock(t)}: ${v} requests in ${snap.period} s` }, f.body);
  }
  markerLines(f, snap);
}

function drawErrors(snap) {
  const points = snap.errors || [];
  const threshold = snap.alarm ? snap.alarm.threshold : null;
  const axis = countAxis(Math.max(1, threshold !== null ? threshold * 1.5 : 0, ...points.map((p) => p[1])));
  const f = frame(document.getElementById("chart-errors"), 170, snap, axis.yMax, (v) => `${v}`, axis.ticks);
  const w = barWidth(f, snap);
  const rates = new Map((snap.error_rate || []).map((p) => [p[0], p[1]]));
  for (const [t, v] of points) {
    const pct = rates.has(t) ? ` (${rates.get(t).toFixed(0)} % of requests)` : "";
    el("rect", { class: "error-bar", x: f.x(t) + 1, y: f.y(v), width: w, height: f.y(0) - f.y(v), fill: "#d64545",
      opacity: 0.75, "data-tip": `${clock(t)}: ${v} errors in ${snap.period} s${pct}` }, f.body);
  }
  // error rate % on the right axis
  const pctY = (p) => MARGIN.top + f.plotH - (p / 100) * f.plotH;
  const line = (snap.error_rate || []).map((p) => `${f.x(p[0] + snap.period / 2)},${pctY(p[1])}`);
  if (line.length > 1) el("polyline", { points: line.join(" "), fill: "none", stroke: "#e08a1e", "stroke-width": 2 }, f.body);
  for (const p of [0, 50, 100]) {
    const label = el("text", { x: f.width - MARGIN.right + 6, y: pctY(p) + 4 }, f.svg);
    label.textContent = `${p} %`;
  }
  if (threshold !== null) {
    el("line", { id: "threshold-line", x1: MARGIN.left, x2: MARGIN.left + f.plotW, y1: f.y(threshold), y2: f.y(threshold),
      stroke: "#d64545", "stroke-width": 2, "stroke-dasharray": "7 5" }, f.svg);
    const label = el("text", { class: "threshold-label", x: MARGIN.left + 6, y: f.y(threshold) - 5 }, f.svg);
    label.textContent = `alarm threshold ≥ ${threshold}`;
  }
  markerLines(f, snap);
}

function drawFailure(snap) {
  const f = frame(document.getElementById("chart-failure"), 110, snap, 1, (v) => v.toFixed(2));
  const samples = snap.failure_rate || [];
  if (samples.length) {
    let d = `M ${f.x(Math.max(snap.start, samples[0][0]))} ${f.y(samples[0][1])}`;
    for (let i = 1; i < samples.length; i++) d += ` H ${f.x(samples[i][0])} V ${f.y(samples[i][1])}`;
    d += ` H ${f.x(snap.end)}`;
    el("path", { d, fill: "none", stroke: "#7b4fc9", "stroke-width": 2.5 }, f.body);
  }
  markerLines(f, snap);
}

function text(id, value, className) {
  const node = document.getElementById(id);
  node.textContent = value;
  if (className !== undefined) node.className = className;
}

function renderCards(snap) {
  const alarm = snap.alarm;
  text("alarm-state", alarm ? alarm.state : "missing", `value state-${alarm ? alarm.state : "INSUFFICIENT_DATA"}`);
  document.getElementById("alarm-reason").textContent = alarm ? alarm.reason : "";
  document.getElementById("alarm-reason").title = alarm ? alarm.reason : "";
  const fn = snap.function || {};
  text("failure-rate", fn.FAILURE_RATE !== undefined ? fn.FAILURE_RATE : "–");
  const was = fn.PREVIOUS_FAILURE_RATE !== undefined ? ` (was ${fn.PREVIOUS_FAILURE_RATE})` : "";
  text("failure-mode", fn.HEALED_AT ? `healed by ${fn.HEALED_BY || "healer"}${was}` : `mode ${fn.FAILURE_MODE || "–"}`);
  // The last period that has ended: the one still filling would show a partial count.
  const last = snap.last_period || { requests: 0, errors: 0, start: snap.now };
  text("last-requests", String(Math.round(last.requests)));
  text("last-period", `${clock(last.start)}–${clock(last.start + snap.period)}, ${snap.period} s period`);
  text("last-errors", String(Math.round(last.errors)));
  text("threshold", alarm ? `alarm at ≥ ${alarm.threshold} for ${alarm.datapoints_to_alarm} of ${alarm.evaluation_periods}` : "");
  const incidents = snap.incidents || [];
  const recovered = incidents.find((i) => i.recover !== null && i.recover !== undefined);
  text("last-recover", recovered ? duration(recovered.recover) : "–");
  const open = incidents.filter((i) => ["ACTING", "ACTED", "UNVERIFIED", "NEW"].includes(i.status)).length;
  text("incident-count", `${incidents.length} incident(s), ${open} open`);
  text("target", `${snap.names.fragile} on ${snap.target}`);
  text("clock", `cloud time ${clock(snap.now)} UTC`);
}

function renderIncidents(snap) {
  const body = document.querySelector("#incidents tbody");
  body.textContent = "";
  for (const i of snap.incidents || []) {
    const row = body.insertRow();
    row.dataset.status = i.status;
    const cells = [clock(i.alarm_time), i.status, i.decision || "–", duration(i.detect), duration(i.act), duration(i.recover),
      String(Math.round(i.errors_served))];
    cells.forEach((value, index) => {
      const cell = row.insertCell();
      cell.textContent = value;
      if (index === 1) cell.className = `status status-${i.status}`;
    });
    row.title = i.reason || "";
  }
  if (!(snap.incidents || []).length) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = 7; cell.className = "muted"; cell.textContent = "no incidents recorded yet";
  }
  const list = document.getElementById("escalations");
  list.textContent = "";
  for (const e of snap.escalations || []) {
    const item = document.createElement("li");
    item.textContent = `${clock(e.t)} ${e.status}: ${e.reason || "(no reason recorded)"}`;
    list.appendChild(item);
  }
  if (!(snap.escalations || []).length) {
    const item = document.createElement("li");
    item.className = "muted"; item.textContent = "none — the healer handled everything";
    list.appendChild(item);
  }
}

function protectedFunctions(fleet) {
  return ((fleet && fleet.functions) || []).filter((f) => f.function !== null);
}

function currentView(snap) {
  if (chosen) return "function";
  if (fleetAsked || protectedFunctions(snap.fleet).length > 1) return "fleet";
  return "function";
}

function cell(row, value, className) {
  const node = row.insertCell();
  node.textContent = value;
  if (className) node.className = className;
  return node;
}

function renderFleet(fleet) {
  const functions = (fleet && fleet.functions) || [];
  text("fleet-summary", fleet && fleet.registry ? `${protectedFunctions(fleet).length} protected function(s), registry ${fleet.registry}` +
    (fleet.kill_switch && fleet.kill_switch.engaged ? " — kill switch on" : "") : "");
  const problem = document.getElementById("fleet-problem");
  problem.hidden = !(fleet && fleet.error);
  problem.textContent = (fleet && fleet.error) || "";
  const body = document.querySelector("#fleet-table tbody");
  body.textContent = "";
  for (const f of functions) {
    const row = body.insertRow();
    const name = row.insertCell();
    if (f.function === null) {
      name.textContent = "?";
      row.className = "invalid";
    } else {
      row.dataset.function = f.function;
      const link = document.createElement("a");
      link.href = `?function=${encodeURIComponent(f.function)}`;
      link.textContent = f.function + (f.aliases.length ? `:${f.aliases.join(", ")}` : "");
      name.appendChild(link);
    }
    cell(row, f.modes.join(", ") || "–");
    const alarms = row.insertCell();
    for (const a of f.alarms) {
      const item = document.createElement("div");
      item.className = `alarm state-${a.state || "missing"}`;
      item.textContent = `${a.name} ${a.state || "not found"}`;
      item.title = a.signal ? `signal ${a.signal}` : "";
      alarms.appendChild(item);
    }
    if (f.function === null) {
      cell(row, `invalid entry: ${f.problem}`, "status status-FAILED");
      cell(row, "–");
      continue;
    }
    const open = f.open_incident;
    const incident = cell(row, open ? `${open.id} ${open.status}${f.open_incidents > 1 ? ` (+${f.open_incidents - 1} more)` : ""}` : "–",
      open ? `status status-${open.status}` : "muted");
    incident.title = open ? `${open.decision || ""} ${open.reason || ""}`.trim() : "";
    const action = f.last_action;
    const acted = cell(row, action ? `${action.action} ${action.status}${action.at ? " at " + clock(action.at) : ""}` : "–",
      action ? "" : "muted");
    acted.title = action ? `${action.detail || ""} (incident ${action.incident})`.trim() : "";
  }
  if (!functions.length) {
    const empty = body.insertRow().insertCell();
    empty.colSpan = 5; empty.className = "muted"; empty.textContent = "no protected function in the registry";
  }
}

function render(snap) {
  if (!snap) return;
  const view = currentView(snap);
  document.body.dataset.view = view;
  const fleet = snap.fleet || null;
  if (fleet) renderFleet(fleet);
  document.getElementById("fleet").hidden = view !== "fleet";
  document.getElementById("crumbs").hidden = !fleet || view === "fleet";
  document.getElementById("detail").hidden = view === "fleet" || !snap.ready;
  const loading = document.getElementById("loading");
  loading.hidden = view === "fleet" || snap.ready;
  loading.textContent = snap.loading ? `reading the charts of ${snap.loading}…` : "";
  if (view === "fleet" || !snap.ready) {
    if (fleet) text("target", `${protectedFunctions(fleet).length} protected function(s) — fleet`);
    document.body.dataset.version = snap.version;
    return;
  }
  latest = snap;
  text("crumb-function", `› ${snap.names.fragile}`);
  // The controls act on the deployment's own function only.
  document.getElementById("controls").hidden = Boolean(fleet && snap.names.fragile !== fleet.focus);
  renderCards(snap);
  drawAlarm(snap);
  drawRequests(snap);
  drawErrors(snap);
  drawFailure(snap);
  renderIncidents(snap);
  const problems = document.getElementById("problems");
  problems.hidden = !(snap.problems || []).length;
  problems.textContent = (snap.problems || []).join("\n");
  const burst = snap.burst || {};
  text("burst", burst.text || "");
  document.body.dataset.version = snap.version;
}

async function post(path, body, button) {
  const result = document.getElementById("control-result");
  button.disabled = true;
  result.className = "result muted";
  result.textContent = "working…";
  try {
    const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    let data = null;
    try { data = await response.json(); } catch (ignored) { data = null; }
    const ok = response.ok && data !== null && data.ok;
    result.className = `result ${ok ? "ok" : "error"}`;
    result.textContent = data && data.message ? (ok ? data.message : `refused: ${data.message}`)
      : `refused: HTTP ${response.status} ${response.statusText}`;
  } catch (error) {
    result.className = "result error";
    result.textContent = `request failed: ${error}`;
  } finally {
    button.disabled = false;
  }
}

function wireControls() {
  // The browser refuses a value its input does not allow (and then sends nothing): say so.
  for (const form of document.querySelectorAll(".controls form")) {
    form.addEventListener("invalid", (event) => {
      const result = document.getElementById("control-result");
      const name = event.target.closest("label") ? event.target.closest("label").textContent.trim() : event.target.name;
      result.className = "result error";
      result.textContent = `not sent: ${name} — ${event.target.validationMessage}`;
    }, true);
  }
  document.getElementById("form-inject").addEventListener("submit", (event) => {
    event.preventDefault();
    post("/api/inject", { rate: Number(document.getElementById("inject-rate").value), mode: document.getElementById("inject-mode").value }, event.submitter || event.target.querySelector("button"));
  });
  document.getElementById("form-traffic").addEventListener("submit", (event) => {
    event.preventDefault();
    post("/api/traffic", { rate: Number(document.getElementById("traffic-rate").value), duration: Number(document.getElementById("traffic-duration").value) }, event.submitter || event.target.querySelector("button"));
  });
  document.getElementById("form-restore").addEventListener("submit", (event) => {
    event.preventDefault();
    post("/api/restore", {}, event.submitter || event.target.querySelector("button"));
  });
}

function wireTooltip() {
  const tip = document.getElementById("tip");
  document.addEventListener("mouseover", (event) => {
    const target = event.target.closest ? event.target.closest("[data-tip]") : null;
    if (!target) { tip.hidden = true; return; }
    tip.textContent = target.getAttribute("data-tip");
    tip.hidden = false;
  });
  document.addEventListener("mousemove", (event) => {
    if (tip.hidden) return;
    const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    tip.style.left = `${x}px`;
    tip.style.top = `${event.clientY + 14}px`;
  });
}

async function connect() {
  const pill = document.getElementById("connection");
  if (chosen) {
    // A function the server refuses (not protected, a bad name) is said once; the fleet shows instead.
    const response = await fetch(`/api/snapshot?function=${encodeURIComponent(chosen)}`);
    if (!response.ok) {
      let data = null;
      try { data = await response.json(); } catch (ignored) { data = null; }
      const refused = document.getElementById("refused");
      refused.textContent = `cannot show ${chosen}: ${data && data.message ? data.message : "HTTP " + response.status}`;
      refused.hidden = false;
      chosen = null; fleetAsked = true;
    }
  }
  const source = new EventSource(chosen ? `/api/events?function=${encodeURIComponent(chosen)}` : "/api/events");
  source.addEventListener("open", () => { pill.textContent = "live"; pill.className = "pill pill-live"; });
  source.addEventListener("snapshot", (event) => render(JSON.parse(event.data)));
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) return;
    pill.textContent = "reconnecting"; pill.className = "pill pill-down";
  });
  source.addEventListener("stopped", (event) => {
    source.close();
    pill.textContent = "stopped"; pill.className = "pill pill-down";
    const banner = document.getElementById("stopped");
    banner.textContent = JSON.parse(event.data).message;
    banner.hidden = false;
    for (const button of document.querySelectorAll(".controls button")) button.disabled = true;
  });
}

wireControls();
wireTooltip();
window.addEventListener("resize", () => render(latest));
connect();
