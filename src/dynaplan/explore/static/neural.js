// The neural view: draws the frames the Python side computes (dynaplan.explore.neural_view); no
// planning happens here. A frame holds the state plane's axes, the model's error map, the stored
// transitions, the real trajectory and the last decision: every sampled sequence's imagined path
// (mean over particles) and spread per iteration, the elites by the planner's returns, the plan
// executed in the model and in the true dynamics.
const ORANGE = "#e67e00", BLUE = "#1f6fd1", GREY = "rgba(110,130,135,0.45)";
const MAP_LOW = 0.003, MAP_HIGH = 0.3; // the map's colour scale (share of an axis' range), log
const state = { frame: null, busy: false, running: false, draws: 0, toCanvas: null };
window.neuralView = state;

const $ = (id) => document.getElementById(id);
const fmt = (v, d = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));

async function send(msg) {
  if (state.busy) return false;
  state.busy = true;
  let reply;
  try {
    const response = await fetch("neural-api", {
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
  draw();
  return true;
}

function iterationShown(f) {
  const d = f.decision;
  if (!d) return -1;
  const sel = $("iteration");
  const n = d.iterations.length;
  if (sel.options.length !== n) {
    sel.textContent = "";
    for (let i = 0; i < n; i += 1) {
      const o = document.createElement("option");
      o.value = String(i);
      o.textContent = `iteration ${i + 1} of ${n}`;
      sel.appendChild(o);
    }
    sel.value = String(n - 1);
  }
  return Math.min(Number(sel.value), n - 1);
}

function mapColour(v) {
  const t = Math.max(0, Math.min(1, (Math.log10(Math.max(v, 1e-12)) - Math.log10(MAP_LOW)) /
    (Math.log10(MAP_HIGH) - Math.log10(MAP_LOW))));
  const lo = [251, 251, 244], hi = [91, 42, 134];
  const c = lo.map((a, i) => Math.round(a + t * (hi[i] - a)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function draw() {
  const f = state.frame;
  if (!f) return;
  state.draws += 1;
  const cv = $("plane");
  const width = Math.max(320, Math.min(1100, $("plot").clientWidth - 2));
  const height = Math.round(width * 0.6);
  if (cv.width !== width || cv.height !== height) { cv.width = width; cv.height = height; }
  const g = cv.getContext("2d");
  $("world").value = f.world;
  const [names, low, high] = f.axes;
  const pad = { l: 56, r: 12, t: 12, b: 40 };
  const W = cv.width - pad.l - pad.r, H = cv.height - pad.t - pad.b;
  const X = (x) => pad.l + ((x - low[0]) / (high[0] - low[0])) * W;
  const Y = (y) => pad.t + (1 - (y - low[1]) / (high[1] - low[1])) * H;
  state.toCanvas = (p) => [X(p[0]), Y(p[1])];
  g.clearRect(0, 0, cv.width, cv.height);
  g.save();
  g.beginPath();
  g.rect(pad.l, pad.t, W, H);
  g.clip();
  // the error map
  const kind = $("map").value;
  if (kind !== "none") {
    const m = f.map, vals = m[kind], n = m.xs.length;
    const cw = W / n, ch = H / m.ys.length;
    for (let r = 0; r < m.ys.length; r += 1) {
      for (let c = 0; c < n; c += 1) {
        g.fillStyle = mapColour(vals[r][c]);
        g.fillRect(pad.l + c * cw, pad.t + (m.ys.length - 1 - r) * ch, cw + 0.5, ch + 0.5);
      }
    }
  }
  // the stored transitions
  g.fillStyle = "rgba(20,20,20,0.55)";
  for (const p of f.data) g.fillRect(X(p[0]) - 1, Y(p[1]) - 1, 2, 2);
  // a path over the plane; an angle's jump across +-pi breaks the line
  const path = (pts, colour, lineWidth, dash = []) => {
    g.strokeStyle = colour;
    g.lineWidth = lineWidth;
    g.setLineDash(dash);
    g.beginPath();
    pts.forEach((p, i) => {
      const jump = i > 0 && f.angle && Math.abs(p[0] - pts[i - 1][0]) > Math.PI;
      if (i === 0 || jump) g.moveTo(X(p[0]), Y(p[1])); else g.lineTo(X(p[0]), Y(p[1]));
    });
    g.stroke();
    g.setLineDash([]);
  };
  // the particles' spread: an ellipse per step, one standard deviation along each axis
  const band = (pts, spread, colour) => {
    g.fillStyle = colour;
    pts.forEach((p, i) => {
      const rx = (spread[i][0] / (high[0] - low[0])) * W, ry = (spread[i][1] / (high[1] - low[1])) * H;
      g.beginPath();
      g.ellipse(X(p[0]), Y(p[1]), Math.max(rx, 1.5), Math.max(ry, 1.5), 0, 0, 2 * Math.PI);
      g.fill();
    });
  };
  const d = f.decision;
  const shown = iterationShown(f);
  const info = $("info");
  if (d) {
    const it = d.iterations[shown];
    const elite = new Set(it.elites);
    it.trajectories.forEach((pts, i) => { if (!elite.has(i)) path(pts, GREY, 1); });
    for (const i of it.elites) band(it.trajectories[i], it.spread[i], "rgba(230,126,0,0.16)");
    for (const i of it.elites) path(it.trajectories[i], ORANGE, 2);
    band(d.planned, d.planned_spread, "rgba(31,111,209,0.16)");
    path(d.planned, BLUE, 2.5);
    path(d.planned_true, BLUE, 2, [6, 4]);
  }
  path(f.real, "#111", 2.5);
  const now = f.real[f.real.length - 1];
  g.fillStyle = "#111";
  g.beginPath();
  g.arc(X(now[0]), Y(now[1]), 4.5, 0, 2 * Math.PI);
  g.fill();
  if (d) {
    g.strokeStyle = "#111";
    g.lineWidth = 2;
    g.beginPath();
    g.arc(X(d.start[0]), Y(d.start[1]), 8, 0, 2 * Math.PI);
    g.stroke();
    // the elites' ends, drawn last: where the best imagined sequences lead
    const it = d.iterations[shown];
    g.fillStyle = ORANGE;
    for (const i of it.elites) {
      const end = it.trajectories[i][it.trajectories[i].length - 1];
      g.beginPath();
      g.arc(X(end[0]), Y(end[1]), 4, 0, 2 * Math.PI);
      g.fill();
    }
  }
  g.restore();
  // axes
  g.strokeStyle = "#444";
  g.lineWidth = 1;
  g.strokeRect(pad.l, pad.t, W, H);
  g.fillStyle = "#222";
  g.font = "11px system-ui";
  g.textAlign = "center";
  g.textBaseline = "top";
  for (let k = 0; k <= 4; k += 1) {
    const x = low[0] + (k / 4) * (high[0] - low[0]);
    g.fillText(fmt(x, 2), X(x), pad.t + H + 4);
  }
  g.fillText(names[0], pad.l + W / 2, pad.t + H + 20);
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (let k = 0; k <= 4; k += 1) {
    const y = low[1] + (k / 4) * (high[1] - low[1]);
    g.fillText(fmt(y, Math.abs(high[1]) < 1 ? 3 : 1), pad.l - 4, Y(y));
  }
  g.save();
  g.translate(12, pad.t + H / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = "center";
  g.fillText(names[1], 0, 0);
  g.restore();

  const p = f.planner;
  const last = f.returns.length ? ` · last episode's return ${fmt(f.returns[f.returns.length - 1], 1)}` : "";
  const acting = f.planning ? `planning (${p.method}, ${p.population} sequences x ${p.particles} particles, ` +
    `horizon ${p.horizon}, ${p.iterations} iterations, ${p.elites} elites)` :
    `acting at random until a model is fitted (${f.random_steps} transitions)`;
  info.textContent = `${f.world} · episode ${f.episode + 1}, step ${f.t} · real steps ${f.steps} · stored ` +
    `${f.stored} · fits ${f.fits} (every ${f.fit_every} transitions; held-out error ${fmt(f.holdout_mse, 4)}) · ` +
    `ensemble of ${p.members} · ${acting}` +
    (d ? ` · action ${d.action.map((a) => fmt(a)).join(", ")}, imagined return ${fmt(d.value, 2)}` : "") + last;
  Object.assign(info.dataset, {
    steps: f.steps, stored: f.stored, fits: f.fits, episode: f.episode, planning: f.planning,
    iteration: shown, elites: d ? d.iterations[shown].elites.join(",") : "",
    sequences: d ? d.iterations[shown].trajectories.length : 0, draws: state.draws,
  });
}

// -- controls ----------------------------------------------------------------------------------

function stopRunning() {
  state.running = false;
  $("run-btn").textContent = "run";
}

async function run() {
  while (state.running) {
    const t0 = performance.now();
    if (!(await send({ type: "step", count: 1 }))) break;
    await new Promise((done) => setTimeout(done, Math.max(0, 60 - (performance.now() - t0))));
  }
  stopRunning();
}

for (const b of document.querySelectorAll("button[data-count]")) {
  b.addEventListener("click", () => { stopRunning(); send({ type: "step", count: Number(b.dataset.count) }); });
}
$("run-btn").addEventListener("click", () => {
  if (state.running) { stopRunning(); return; }
  state.running = true;
  $("run-btn").textContent = "pause";
  run();
});
$("fit-btn").addEventListener("click", () => { stopRunning(); send({ type: "fit" }); });
$("reset-btn").addEventListener("click", () => { stopRunning(); send({ type: "reset", seed: 0, world: $("world").value }); });
$("world").addEventListener("change", () => { stopRunning(); send({ type: "reset", seed: 0, world: $("world").value }); });
$("map").addEventListener("change", draw);
$("iteration").addEventListener("change", draw);
window.addEventListener("resize", draw);
send({ type: "hello" });
