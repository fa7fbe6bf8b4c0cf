// dynaplan explorer front end: plain JavaScript and canvases, no build step, nothing fetched.
// It computes no reinforcement learning: it sends small JSON messages to the Python session
// (dynaplan/explore/session.py) and draws the frames it gets back. The same module is the
// anywidget front end (model.send / "msg:custom") and the standalone page's (an HTTP adapter
// with the same two methods, see index.html).

const ACTION_DR = [-1, 1, 0, 0];
const ACTION_DC = [0, 0, -1, 1];
const LANE_COLORS = ["#d62728", "#1f77b4"];
const FLASH_MS = 450;
const PIPELINE = 3;        // step requests in flight while running: a kernel round trip never sets the frame rate
const MIN_LANE_PX = 210;   // two lanes side by side down to this width each, then one at a time with a toggle
const MAX_CELL = 44, MIN_CELL = 6;
const COMPARE_SPEED = 1;
const QUEUE = 6;           // frames that arrive together are drawn one per screen refresh, at most this many behind   // two lanes: one real step every 4 frames, its backups played one after another
const SPEEDS = [
  // [real steps per frame, frames per step]
  [1, 12], [1, 4], [1, 1], [2, 1], [5, 1], [10, 1], [20, 1], [50, 1], [200, 1], [1000, 1],
];

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function heat(v, vmax) {
  // white (0) to deep green (vmax); negative values towards red
  if (!(vmax > 0)) return "#ffffff";
  const x0 = Math.max(-1, Math.min(1, v / vmax));
  const x = Math.sign(x0) * Math.sqrt(Math.abs(x0));  // square root: distant small values stay visible
  if (x >= 0) {
    const r = Math.round(255 - 200 * x), g = Math.round(255 - 90 * x), b = Math.round(255 - 190 * x);
    return `rgb(${r},${g},${b})`;
  }
  const y = -x;
  return `rgb(255,${Math.round(255 - 150 * y)},${Math.round(255 - 150 * y)})`;
}

class Transport {
  // Replies matched by id. Steps may be pipelined (several in flight, answered in order by the
  // session); any other message waits until everything sent before it is answered, and later
  // messages wait for it, so an edit or a configuration never races a step.
  constructor(model) {
    this.model = model;
    // several views of one widget share its messages: start each view's ids far apart
    this.next = 1 + Math.floor(Math.random() * 1e9);
    this.pending = new Map();
    this.gate = Promise.resolve();
    this.inflight = new Set();
    this.onUnsolicited = null;
    this.handler = (msg) => {
      const cb = msg && this.pending.get(msg.id);
      if (cb) { this.pending.delete(msg.id); cb(msg); }
      else if (this.onUnsolicited) this.onUnsolicited(msg);
    };
    model.on("msg:custom", this.handler);
  }
  request(msg, pipelined = false) {
    const go = () => new Promise((resolve) => {
      const id = this.next++;
      this.pending.set(id, resolve);
      this.model.send({ ...msg, id });
    });
    let p;
    if (pipelined) p = this.gate.then(go);
    else {
      p = Promise.all([this.gate, ...this.inflight]).then(go);
      this.gate = p.catch(() => {});
    }
    this.inflight.add(p);
    const done = () => this.inflight.delete(p);
    p.then(done, done);
    return p;
  }
  post(msg) { this.model.send(msg); }  // no reply expected (run, pause, ack)
  close() { if (this.model.off) this.model.off("msg:custom", this.handler); }
}

function render({ model, el }) {
  const T = new Transport(model);
  const state = {
    catalog: {}, layouts: {}, frame: null, running: false, speed: 5, tool: "wall",
    lanes: [], tick: 0, inflight: 0, dirty: false, queue: [], push: false, acked: 0, shown: 0, width: 0,
    stats: { frames: 0, backups: 0, t0: performance.now(), totalFrames: 0, totalBackups: 0 },
    painting: null, destroyed: false, lastFlashAt: 0,
  };
  el.classList.add("dynaplan-explorer");
  const root = h("div", { class: "dp-root", tabindex: "-1", "data-lm-suppress-shortcuts": "true" });
  el.append(root);
  // keys typed in the widget stay in the widget (no notebook shortcut fires: "b" inserts no cell)
  for (const type of ["keydown", "keyup", "keypress"]) root.addEventListener(type, (ev) => ev.stopPropagation());

  // ---- controls ---------------------------------------------------------------------------
  const layoutSel = h("select", { class: "dp-layout", title: "a shipped layout" });
  const layoutText = h("textarea", { class: "dp-layout-text", rows: "6", cols: "24", spellcheck: "false",
    placeholder: "# wall, S start, G goal, . free" });
  const loadText = h("button", { class: "dp-load-text", onclick: () => send({ type: "layout", text: layoutText.value }) },
    "load text");
  const tools = h("span", { class: "dp-tools" });
  for (const t of ["wall", "free", "start", "goal"]) {
    const b = h("button", { class: "dp-tool", "data-tool": t, onclick: () => setTool(t) }, t);
    tools.append(b);
  }
  const seedIn = h("input", { class: "dp-seed", type: "number", value: "0", min: "0", step: "1", title: "seed" });
  const compare = h("input", { class: "dp-compare", type: "checkbox", title: "two agents side by side" });
  const runBtn = h("button", { class: "dp-run", onclick: () => start() }, "run");
  const pauseBtn = h("button", { class: "dp-pause", onclick: () => pause() }, "pause");
  const stepBtn = h("button", { class: "dp-step", onclick: () => { pause(); stepOnce(1); } }, "step");
  const resetBtn = h("button", { class: "dp-reset", onclick: () => { pause(); send({ type: "reset" }); } },
    "reset");
  const speed = h("input", { class: "dp-speed", type: "range", min: "0", max: String(SPEEDS.length - 1), value: "5" });
  const speedLabel = h("span", { class: "dp-speed-label" });
  speed.addEventListener("input", () => setSpeed(Number(speed.value)));
  const applyBtn = h("button", { class: "dp-apply", onclick: () => configure() }, "apply agents");
  const errorBox = h("div", { class: "dp-error", role: "alert" });
  const agentsBox = h("div", { class: "dp-agents" });
  const laneToggle = h("div", { class: "dp-lane-toggle" });
  const lanesBox = h("div", { class: "dp-lanes" });
  const chart = h("canvas", { class: "dp-chart", width: "560", height: "170" });
  const stats = h("div", { class: "dp-stats" });
  compare.addEventListener("change", () => {
    buildAgentForms();
    if (compare.checked) setSpeed(COMPARE_SPEED);
  });
  layoutSel.addEventListener("change", () => { if (layoutSel.value) send({ type: "layout", name: layoutSel.value }); });

  root.append(
    h("div", { class: "dp-bar" }, runBtn, pauseBtn, stepBtn, resetBtn, h("label", {}, " speed ", speed), speedLabel,
      h("label", {}, " seed ", seedIn), h("label", {}, compare, " side by side")),
    h("div", { class: "dp-bar" }, h("span", {}, "draw: "), tools, h("span", {}, "  layout "), layoutSel),
    agentsBox,
    errorBox,
    laneToggle,
    lanesBox,
    h("div", { class: "dp-legend" }, "green: value max_a Q(s, a) · arrows: greedy action · dots: pairs in the learned " +
      "model · orange outline: a planning backup of that pair (played in order, fades) · red wedge: the real step · " +
      "purple box: prioritized sweeping's top queued pairs · ring and line: the agent and its trail. Draw walls " +
      "with the mouse, even while it runs."),
    h("div", { class: "dp-chart-box" }, chart),
    stats,
    h("details", { class: "dp-text" }, h("summary", {}, "layout as text"), layoutText, h("br"), loadText),
  );

  function setSpeed(i) {
    state.speed = i;
    speed.value = String(i);
    const [n, every] = SPEEDS[i];
    speedLabel.textContent = every > 1 ? `1 step / ${every} frames` : `${n} step${n > 1 ? "s" : ""} / frame`;
    if (state.running && state.push) T.post({ type: "run", steps: n, rate: 60 / every });
  }
  function setTool(t) {
    state.tool = t;
    for (const b of tools.children) b.classList.toggle("dp-on", b.dataset.tool === t);
  }
  const ERROR_WORDS = [
    ["configure", "The agents were not changed: "], ["lanes[", "The agents were not changed: "],
    ["layout", "The layout was not loaded: "], ["edit", "The maze was not changed: "],
    ["step", "Could not step: "], ["malformed message", "The explorer could not read a message: "],
    ["refused", "The explorer refused a request: "], ["no answer", "No answer from Python: "],
  ];
  function showError(message) {
    const words = message ? (ERROR_WORDS.find(([k]) => message.startsWith(k)) || [null, ""])[1] : "";
    errorBox.textContent = message ? words + message : "";
    errorBox.style.display = message ? "block" : "none";
  }

  // ---- agents -----------------------------------------------------------------------------
  function paramInput(name, value) {
    let input;
    if (typeof value === "boolean") {
      input = h("input", { type: "checkbox" });
      input.checked = value;
    } else if (typeof value === "number") {
      input = h("input", { type: "number", step: "any", value: String(value) });
    } else {
      input = h("input", { type: "text", value: String(value) });
    }
    input.dataset.param = name;
    input.dataset.kind = typeof value;
    return input;
  }
  function laneForm(i, agent, params) {
    const sel = h("select", { class: "dp-agent", "data-lane": String(i) });
    for (const [name, entry] of Object.entries(state.catalog)) {
      sel.append(h("option", { value: name, title: entry.doc }, name));
    }
    sel.value = agent in state.catalog ? agent : Object.keys(state.catalog)[0];
    const box = h("span", { class: "dp-params" });
    const doc = h("div", { class: "dp-doc" });
    const fill = (values) => {
      box.replaceChildren();
      const entry = state.catalog[sel.value];
      doc.textContent = entry.doc;
      for (const [k, v] of Object.entries(entry.params)) {
        const label = (entry.labels && entry.labels[k]) || k;
        box.append(h("label", { title: k }, `${label} `, paramInput(k, k in values ? values[k] : v)));
      }
    };
    sel.addEventListener("change", () => fill({}));
    fill(params || {});
    const form = h("div", { class: "dp-agent-form" },
      h("div", { class: "dp-agent-row" }, h("span", { class: "dp-swatch", style: `background:${LANE_COLORS[i]}` }), sel,
        box), doc);
    form.read = () => {
      const params = {};
      const defaults = state.catalog[sel.value].params;
      for (const input of box.querySelectorAll("input")) {
        const k = input.dataset.param;
        let v;
        if (input.dataset.kind === "boolean") v = input.checked;
        else if (input.dataset.kind === "number") {
          v = Number(input.value);
          if (input.value.trim() === "" || !Number.isFinite(v)) v = input.value;  // the server names the problem
        } else v = input.value;
        if (v !== defaults[k]) params[k] = v;
      }
      return { agent: sel.value, params };
    };
    return form;
  }
  function buildAgentForms(config) {
    const old = [...agentsBox.querySelectorAll(".dp-agent-form")].map((f) => f.read());
    const lanes = config ? config.lanes : old;
    agentsBox.replaceChildren();
    const n = compare.checked ? 2 : 1;
    for (let i = 0; i < n; i++) {
      const spec = lanes[i] || lanes[0] || { agent: "dyna-q", params: {} };
      agentsBox.append(laneForm(i, spec.agent, spec.params));
    }
    agentsBox.append(applyBtn);
  }
  function inForce() {
    // the agents the session runs now (after a refusal the form goes back to these)
    return { lanes: state.frame.lanes.map((l) => ({ agent: l.agent, params: l.params })) };
  }
  async function configure() {
    const lanes = [...agentsBox.querySelectorAll(".dp-agent-form")].map((f) => f.read());
    const seed = Number(seedIn.value);
    const reply = await send({ type: "configure", lanes, seed: Number.isInteger(seed) ? seed : seedIn.value });
    if (reply.type === "error" && state.frame) {
      compare.checked = state.frame.lanes.length > 1;
      seedIn.value = String(state.frame.seed);
      buildAgentForms(inForce());
    } else if (reply.type === "frame" && reply.lanes.length > 1 && state.speed > COMPARE_SPEED) setSpeed(COMPARE_SPEED);
    return reply;
  }

  // ---- lanes (one canvas per agent), sized to the width the widget is given ----------------
  function available() {
    return Math.max(200, Math.floor(root.clientWidth || el.clientWidth || 600));
  }
  function geometry(frame) {
    const W = available(), n = frame.lanes.length, gap = 16;
    const sideBySide = n === 1 || W >= n * MIN_LANE_PX + (n - 1) * gap;
    const laneW = sideBySide ? Math.floor((W - (n - 1) * gap) / n) - 4 : W - 4;
    const cell = Math.max(MIN_CELL, Math.min(MAX_CELL, Math.floor(laneW / frame.cols)));
    return { W, sideBySide, cell };
  }
  function buildLanes(frame) {
    lanesBox.replaceChildren();
    state.lanes = [];
    const g = geometry(frame);
    state.width = g.W;
    lanesBox.classList.toggle("dp-one-at-a-time", !g.sideBySide);
    frame.lanes.forEach((lane, i) => {
      const canvas = h("canvas", { class: "dp-maze", "data-lane": String(i), width: String(frame.cols * g.cell),
        height: String(frame.rows * g.cell) });
      const title = h("div", { class: "dp-lane-title" });
      const counters = h("div", { class: "dp-counters", "data-lane": String(i) });
      const extra = h("div", { class: "dp-extra" });
      const box = h("div", { class: "dp-lane", "data-lane": String(i) }, title, canvas, counters, extra);
      lanesBox.append(box);
      const L = { box, canvas, title, counters, extra, cell: g.cell,
        lastFlash: new Float64Array(frame.rows * frame.cols * 4).fill(-1e9),
        lastDirect: new Float64Array(frame.rows * frame.cols * 4).fill(-1e9), data: lane };
      state.lanes.push(L);
      canvas.addEventListener("pointerdown", (ev) => { canvas.setPointerCapture(ev.pointerId); paint(L, ev, true); });
      canvas.addEventListener("pointermove", (ev) => { if (state.painting) paint(L, ev, false); });
      canvas.addEventListener("pointerup", () => finishPaint());
      canvas.addEventListener("pointercancel", () => finishPaint());
    });
    laneToggle.replaceChildren();
    if (!g.sideBySide) {
      state.shown = Math.min(state.shown, frame.lanes.length - 1);
      frame.lanes.forEach((lane, i) => {
        laneToggle.append(h("button", { class: "dp-show-lane", "data-lane": String(i),
          onclick: () => { state.shown = i; showLanes(); } }, `lane ${i + 1}: ${lane.agent}`));
      });
      laneToggle.append(h("span", { class: "dp-note" }, " (too narrow for both side by side)"));
    }
    showLanes();
    chart.width = Math.max(260, Math.min(g.W - 4, 900));
  }
  function showLanes() {
    const one = lanesBox.classList.contains("dp-one-at-a-time");
    state.lanes.forEach((L, i) => { L.box.style.display = !one || i === state.shown ? "" : "none"; });
    for (const b of laneToggle.querySelectorAll("button")) b.classList.toggle("dp-on", Number(b.dataset.lane) === state.shown);
  }
  if (typeof ResizeObserver !== "undefined") {
    new ResizeObserver(() => {
      if (state.frame && Math.abs(available() - state.width) > 8) { buildLanes(state.frame); draw(false); }
    }).observe(root);
  }
  function cellAt(L, ev) {
    const r = L.canvas.getBoundingClientRect();
    const x = (ev.clientX - r.left) * (L.canvas.width / r.width);
    const y = (ev.clientY - r.top) * (L.canvas.height / r.height);
    return [Math.floor(y / L.cell), Math.floor(x / L.cell)];
  }
  function paint(L, ev, first) {
    const [row, col] = cellAt(L, ev);
    const f = state.frame;
    if (row < 0 || col < 0 || row >= f.rows || col >= f.cols) return;
    if (first) state.painting = { cells: [], seen: new Set() };
    if (!state.painting) return;
    const key = row * f.cols + col;
    if (state.painting.seen.has(key)) return;
    state.painting.seen.add(key);
    state.painting.cells.push([row, col]);
    // show the stroke at once; the server's frame is the truth
    for (const M of state.lanes) {
      const ctx = M.canvas.getContext("2d");
      ctx.fillStyle = state.tool === "wall" ? "#333" : state.tool === "goal" ? "#2ca02c" : state.tool === "start"
        ? "#87ceeb" : "#fff";
      ctx.fillRect(col * M.cell + 2, row * M.cell + 2, M.cell - 4, M.cell - 4);
    }
    if (state.tool === "start") finishPaint();
  }
  function finishPaint() {
    const p = state.painting;
    state.painting = null;
    if (p && p.cells.length) send({ type: "edit", tool: state.tool, cells: p.cells });
  }

  function wedge(ctx, c, s, a, cols, inset) {
    const r = Math.floor(s / cols), col = s % cols;
    const cx = col * c + c / 2, cy = r * c + c / 2;
    const px = -ACTION_DR[a], py = ACTION_DC[a];
    const tipx = cx + ACTION_DC[a] * c * (0.5 - inset), tipy = cy + ACTION_DR[a] * c * (0.5 - inset);
    ctx.beginPath();
    ctx.moveTo(cx + ACTION_DC[a] * c * 0.08, cy + ACTION_DR[a] * c * 0.08);
    ctx.lineTo(tipx + px * (c * 0.42 - inset * c), tipy + py * (c * 0.42 - inset * c));
    ctx.lineTo(tipx - px * (c * 0.42 - inset * c), tipy - py * (c * 0.42 - inset * c));
    ctx.closePath();
  }
  function drawLane(L, now) {
    const f = state.frame, lane = L.data, c = L.cell, ctx = L.canvas.getContext("2d");
    const n = f.rows * f.cols;
    let vmax = 0;
    for (let s = 0; s < n; s++) vmax = Math.max(vmax, Math.abs(lane.v[s]));
    ctx.clearRect(0, 0, L.canvas.width, L.canvas.height);
    for (let r = 0; r < f.rows; r++) {
      for (let col = 0; col < f.cols; col++) {
        const s = r * f.cols + col, ch = f.layout[r][col];
        const x = col * c, y = r * c;
        if (ch === "#") { ctx.fillStyle = "#333"; ctx.fillRect(x, y, c, c); continue; }
        ctx.fillStyle = ch === "G" ? "#8fd18f" : heat(lane.v[s], vmax);
        ctx.fillRect(x, y, c, c);
        ctx.strokeStyle = "#ddd"; ctx.lineWidth = 1; ctx.strokeRect(x + 0.5, y + 0.5, c - 1, c - 1);
      }
    }
    // the real step: a light red wedge; planning backups: an orange outline that fades, so the
    // value's colour under it stays visible
    for (let p = 0; p < n * 4; p++) {
      const age = now - L.lastFlash[p];
      const dage = now - L.lastDirect[p];
      const flash = age >= 0 && age <= FLASH_MS, direct = dage >= 0 && dage <= FLASH_MS;
      if (!flash && !direct) continue;
      const s = Math.floor(p / 4), a = p % 4;
      if (direct) {
        wedge(ctx, c, s, a, f.cols, 0.04);
        ctx.fillStyle = `rgba(214,39,40,${0.28 * (1 - dage / FLASH_MS)})`; ctx.fill();
      }
      if (flash) {
        wedge(ctx, c, s, a, f.cols, 0.06);
        ctx.strokeStyle = `rgba(255,120,0,${0.95 * (1 - age / FLASH_MS)})`;
        ctx.lineWidth = Math.max(1.2, c * 0.06); ctx.stroke();
      }
    }
    for (let r = 0; r < f.rows; r++) {
      for (let col = 0; col < f.cols; col++) {
        const s = r * f.cols + col, ch = f.layout[r][col];
        const x = col * c, y = r * c;
        if (ch === "#") continue;
        // the learned model: a tick toward each tried action (Dyna-Q+: darker = tried longer ago)
        if (lane.tried) {
          const mask = lane.tried[s];
          for (let a = 0; a < 4; a++) {
            if (!(mask & (1 << a))) continue;
            let alpha = 0.55;
            if (lane.tau) alpha = 0.25 + 0.7 * Math.min(1, Math.sqrt(lane.tau[s * 4 + a]) / 40);
            ctx.fillStyle = `rgba(90,90,90,${alpha})`;
            const tx = x + c / 2 + ACTION_DC[a] * c * 0.4, ty = y + c / 2 + ACTION_DR[a] * c * 0.4;
            const d = Math.max(1, Math.min(1.5, c / 16));
            ctx.fillRect(tx - d, ty - d, 2 * d, 2 * d);
          }
        }
        if (ch === "S" || ch === "G") {
          ctx.fillStyle = "#222"; ctx.font = `bold ${Math.round(c * 0.45)}px sans-serif`;
          ctx.textAlign = "center"; ctx.textBaseline = "middle"; ctx.fillText(ch, x + c / 2, y + c / 2);
          if (ch === "G") continue;
        }
        const a = lane.arrows[s];
        if (a >= 0 && ch !== "S") {
          const cx = x + c / 2, cy = y + c / 2, len = c * 0.28;
          const ex = cx + ACTION_DC[a] * len, ey = cy + ACTION_DR[a] * len;
          ctx.strokeStyle = "#444"; ctx.fillStyle = "#444"; ctx.lineWidth = Math.max(1, Math.min(1.5, c / 20));
          ctx.beginPath(); ctx.moveTo(cx - ACTION_DC[a] * len, cy - ACTION_DR[a] * len); ctx.lineTo(ex, ey); ctx.stroke();
          const px = -ACTION_DR[a], py = ACTION_DC[a], hw = c * 0.09;
          ctx.beginPath(); ctx.moveTo(ex + ACTION_DC[a] * hw * 1.5, ey + ACTION_DR[a] * hw * 1.5);
          ctx.lineTo(ex + px * hw, ey + py * hw); ctx.lineTo(ex - px * hw, ey - py * hw); ctx.fill();
        }
      }
    }
    // prioritized sweeping: the queue's top pairs outlined in purple
    if (lane.queue) {
      ctx.strokeStyle = "#7b2cbf"; ctx.lineWidth = 2;
      for (const [p] of lane.queue) {
        const s = Math.floor(p / 4), a = p % 4, r = Math.floor(s / f.cols), col = s % f.cols;
        const cx = col * c + c / 2 + ACTION_DC[a] * c * 0.3, cy = r * c + c / 2 + ACTION_DR[a] * c * 0.3;
        ctx.strokeRect(cx - c * 0.12, cy - c * 0.12, c * 0.24, c * 0.24);
      }
    }
    // the trail of real steps and the agent: a ring, so that the S under it stays readable
    const color = LANE_COLORS[state.lanes.indexOf(L)] || "#d62728";
    ctx.strokeStyle = color; ctx.globalAlpha = 0.5; ctx.lineWidth = 2; ctx.beginPath();
    let pen = false;
    for (const s of lane.trail) {
      if (s < 0) { pen = false; continue; }
      const x = (s % f.cols) * c + c / 2, y = Math.floor(s / f.cols) * c + c / 2;
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    }
    ctx.stroke(); ctx.globalAlpha = 1;
    const ax = (lane.pos % f.cols) * c + c / 2, ay = Math.floor(lane.pos / f.cols) * c + c / 2;
    ctx.strokeStyle = "#fff"; ctx.lineWidth = Math.max(2, c * 0.14);
    ctx.beginPath(); ctx.arc(ax, ay, c * 0.34, 0, 2 * Math.PI); ctx.stroke();
    ctx.strokeStyle = color; ctx.lineWidth = Math.max(1.5, c * 0.09); ctx.stroke();
    // nothing to plan back from yet: say so on the canvas
    const k = lane.counters;
    if (vmax === 0 && k.episodes === 0) {
      const text = k.real_steps === 0 ? "no reward seen yet" : "no reward seen yet: a random walk until the goal is " +
        "reached once (planning has nothing to plan back from)";
      ctx.font = `${Math.max(10, Math.min(13, c * 0.4))}px sans-serif`; ctx.textAlign = "left"; ctx.textBaseline = "bottom";
      const words = text.split(" "), lines = [];
      let line = "";
      for (const w of words) {
        const t = line ? line + " " + w : w;
        if (ctx.measureText(t).width > L.canvas.width - 12 && line) { lines.push(line); line = w; } else line = t;
      }
      lines.push(line);
      const lh = Math.max(12, Math.min(16, c * 0.5)), h0 = lines.length * lh + 6;
      ctx.fillStyle = "rgba(255,255,240,0.72)"; ctx.fillRect(0, L.canvas.height - h0, L.canvas.width, h0);
      ctx.fillStyle = "#5a4a00";
      lines.forEach((t, i) => ctx.fillText(t, 6, L.canvas.height - h0 + 3 + (i + 1) * lh));
      L.canvas.dataset.note = "no-reward";
    } else delete L.canvas.dataset.note;
  }

  function cellName(p) {
    const f = state.frame, s = Math.floor(p / 4);
    return `(${Math.floor(s / f.cols)},${s % f.cols}) ${["up", "down", "left", "right"][p % 4]}`;
  }
  function setText(e, text) { if (e.textContent !== text) e.textContent = text; }
  function describeLane(L) {
    const lane = L.data, k = lane.counters;
    const labels = (state.catalog[lane.agent] || {}).labels || {};
    const params = Object.entries(lane.params).filter(([key]) => ["planning_steps", "kappa", "simulations", "theta",
      "alpha"].includes(key)).map(([key, v]) => `${labels[key] || key} ${v}`).join(", ");
    setText(L.title, params ? `${lane.agent}: ${params}` : lane.agent);
    setText(L.counters, `real steps ${k.real_steps} · planning updates ${k.planning_updates} · episodes ${k.episodes}`);
    L.counters.dataset.realSteps = k.real_steps;
    L.counters.dataset.planningUpdates = k.planning_updates;
    L.counters.dataset.episodes = k.episodes;
    const lines = [];
    if (lane.queue) {
      lines.push(`queue: ${lane.queue_length} pairs` + (lane.queue.length ? "; top: " : ""));
      for (const [p, prio] of lane.queue) lines.push(`  ${cellName(p)}  ${prio.toPrecision(3)}`);
    }
    if (lane.root) {
      const v = lane.root.visits.map((x, a) => `${["up", "down", "left", "right"][a]} ${x}`).join(", ");
      lines.push(`MCTS root visits: ${v}`);
      lines.push(`reused from earlier searches: ${(100 * lane.root.reused).toFixed(0)}% of the root's visits; ` +
        `${lane.root.nodes} nodes`);
    }
    if (lane.tau) lines.push("model ticks: darker = tried longer ago (Dyna-Q+ staleness)");
    setText(L.extra, lines.join("\n"));
  }

  function drawChart() {
    const ctx = chart.getContext("2d"), W = chart.width, H = chart.height, m = { l: 48, r: 10, t: 16, b: 26 };
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    const series = state.frame.lanes.map((l) => ({ eps: l.episodes, off: l.episode_offset }));
    let ymax = 10, xmax = 0;
    for (const s of series) {
      for (const y of s.eps) ymax = Math.max(ymax, y);
      xmax = Math.max(xmax, s.off + s.eps.length);
    }
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.beginPath();
    ctx.moveTo(m.l, m.t); ctx.lineTo(m.l, H - m.b); ctx.lineTo(W - m.r, H - m.b); ctx.stroke();
    ctx.fillStyle = "#333"; ctx.font = "11px sans-serif"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ctx.fillText(String(ymax), m.l - 4, m.t); ctx.fillText("0", m.l - 4, H - m.b);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    const xlabel = xmax === 0 ? "episodes (none finished yet)" : xmax === 1 ? "episode 1" : `episodes 1 to ${xmax}`;
    ctx.fillText(xlabel, (m.l + W - m.r) / 2, H - m.b + 8);
    ctx.save(); ctx.translate(12, (m.t + H - m.b) / 2); ctx.rotate(-Math.PI / 2);
    ctx.fillText("steps per episode", 0, -6); ctx.restore();
    const X = (i) => m.l + (W - m.l - m.r) * (i / Math.max(1, xmax - 1));
    const Y = (y) => H - m.b - (H - m.t - m.b) * (y / ymax);
    series.forEach((s, k) => {
      ctx.strokeStyle = LANE_COLORS[k]; ctx.lineWidth = 1.8; ctx.beginPath();
      s.eps.forEach((y, i) => { if (i === 0) ctx.moveTo(X(s.off + i), Y(y)); else ctx.lineTo(X(s.off + i), Y(y)); });
      ctx.stroke();
      if (s.eps.length === 1) { ctx.fillStyle = LANE_COLORS[k]; ctx.fillRect(X(s.off) - 2, Y(s.eps[0]) - 2, 4, 4); }
    });
    chart.dataset.points = String(series.reduce((t, s) => t + s.eps.length, 0));
  }

  function accept(frame) {
    // the page's server answers pipelined steps on several threads: a reply can overtake a later one
    if (state.frame && frame.seq < state.frame.seq) return;
    const now = performance.now();
    const relaid = !state.frame || state.frame.layout.join("\n") !== frame.layout.join("\n");
    const reshape = !state.frame || state.frame.rows !== frame.rows || state.frame.cols !== frame.cols
      || state.frame.lanes.length !== frame.lanes.length;
    state.frame = frame;
    if (reshape) buildLanes(frame);
    // a frame's planning backups are played one after another over the time to the next frame
    const [, every] = SPEEDS[state.speed];
    const spread = state.running ? Math.min(600, every * 1000 / 60) : Math.min(600, 12 * 1000 / 60);
    frame.lanes.forEach((lane, i) => {
      const L = state.lanes[i];
      L.data = lane;
      const k = lane.flashes.length;
      lane.flashes.forEach((p, j) => { L.lastFlash[p] = now + (k > 1 ? spread * j / k : 0); });
      for (const p of lane.direct) L.lastDirect[p] = now;
      if (k || lane.direct.length) state.lastFlashAt = Math.max(state.lastFlashAt, now + spread);
      state.stats.backups += k;
      state.stats.totalBackups += k;
    });
    state.dirty = true;
    if (!relaid) return;  // the text box and the layout menu change only with the layout
    layoutText.value = frame.layout.join("\n");
    const current = frame.layout.join("\n").trim();
    const match = Object.keys(state.layouts).find((n) => state.layouts[n].trim() === current);
    if (match) layoutSel.value = match;
    else {
      if (!layoutSel.querySelector("option[value='']")) layoutSel.prepend(h("option", { value: "" }, "(your own)"));
      layoutSel.value = "";
    }
  }

  function receive(frame) {
    // while running, frames are drawn in order, one per screen refresh (a burst is not drawn as one)
    if (state.running) state.queue.push(frame);
    else { flush(); accept(frame); }
  }
  function flush() { while (state.queue.length) accept(state.queue.shift()); }

  function draw(fresh = true) {
    if (!state.frame) return;
    const now = performance.now();
    for (const L of state.lanes) { drawLane(L, now); describeLane(L); }
    drawChart();
    if (!fresh) return;
    state.dirty = false;
    const st = state.stats;
    st.frames += 1;
    st.totalFrames += 1;
    const dt = (now - st.t0) / 1000;
    if (state.running && dt >= 1) {
      stats.dataset.fps = (st.frames / dt).toFixed(1);
      stats.dataset.backupsPerSecond = (st.backups / dt).toFixed(0);
      stats.textContent = `${stats.dataset.fps} frames/s · ${stats.dataset.backupsPerSecond} planning backups drawn/s`;
      st.frames = 0; st.backups = 0; st.t0 = now;
    }
  }

  async function send(msg, pipelined = false) {
    const reply = await T.request(msg, pipelined);
    if (state.destroyed) return reply;
    if (reply.type === "error") { showError(reply.message); return reply; }
    showError("");
    if (reply.type === "init") {
      state.catalog = reply.agents;
      state.layouts = reply.layouts;
      layoutSel.replaceChildren(...Object.keys(reply.layouts).map((n) => h("option", { value: n }, n)));
      seedIn.value = String(reply.config.seed);
      compare.checked = reply.config.lanes.length > 1;
      buildAgentForms(reply.config);
      state.push = Boolean(reply.pushes);
      if (compare.checked) setSpeed(COMPARE_SPEED);
      accept(reply.frame);
    } else if (reply.type === "frame") receive(reply);
    return reply;
  }
  async function stepOnce(n) { return send({ type: "step", steps: n }); }
  function pause() {
    if (state.running && state.push) T.post({ type: "pause" });
    state.running = false;
    flush();
    stats.textContent = "paused";
    delete stats.dataset.fps;
  }
  function start() {
    if (state.running) return;
    state.running = true;
    state.tick = 0;
    const st = state.stats;
    st.frames = 0; st.backups = 0; st.t0 = performance.now();
    stats.textContent = "running";
    // a notebook kernel pushes the frames itself (run / ack / pause); the page's server is asked
    if (state.push) {
      const [n, every] = SPEEDS[state.speed];
      state.acked = 0;
      T.post({ type: "run", steps: n, rate: 60 / every });
    }
  }
  // one loop for everything: while running, keep PIPELINE step requests in flight (fewer at the slow
  // speeds), and draw whenever a new frame came in or flashes are still fading
  function loop() {
    if (state.destroyed) return;
    if (state.running && !state.push) {
      const [n, every] = SPEEDS[state.speed];
      const depth = every > 1 ? 1 : PIPELINE;
      if (state.tick++ % every === 0) {
        while (state.inflight < depth) {
          state.inflight += 1;
          send({ type: "step", steps: n }, true).then((reply) => {
            state.inflight -= 1;
            if (reply.type === "error") pause();
          });
          if (every > 1) break;
        }
      }
    }
    if (state.queue.length) {
      while (state.queue.length > QUEUE) accept(state.queue.shift());
      accept(state.queue.shift());
    }
    if (state.dirty) {
      draw(true);
      // the kernel keeps pace with what is drawn: it pushes at most a few frames past the last ack
      const drawn = state.frame.push || 0;
      if (drawn - state.acked >= 3) { state.acked = drawn; T.post({ type: "ack", frame: drawn }); }
    }
    else if (state.frame && performance.now() < state.lastFlashAt + FLASH_MS + 50) draw(false);
    requestAnimationFrame(loop);
  }
  requestAnimationFrame(loop);
  setTool("wall");
  setSpeed(state.speed);
  showError("");
  T.onUnsolicited = (msg) => {  // an error for raw text, or a frame stepped from Python (Explorer.step)
    if (msg && msg.type === "error") { showError(msg.message); if (state.push) pause(); }
    else if (msg && msg.type === "frame") {
      receive(msg);
    }
  };
  // the page (or a test) can talk to the session through the same channel
  el.explorer = { send, state, start, pause, draw };
  send({ type: "hello" });
  return () => { pause(); state.destroyed = true; T.close(); };
}

export default { render };
