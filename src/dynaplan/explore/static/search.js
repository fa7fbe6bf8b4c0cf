// The search view: draws the frames the Python side computes (dynaplan.explore.search_view); no
// planning happens here. A frame holds the tree and the table after a simulation, with the
// simulation's path and every number it changed as it was before the backup, so that its four
// phases can be shown in turn.
const PHASES = ["selection", "expansion", "evaluation", "backup"];
const ORANGE = "#e67e00", BLUE = "#1f6fd1", GREEN = "#2a9d3a", RED = "#d1261f", TEAL = "#7fd3c6";
const state = { frame: null, phase: 3, busy: false, running: false, draws: 0 };
window.searchView = state;

const $ = (id) => document.getElementById(id);
const fmt = (v) => (v === null || v === undefined ? "–" : v.toFixed(3));
const actionName = (a) => (state.frame ? state.frame.actions[a] ?? String(a) : String(a));

async function send(msg) {
  if (state.busy) return false;
  state.busy = true;
  let reply;
  try {
    const response = await fetch("search-api", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(msg),
    });
    reply = await response.json();
  } catch (err) {
    reply = { type: "error", message: `no answer from the dynaplan server (${err})` };
  }
  state.busy = false;
  if (reply.type === "error") {
    $("error").textContent = reply.message;
    stopRunning();
    return false;
  }
  $("error").textContent = "";
  state.frame = reply;
  state.phase = msg.type === "simulate" && state.stepping ? 0 : 3;
  draw();
  return true;
}

// the path's statistics as the current phase shows them: before the backup, or after it
function pathStats(search) {
  const before = state.phase < 3;
  const edges = new Map(), nodes = new Map();
  for (const p of search.path) {
    edges.set(`${p.node},${p.action}`, before ? [p.n_before, p.value_before] : [p.n, p.value]);
    if (before) nodes.set(p.node, [p.node_visits_before, p.node_value_before]);
  }
  return { edges, nodes, before };
}

// -- the state-keyed table, on the world's grid ------------------------------------------------

function drawTable(f) {
  const t = f.table, rows = f.layout, w = rows[0].length, h = rows.length;
  const cv = $("world");
  const size = Math.max(240, Math.min(480, $("left").clientWidth - 2));
  if (cv.width !== size) { cv.width = size; cv.height = Math.round(size * h / w); }
  const g = cv.getContext("2d"), cell = cv.width / w;
  const shown = pathStats(t);
  const stats = new Map();
  for (const p of t.pairs) stats.set(`${p.state},${p.action}`, [p.n, p.value]);
  for (const [key, v] of shown.edges) stats.set(key, v);
  const visits = t.visits.slice();
  for (const [s, v] of shown.nodes) visits[s] = v[0];
  const onPath = new Set(t.path.map((p) => p.node));
  const pathColour = state.phase < 3 ? "#ffd9a8" : "#cfe0fb";
  g.clearRect(0, 0, cv.width, cv.height);
  g.textAlign = "center";
  g.textBaseline = "middle";
  const small = Math.max(8, Math.round(cell / 9));
  rows.forEach((row, r) => [...row].forEach((ch, c) => {
    const s = r * w + c, x = c * cell, y = r * cell;
    g.fillStyle = ch === "H" ? "#345" : ch === "G" ? "#9d9" : onPath.has(s) ? pathColour : "#eef6ff";
    g.fillRect(x + 1, y + 1, cell - 2, cell - 2);
    g.fillStyle = ch === "H" ? "#fff" : "#333";
    g.font = `bold ${small + 2}px system-ui`;
    g.fillText(`${ch}${s}`, x + cell / 2, y + cell / 2 - small * 0.7);
    g.font = `${small}px system-ui`;
    if (visits[s] > 0) g.fillText(`N ${visits[s]}`, x + cell / 2, y + cell / 2 + small * 0.7);
    const at = [[x + cell * 0.17, y + cell / 2], [x + cell / 2, y + cell * 0.84], [x + cell * 0.83, y + cell / 2],
      [x + cell / 2, y + cell * 0.16]];
    for (let a = 0; a < at.length; a += 1) {
      const e = stats.get(`${s},${a}`);
      if (!e || e[0] === 0) continue;
      g.fillStyle = s === t.root_state && a === t.chosen && state.phase >= 3 ? GREEN : ch === "H" ? "#fff" : "#222";
      g.fillText(`${e[0]}`, at[a][0], at[a][1] - small * 0.55);
      g.fillText(fmt(e[1]), at[a][0], at[a][1] + small * 0.55);
    }
  }));
  // the root outlined; the state the expansion added ringed in red
  g.lineWidth = 4;
  g.strokeStyle = ORANGE;
  g.strokeRect((t.root_state % w) * cell + 3, Math.floor(t.root_state / w) * cell + 3, cell - 6, cell - 6);
  if (state.phase >= 1 && t.expanded >= 0) {
    g.strokeStyle = RED;
    g.lineWidth = 3;
    g.beginPath();
    g.arc((t.expanded % w + 0.5) * cell, (Math.floor(t.expanded / w) + 0.5) * cell, cell * 0.3, 0, 2 * Math.PI);
    g.stroke();
  }
  const info = $("table-info");
  info.textContent = `state-keyed table (${t.backup} backups): ${t.pairs.length} pairs visited · ` +
    `action now ${t.chosen >= 0 ? actionName(t.chosen) : "none"}` +
    (state.phase === 2 && t.path.length ? ` · evaluation ${fmt(t.leaf)}` : "");
  info.dataset.pairs = t.pairs.length;
  info.dataset.chosen = t.chosen;
}

// -- the tree ----------------------------------------------------------------------------------

function drawTree(f) {
  const t = f.tree;
  const cv = $("canvas");
  const shown = pathStats(t);
  const hidden = state.phase < 1 ? t.expanded : -1;
  const nodes = t.nodes.filter((n) => n.id !== hidden);
  const maxX = Math.max(1, ...nodes.map((n) => n.x));
  const maxD = Math.max(1, ...nodes.map((n) => n.depth));
  // the canvas follows its column's width, and its height the tree's depth (within bounds)
  const width = Math.max(300, $("right").clientWidth - 2);
  const height = Math.max(320, Math.min(720, 70 + maxD * 90));
  if (cv.width !== width || cv.height !== height) { cv.width = width; cv.height = height; }
  const g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  const dy = Math.min(90, (cv.height - 60) / maxD);
  const dx = (cv.width - 60) / maxX;
  const pos = new Map(nodes.map((n) => [n.id, [30 + n.x * dx, 22 + n.depth * dy]]));
  const edges = new Map(t.edges.map((e) => [`${e.node},${e.action}`, [e.n, e.mean]]));
  for (const [key, v] of shown.edges) edges.set(key, v);
  const pathEdges = new Set(t.path.map((p) => `${p.node},${p.action}`));
  const pathColour = state.phase < 3 ? ORANGE : BLUE;
  const roomy = dx > 34;
  g.textAlign = "center";
  g.textBaseline = "middle";
  // one line per child (an action's chance outcomes are separate children)
  for (const n of nodes) {
    if (n.parent < 0 || !pos.has(n.parent)) continue;
    const key = `${n.parent},${n.action}`;
    const onPath = pathEdges.has(key) && (t.path.some((p) => p.node === n.id) || n.id === t.expanded);
    const chosen = n.parent === 0 && n.action === t.chosen && state.phase >= 3;
    g.strokeStyle = onPath ? pathColour : chosen ? GREEN : "#aaa";
    g.lineWidth = onPath || chosen ? 3 : 1;
    const [x0, y0] = pos.get(n.parent), [x1, y1] = pos.get(n.id);
    g.beginPath();
    g.moveTo(x0, y0);
    g.lineTo(x1, y1);
    g.stroke();
  }
  // an edge with no child node (a terminal outcome, the horizon, a full tree): a stub to a square
  const withChild = new Set(nodes.filter((n) => n.parent >= 0).map((n) => `${n.parent},${n.action}`));
  const stubs = [];
  for (const [key, v] of edges) {
    const [node, a] = key.split(",").map(Number);
    if (withChild.has(key) || !pos.has(node) || v[0] === 0) continue;
    const [x0, y0] = pos.get(node);
    const x1 = x0 + (a - 1.5) * Math.min(dx, 40) * 0.45, y1 = y0 + dy * 0.55;
    stubs.push([key, [x0, y0], [x1, y1]]);
    const onPath = pathEdges.has(key);
    g.strokeStyle = onPath ? pathColour : "#aaa";
    g.lineWidth = onPath ? 3 : 1;
    g.beginPath();
    g.moveTo(x0, y0);
    g.lineTo(x1, y1);
    g.stroke();
    g.fillStyle = "#345";
    g.fillRect(x1 - 3, y1 - 3, 6, 6);
  }
  // edge labels (action, N, mean) at the edge's first child; when crowded only the root's and the path's
  g.font = "10px system-ui";
  const labelled = new Set();
  const label = (key, p0, p1) => {
    const v = edges.get(key);
    if (!v || v[0] === 0 || labelled.has(key)) return;
    const [node, a] = key.split(",").map(Number);
    if (!roomy && node !== 0 && !pathEdges.has(key)) return;
    labelled.add(key);
    const text = `${actionName(a)} ${v[0]} ${fmt(v[1])}`;
    const x = p0[0] + 0.68 * (p1[0] - p0[0]), y = p0[1] + 0.68 * (p1[1] - p0[1]);
    g.fillStyle = "rgba(255,255,255,0.88)";
    const tw = g.measureText(text).width + 4;
    g.fillRect(x - tw / 2, y - 6, tw, 12);
    g.fillStyle = pathEdges.has(key) ? pathColour : node === 0 && a === t.chosen ? GREEN : "#222";
    g.fillText(text, x, y);
  };
  for (const n of nodes) if (n.parent >= 0 && pos.has(n.parent)) label(`${n.parent},${n.action}`, pos.get(n.parent), pos.get(n.id));
  for (const [key, p0, p1] of stubs) label(key, p0, p1);
  // nodes: the state inside, N and mean return below
  const r = Math.max(3, Math.min(12, dx / 2.6));
  for (const n of nodes) {
    const [x, y] = pos.get(n.id);
    const [visits, value] = shown.nodes.get(n.id) ?? [n.visits, n.value];
    g.beginPath();
    g.arc(x, y, r, 0, 2 * Math.PI);
    g.fillStyle = n.id < t.reused ? TEAL : "#fff";
    g.fill();
    const grown = n.id === t.expanded && state.phase >= 1;
    g.lineWidth = grown ? 3 : 1;
    g.strokeStyle = grown ? RED : "#333";
    g.stroke();
    if (r >= 8) {
      g.fillStyle = "#000";
      g.font = "9px system-ui";
      g.fillText(String(n.state), x, y);
    }
    if (roomy || n.id === 0 || grown) {
      g.font = "9px system-ui";
      g.fillStyle = "#444";
      g.fillText(`N ${visits}` + (value === null ? "" : ` ${fmt(value)}`), x, y + r + 7);
    }
  }
  // evaluation: the leaf's value at the end of the path
  if (state.phase === 2 && t.leaf !== null && t.path.length) {
    const last = t.path[t.path.length - 1];
    const end = t.expanded >= 0 ? pos.get(t.expanded) : pos.get(last.node);
    g.font = "bold 12px system-ui";
    g.fillStyle = RED;
    g.fillText(t.expanded >= 0 ? `rollout ${fmt(t.leaf)}` : `leaf ${fmt(t.leaf)}`, end[0], end[1] + r + 20);
  }
}

function drawRoot(f) {
  // the root's edges as the phase shows them (before the backup: the path's first visit of the root)
  const rootEdge = (search, root) => {
    const shown = pathStats(search);
    return (a) => shown.edges.get(`${root},${a}`) ?? [search.root_n[a], search.root_mean[a]];
  };
  const tree = rootEdge(f.tree, 0), table = rootEdge(f.table, f.table.root_state);
  const body = $("root").querySelector("tbody");
  body.textContent = "";
  f.exact.forEach((exact, a) => {
    const tr = document.createElement("tr");
    if (a === f.tree.chosen) tr.classList.add("chosen-tree");
    if (a === f.table.chosen) tr.classList.add("chosen-table");
    const [tn, tm] = tree(a), [bn, bm] = table(a);
    const cells = [[actionName(a), ""], [fmt(exact), ""], [String(tn), "tree"], [fmt(tm), "tree"],
      [String(bn), "table"], [fmt(bm), "table"]];
    for (const [text, cls] of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  });
}

function draw() {
  const f = state.frame;
  if (!f) return;
  state.draws += 1;
  drawTable(f);
  drawTree(f);
  drawRoot(f);
  const t = f.tree;
  const s = f.step;
  const step = s ? ` · last real step (${s.by} acted): ${s.state} -${actionName(s.action)}-> ${s.next_state}` +
    ` (reward ${s.reward}${s.terminated ? ", episode over: reset" : ""})` : "";
  const info = $("info");
  info.textContent = `simulations ${t.simulation} · tree nodes ${t.nodes.length} of ${t.capacity} · root state ` +
    `${t.root_state} · tree's action now ${t.chosen >= 0 ? actionName(t.chosen) : "none"} · nodes kept from ` +
    `the last decision ${t.reused} · horizon ${f.horizon}, gamma ${f.gamma}${step}`;
  info.dataset.simulation = t.simulation;
  info.dataset.nodes = t.nodes.length;
  info.dataset.reused = t.reused;
  info.dataset.phase = state.phase;
  let phase = "";
  if (t.path.length) {
    phase = `phase: ${PHASES[state.phase]}`;
    if (state.phase === 3) phase += ` (returns backed up: ${t.path.map((p) => fmt(p.return)).join(", ")})`;
    if (state.phase === 2) phase += ` (tree ${fmt(t.leaf)}, table ${fmt(f.table.leaf)})`;
  }
  $("phase").textContent = phase;
}

// -- controls ----------------------------------------------------------------------------------

async function nextPhase() {
  if (state.frame && state.frame.tree.path.length && state.phase < 3) {
    state.phase += 1;
    draw();
    return true;
  }
  state.stepping = true;
  return send({ type: "simulate", count: 1 });
}

function stopRunning() {
  state.running = false;
  $("run-btn").textContent = "run";
}

async function run() {
  while (state.running) {
    const pace = Number($("pace").value);
    const t0 = performance.now();
    const ok = pace === 0 ? await nextPhase() : (state.stepping = false, await send({ type: "simulate", count: pace }));
    if (!ok) break;
    const wait = pace === 0 ? 350 : 60;
    await new Promise((done) => setTimeout(done, Math.max(0, wait - (performance.now() - t0))));
  }
  stopRunning();
}

$("phase-btn").addEventListener("click", () => { stopRunning(); nextPhase(); });
for (const b of document.querySelectorAll("button[data-count]")) {
  b.addEventListener("click", () => {
    stopRunning();
    state.stepping = false;
    send({ type: "simulate", count: Number(b.dataset.count) });
  });
}
$("run-btn").addEventListener("click", () => {
  if (state.running) { stopRunning(); return; }
  state.running = true;
  $("run-btn").textContent = "pause";
  run();
});
$("step-tree").addEventListener("click", () => { stopRunning(); send({ type: "step", by: "tree" }); });
$("step-table").addEventListener("click", () => { stopRunning(); send({ type: "step", by: "table" }); });
$("reset-btn").addEventListener("click", () => { stopRunning(); send({ type: "reset", seed: 0 }); });
window.addEventListener("resize", draw);
send({ type: "hello" });
