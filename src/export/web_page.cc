#include "export/web_page.h"

namespace wattson::exporter {
namespace {

// One self-contained page: inline CSS and JS, no external assets. It polls api/v1/snapshot
// (relative, so it also works behind a path prefix) and draws the history on a canvas by hand.
// Data reach the DOM through textContent only, never innerHTML.
constexpr std::string_view kIndexHtml = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wattson</title>
<style>
:root { --fg:#1d232a; --muted:#66707a; --bg:#f6f7f9; --card:#fff; --line:#d9dde2; --meas:#1b7f3b; --est:#b35c00; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; align-items:baseline; gap:1rem; padding:.8rem 1.2rem; background:#20262d; color:#fff; }
header h1 { margin:0; font-size:1.2rem; }
header .status { color:#b9c2cb; font-size:.9rem; }
main { display:grid; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); gap:1rem; padding:1rem 1.2rem; }
section { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:.8rem 1rem; }
section.wide { grid-column:1 / -1; }
h2 { margin:.1rem 0 .6rem; font-size:1rem; }
.big { font-size:2rem; font-weight:600; }
.muted { color:var(--muted); }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:.25rem .4rem; border-bottom:1px solid var(--line); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:22rem; }
th { font-weight:600; color:var(--muted); }
td.num, th.num { text-align:right; }
.badge { display:inline-block; padding:0 .4rem; border-radius:3px; font-size:.8rem; color:#fff; }
.measured { background:var(--meas); }
.estimated { background:var(--est); }
.warn { color:#b00020; }
canvas { width:100%; height:260px; display:block; }
.legend span { display:inline-block; margin-right:.9rem; font-size:.85rem; }
.legend i { display:inline-block; width:.8rem; height:.8rem; margin-right:.3rem; vertical-align:-1px; border-radius:2px; }
</style>
</head>
<body>
<header><h1>wattson</h1><span class="status" id="status">connecting…</span></header>
<main>
<section>
  <h2>Node power</h2>
  <div><span class="big" id="node-watts">–</span> <span class="muted">W</span>
    <span id="node-origin" class="badge"></span></div>
  <div class="muted" id="node-split"></div>
  <table id="zones"><thead><tr><th>zone</th><th>key</th><th class="num">dynamic W</th><th class="num">idle W</th><th>origin</th><th>model</th><th>idle from</th></tr></thead><tbody></tbody></table>
</section>
<section>
  <h2>Models</h2>
  <table id="models"><thead><tr><th>id</th><th>trainer</th><th>trained on</th><th>errors</th><th>inputs</th></tr></thead><tbody></tbody></table>
</section>
<section class="wide">
  <h2>Node power, last minutes</h2>
  <canvas id="chart" width="1200" height="260"></canvas>
  <div class="legend" id="legend"></div>
</section>
<section>
  <h2>Top pods</h2>
  <table id="pods"><thead><tr><th>namespace</th><th>pod</th><th class="num">W</th><th class="num">dynamic W</th><th class="num">energy J</th></tr></thead><tbody></tbody></table>
</section>
<section>
  <h2>Top containers</h2>
  <table id="containers"><thead><tr><th>container</th><th>pod</th><th class="num">W</th><th class="num">dynamic W</th><th class="num">energy J</th></tr></thead><tbody></tbody></table>
</section>
<section>
  <h2>Top processes</h2>
  <table id="processes"><thead><tr><th>pid</th><th>command</th><th>container</th><th class="num">W</th><th class="num">energy J</th></tr></thead><tbody></tbody></table>
</section>
<section>
  <h2>Top VMs</h2>
  <table id="vms"><thead><tr><th>vm</th><th class="num">W</th><th class="num">dynamic W</th><th class="num">energy J</th></tr></thead><tbody></tbody></table>
</section>
</main>
<script>
"use strict";
const POLL_MS = 3000;
const COLORS = ["#2f6fde", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#0b7285", "#e67700", "#495057"];
const colorOf = {};
function zoneColor(z) {
  if (!(z in colorOf)) colorOf[z] = COLORS[Object.keys(colorOf).length % COLORS.length];
  return colorOf[z];
}
function fmt(x, d) { return (typeof x === "number" && isFinite(x)) ? x.toFixed(d === undefined ? 1 : d) : "–"; }
function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}
function badge(tr, origin) {
  const td = cell(tr, "");
  const b = document.createElement("span");
  b.className = "badge " + origin;
  b.textContent = origin;
  td.appendChild(b);
}
function fill(id, rows, render) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(tr, "none yet", "muted");
    td.colSpan = 8;
    body.appendChild(tr);
    return;
  }
  for (const r of rows) {
    const tr = document.createElement("tr");
    render(tr, r);
    body.appendChild(tr);
  }
}
function energy(r) { return (r.dynamic_joules || 0) + (r.idle_joules || 0); }

function render(s) {
  document.getElementById("node-watts").textContent = fmt(s.node.watts);
  const o = document.getElementById("node-origin");
  o.className = "badge " + s.node.origin;
  o.textContent = s.node.origin;
  document.getElementById("node-split").textContent =
      "dynamic " + fmt(s.node.dynamic_watts) + " W · idle " + fmt(s.node.idle_watts) + " W · tick " +
      fmt(s.tick_interval_seconds, 2) + " s";
  fill("zones", s.node.zones, (tr, z) => {
    cell(tr, z.zone); cell(tr, z.key);
    cell(tr, fmt(z.dynamic_watts), "num"); cell(tr, fmt(z.idle_watts), "num");
    badge(tr, z.origin); cell(tr, z.model_id || "–");
    const t = cell(tr, z.idle_method + (z.idle_provisional ? " (provisional)" : ""));
    if (z.idle_provisional) t.className = "warn";
  });
  fill("models", s.models, (tr, m) => {
    cell(tr, m.id); cell(tr, m.trainer || "–"); cell(tr, m.training_platform || "–");
    cell(tr, Object.entries(m.errors || {}).map(([k, v]) => k + " " + fmt(v, 2)).join(", ") || "–");
    const t = cell(tr, m.input_out_of_range ? "out of range" : "in range");
    if (m.input_out_of_range) t.className = "warn";
  });
  fill("pods", s.top.pods, (tr, p) => {
    cell(tr, p.namespace); cell(tr, p.name);
    cell(tr, fmt(p.watts), "num"); cell(tr, fmt(p.dynamic_watts), "num"); cell(tr, fmt(energy(p), 0), "num");
  });
  fill("containers", s.top.containers, (tr, c) => {
    cell(tr, c.name || c.id); cell(tr, c.pod || "–");
    cell(tr, fmt(c.watts), "num"); cell(tr, fmt(c.dynamic_watts), "num"); cell(tr, fmt(energy(c), 0), "num");
  });
  fill("processes", s.top.processes, (tr, p) => {
    cell(tr, String(p.pid)); cell(tr, p.command); cell(tr, p.container_id || "host");
    cell(tr, fmt(p.watts), "num"); cell(tr, fmt(energy(p), 0), "num");
  });
  fill("vms", s.top.vms, (tr, v) => {
    cell(tr, v.id); cell(tr, fmt(v.watts), "num"); cell(tr, fmt(v.dynamic_watts), "num");
    cell(tr, fmt(energy(v), 0), "num");
  });
  drawChart(s.history);
}

function drawChart(history) {
  const canvas = document.getElementById("chart");
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 1200, h = canvas.clientHeight || 260;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, h);
  const pts = history.points || [];
  const left = 48, right = 10, top = 10, bottom = 24;
  const pw = w - left - right, ph = h - top - bottom;
  const series = { total: pts.map(p => [p.t, p.watts]) };
  for (const p of pts) {
    for (const [z, v] of Object.entries(p.zones || {})) {
      (series[z] = series[z] || []).push([p.t, v]);
    }
  }
  let maxY = 1;
  for (const s of Object.values(series)) for (const [, v] of s) maxY = Math.max(maxY, v);
  maxY *= 1.1;
  const tMax = pts.length ? pts[pts.length - 1].t : Date.now();
  const tMin = tMax - (history.window_seconds || 600) * 1000;
  const x = t => left + (t - tMin) / (tMax - tMin || 1) * pw;
  const y = v => top + ph - v / maxY * ph;
  g.strokeStyle = "#d9dde2"; g.fillStyle = "#66707a"; g.lineWidth = 1; g.font = "11px system-ui, sans-serif";
  for (let i = 0; i <= 4; i++) {
    const v = maxY * i / 4, yy = y(v);
    g.beginPath(); g.moveTo(left, yy); g.lineTo(left + pw, yy); g.stroke();
    g.fillText(v.toFixed(0) + " W", 4, yy + 4);
  }
  for (let m = 0; m <= 10; m += 2) {
    const xx = x(tMax - m * 60000);
    g.fillText(m === 0 ? "now" : "-" + m + " min", xx - 14, h - 6);
  }
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  for (const [name, s] of Object.entries(series)) {
    const color = name === "total" ? "#1d232a" : zoneColor(name);
    g.strokeStyle = color; g.lineWidth = name === "total" ? 2.5 : 1.5;
    g.beginPath();
    s.forEach(([t, v], i) => { if (i) g.lineTo(x(t), y(v)); else g.moveTo(x(t), y(v)); });
    g.stroke();
    const item = document.createElement("span");
    const sw = document.createElement("i");
    sw.style.background = color;
    item.appendChild(sw);
    item.appendChild(document.createTextNode(name));
    legend.appendChild(item);
  }
  canvas.dataset.points = String(pts.length);
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const r = await fetch("api/v1/snapshot", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const s = await r.json();
    render(s);
    status.textContent = (s.instance ? s.instance + " · " : "") + s.ticks + " ticks · updated " +
        new Date().toLocaleTimeString();
  } catch (e) {
    status.textContent = "cannot reach the agent: " + e.message;
  }
  setTimeout(poll, POLL_MS);
}
poll();
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view IndexHtml() { return kIndexHtml; }

}  // namespace wattson::exporter
