// The search view: draws the frames the Python side computes (dynaplan.explore.search_view);
// no planning happens here. One frame per simulation; its four phases are shown in turn.
const ACTIONS = ["L", "D", "R", "U"];
const PHASES = ["selection", "expansion", "evaluation", "backup"];
const state = { frame: null, phase: 3, busy: false };
window.searchView = state;

async function send(msg) {
  if (state.busy) return;
  state.busy = true;
  let reply;
  try {
    const response = await fetch("search-api", { method: "POST", headers: { "Content-Type": "application/json" },
                                                 body: JSON.stringify(msg) });
    reply = await response.json();
  } catch (err) {
    reply = { type: "error", message: `no answer from the dynaplan server (${err})` };
  }
  state.busy = false;
  if (reply.type === "error") {
    document.getElementById("error").textContent = reply.message;
    return;
  }
  document.getElementById("error").textContent = "";
  state.frame = reply;
  state.phase = msg.type === "simulate" && msg.count === 1 && state.stepping ? 0 : 3;
  draw();
}

function onPath(f, node, a) {
  return f.path.findIndex((p) => p[0] === node && p[1] === a);
}

// statistics as the phase shows them: before the backup, the path's edges have one visit less
function edgeStats(f, node, a, n, mean) {
  const k = onPath(f, node, a);
  if (k < 0 || state.phase >= 3) return [n, mean];
  if (n <= 1) return [0, null];
  return [n - 1, (n * mean - f.path[k][2]) / (n - 1)];
}

// the state-keyed table on the world's grid: each cell a state, its four actions' N and mean
// at its sides (L left, D bottom, R right, U top); the root outlined, the last path in orange
function drawTable(f) {
  const cv = document.getElementById("world");
  const g = cv.getContext("2d");
  const t = f.table, rows = f.layout, w = rows[0].length, cell = cv.width / w;
  const stats = {};
  for (const r of t.rows) stats[`${r[0]},${r[1]}`] = r;
  const onPath = new Set(t.path.map((p) => p[0]));
  g.clearRect(0, 0, cv.width, cv.height);
  g.textAlign = "center";
  g.textBaseline = "middle";
  rows.forEach((row, r) => [...row].forEach((ch, c) => {
    const s = r * w + c, x = c * cell, y = r * cell;
    g.fillStyle = ch === "H" ? "#345" : ch === "G" ? "#9d9" : onPath.has(s) ? "#ffe2bf" : "#eef6ff";
    g.fillRect(x + 1, y + 1, cell - 2, cell - 2);
    g.fillStyle = ch === "H" ? "#fff" : "#333";
    g.font = "bold 12px system-ui";
    g.fillText(`${ch} ${s}`, x + cell / 2, y + cell / 2 - 6);
    g.font = "10px system-ui";
    if (t.visits[s] > 0) g.fillText(`N ${t.visits[s]}`, x + cell / 2, y + cell / 2 + 7);
    const at = [[x + 16, y + cell / 2], [x + cell / 2, y + cell - 14], [x + cell - 16, y + cell / 2],
      [x + cell / 2, y + 14]];
    for (let a = 0; a < 4; a += 1) {
      const e = stats[`${s},${a}`];
      if (!e) continue;
      g.fillStyle = s === t.root_state && a === t.chosen ? "#2a9d3a" : ch === "H" ? "#fff" : "#222";
      g.fillText(`${e[2]}`, at[a][0], at[a][1] - 5);
      g.fillText(e[3].toFixed(2), at[a][0], at[a][1] + 5);
    }
  }));
  const s = t.root_state;
  g.strokeStyle = "#e67e00";
  g.lineWidth = 4;
  g.strokeRect((s % w) * cell + 3, Math.floor(s / w) * cell + 3, cell - 6, cell - 6);
  const info = document.getElementById("table-info");
  info.textContent = `state-keyed table: ${t.rows.length} pairs visited · action now ` +
    `${t.chosen >= 0 ? ACTIONS[t.chosen] : "none"}`;
  info.dataset.pairs = t.rows.length;
}

function draw() {
  const f = state.frame;
  if (!f) return;
  drawTable(f);
  const cv = document.getElementById("canvas");
  const width = Math.max(400, document.getElementById("tree").clientWidth - 4);
  cv.width = width;
  const g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  const hidden = state.phase < 1 ? f.expanded : -1;
  const nodes = f.nodes.filter((n) => n[0] !== hidden);
  const maxX = Math.max(1, ...nodes.map((n) => n[6]));
  const maxD = Math.max(1, ...nodes.map((n) => n[5]));
  const dy = Math.min(70, (cv.height - 40) / maxD);
  const dx = (cv.width - 60) / maxX;
  const pos = {};
  for (const n of nodes) pos[n[0]] = [30 + n[6] * dx, 20 + n[5] * dy];
  const labels = dx > 26;
  const edges = {};
  for (const e of f.edges) edges[`${e[0]},${e[1]}`] = e;
  g.textAlign = "center";
  g.textBaseline = "middle";
  // edges (to each child node; an edge with several chance outcomes draws one line per outcome);
  // the path's children: the next node on the path, and the expanded node at its end
  const onRoute = new Set(f.path.slice(1).map((p) => p[0]));
  if (f.expanded >= 0) onRoute.add(f.expanded);
  for (const n of nodes) {
    if (n[1] < 0) continue;
    const [x0, y0] = pos[n[1]], [x1, y1] = pos[n[0]];
    const k = onRoute.has(n[0]) ? 0 : -1;
    const chosen = n[1] === 0 && n[2] === f.chosen && state.phase >= 3;
    g.strokeStyle = k >= 0 ? (state.phase >= 3 ? "#1f6fd1" : "#e67e00") : chosen ? "#2a9d3a" : "#aaa";
    g.lineWidth = k >= 0 || chosen ? 3 : 1;
    g.beginPath();
    g.moveTo(x0, y0);
    g.lineTo(x1, y1);
    g.stroke();
  }
  // edges with no child node (a terminal outcome, or a full tree): a short stub ending in a square
  const withChild = new Set(nodes.filter((n) => n[1] >= 0).map((n) => `${n[1]},${n[2]}`));
  const stubs = {};
  for (const e of f.edges) {
    const key = `${e[0]},${e[1]}`;
    if (withChild.has(key) || !pos[e[0]]) continue;
    const [x0, y0] = pos[e[0]];
    const x1 = x0 + (e[1] - 1.5) * Math.min(dx, 40) * 0.45, y1 = y0 + dy * 0.55;
    stubs[key] = [x0, y0, x1, y1];
    const k = onPath(f, e[0], e[1]);
    g.strokeStyle = k >= 0 ? (state.phase >= 3 ? "#1f6fd1" : "#e67e00") : "#aaa";
    g.lineWidth = k >= 0 ? 3 : 1;
    g.beginPath();
    g.moveTo(x0, y0);
    g.lineTo(x1, y1);
    g.stroke();
    g.fillStyle = "#345";
    g.fillRect(x1 - 3, y1 - 3, 6, 6);
  }
  // edge labels: action, N and mean at the edge's first child
  g.font = "10px system-ui";
  const labelled = new Set();
  for (const n of nodes) {
    if (n[1] < 0) continue;
    const key = `${n[1]},${n[2]}`;
    if (labelled.has(key) || !edges[key]) continue;
    labelled.add(key);
    label(edges[key], pos[n[1]], pos[n[0]]);
  }
  for (const [key, s] of Object.entries(stubs)) label(edges[key], [s[0], s[1]], [s[2], s[3]]);

  function label(e, p0, p1) {
    const [nv, mv] = edgeStats(f, e[0], e[1], e[2], e[3]);
    if (!labels && onPath(f, e[0], e[1]) < 0 && e[0] !== 0) return;
    const [x0, y0] = p0, [x1, y1] = p1;
    const text = `${ACTIONS[e[1]] ?? e[1]} ${nv}` + (mv === null ? "" : ` ${mv.toFixed(2)}`);
    g.fillStyle = "rgba(255,255,255,0.85)";
    const w = g.measureText(text).width + 4;
    g.fillRect((x0 + x1) / 2 - w / 2, (y0 + y1) / 2 - 6, w, 12);
    g.fillStyle = "#222";
    g.fillText(text, (x0 + x1) / 2, (y0 + y1) / 2);
  }
  // nodes
  const r = Math.max(3, Math.min(13, dx / 2.4));
  for (const n of nodes) {
    const [x, y] = pos[n[0]];
    g.beginPath();
    g.arc(x, y, r, 0, 2 * Math.PI);
    g.fillStyle = n[0] < f.reused ? "#7fd3c6" : "#fff";
    g.fill();
    g.lineWidth = n[0] === f.expanded ? 3 : 1;
    g.strokeStyle = n[0] === f.expanded ? "#d1261f" : "#333";
    g.stroke();
    if (r >= 9) {
      g.fillStyle = "#000";
      g.font = "9px system-ui";
      g.fillText(String(n[3]), x, y);
    }
  }
  // evaluation: the leaf's value at the end of the path
  if (state.phase === 2 && f.leaf !== null && f.path.length) {
    const end = f.expanded >= 0 ? pos[f.expanded] : pos[f.path[f.path.length - 1][0]];
    g.font = "bold 12px system-ui";
    g.fillStyle = "#d1261f";
    g.fillText(`rollout ${f.leaf.toFixed(3)}`, end[0], end[1] + r + 10);
  }
  const step = f.step ? ` · last real step: ${f.step.state} -${ACTIONS[f.step.action]}-> ${f.step.next_state}` +
    ` (reward ${f.step.reward}${f.step.terminated ? ", episode over" : ""})` : "";
  const info = document.getElementById("info");
  info.textContent = `simulations ${f.simulation} · nodes ${f.nodes.length} · root state ${f.root_state} · ` +
    `action now ${f.chosen >= 0 ? ACTIONS[f.chosen] : "none"} · kept from the last decision ${f.reused}${step}`;
  info.dataset.simulation = f.simulation;
  info.dataset.nodes = f.nodes.length;
  info.dataset.reused = f.reused;
  const phase = f.path.length ? PHASES[state.phase] : "";
  document.getElementById("phase").textContent = phase ? `phase: ${phase}` +
    (state.phase === 3 ? ` (returns ${f.path.map((p) => p[2].toFixed(3)).join(", ")})` : "") : "";
}

document.getElementById("phase-btn").addEventListener("click", () => {
  if (state.frame && state.frame.path.length && state.phase < 3) {
    state.phase += 1;
    draw();
  } else {
    state.stepping = true;
    send({ type: "simulate", count: 1 });
  }
});
for (const b of document.querySelectorAll("button[data-count]")) {
  b.addEventListener("click", () => { state.stepping = false; send({ type: "simulate", count: Number(b.dataset.count) }); });
}
document.getElementById("step-btn").addEventListener("click", () => send({ type: "step" }));
document.getElementById("reset-btn").addEventListener("click", () => send({ type: "reset", seed: 0 }));
window.addEventListener("resize", draw);
send({ type: "hello" });
