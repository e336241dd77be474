// nnlab playground page: draws the frames the server streams, sends every action as a command.
"use strict";
(function () {
  const COLORS = ["#f59322", "#0877bd", "#2ca02c", "#9467bd", "#d62728", "#8c564b", "#e377c2", "#17becf"];
  const RGB = COLORS.map(h => [1, 3, 5].map(i => parseInt(h.slice(i, i + 2), 16)));
  const D = 6;  // the square [-6, 6]^2
  const $ = id => document.getElementById(id);
  const pg = window.pg = {frames: 0, delays: [], frame: null, points: null, meta: null, cls: 0, lastPoint: null,
                          errors: [], curveStart: 0};
  let curves = {step: [], train_loss: [], test_loss: [], train_acc: [], test_acc: []};
  let generation = null, dataVersion = null, lossPlot = null, accPlot = null, editing = null, lastHidden = null,
      lastEdges = null, edgesAt = -1e9, lastGauges = null;

  // ---------------------------------------------------------------- commands
  async function send(cmd) {
    const r = await fetch("/api/command", {method: "POST", headers: {"Content-Type": "application/json"},
                                           body: JSON.stringify(cmd)});
    const res = await r.json();
    showError(res.ok ? "" : res.error);
    if (!res.ok) pg.errors.push(res.error);
    return res;
  }
  pg.send = send;
  function setSetting(path, value) { return send({cmd: "set", settings: {[path]: value}}); }
  function showError(msg) { const e = $("error"); e.textContent = msg || ""; e.hidden = !msg; }

  // ---------------------------------------------------------------- controls
  function fill(sel, options) {
    for (const o of options) { const op = document.createElement("option"); op.value = op.textContent = o; sel.appendChild(op); }
  }
  function getPath(cfg, path) { return path.split(".").reduce((n, k) => n[k], cfg); }
  function readControl(el) {
    if (el.type === "checkbox") return el.checked;
    if (el.tagName === "SELECT") return el.value;
    const v = Number(el.value);
    return el.value.trim() === "" || isNaN(v) ? el.value : v;
  }
  function wireControls() {
    document.querySelectorAll("[data-path]").forEach(el => {
      el.addEventListener("change", () => setSetting(el.dataset.path, readControl(el)));
      el.addEventListener("focus", () => { editing = el; });
      el.addEventListener("blur", () => { if (editing === el) editing = null; });
    });
    $("play").onclick = () => send({cmd: pg.frame && pg.frame.running ? "pause" : "play"});
    $("step").onclick = () => send({cmd: "step", n: 1});
    $("reset").onclick = () => send({cmd: "reset"});
    $("preset").onchange = e => { if (e.target.value) send({cmd: "preset", name: e.target.value}); };
    $("add-layer").onclick = () => editLayers(ls => ls.concat([Object.assign({}, ls[ls.length - 1] ||
      {units: 4, activation: "tanh", init: "xavier", batchnorm: false, dropout: 0, pieces: 2})]));
    $("remove-layer").onclick = () => editLayers(ls => ls.slice(0, -1));
    $("hu0").onchange = $("hu1").onchange = () =>
      setSetting("view.hidden_units", [Number($("hu0").value), Number($("hu1").value)]);
    $("csvfile").onchange = async e => {
      const f = e.target.files[0]; if (!f) return;
      await send({cmd: "import_csv", text: await f.text()}); e.target.value = "";
    };
    $("sessionfile").onchange = async e => {
      const f = e.target.files[0]; if (!f) return;
      await loadSession(await f.text()); e.target.value = "";
    };
    const ov = $("overlay");
    ov.addEventListener("mousedown", e => { drag = true; clickMap(e); });
    ov.addEventListener("mousemove", e => { if (drag && tool() !== "probe") clickMap(e, true); });
    window.addEventListener("mouseup", () => { drag = false; });
  }
  let drag = false, lastDrag = 0;
  async function loadSession(text) {
    let rec;
    try { rec = JSON.parse(text); } catch (err) { showError("the session file is not JSON: " + err); return; }
    const r = await fetch("/api/session", {method: "POST", headers: {"Content-Type": "application/json"},
                                           body: JSON.stringify(rec)});
    const res = await r.json();
    showError(res.ok ? "" : res.error);
    pg.replayed = res;
    return res;
  }
  pg.loadSession = loadSession;
  function tool() { return document.querySelector("input[name=tool]:checked").value; }
  function clickMap(e, dragging) {
    const now = performance.now();
    if (dragging && now - lastDrag < 60) return;
    lastDrag = now;
    const r = e.target.getBoundingClientRect();
    const x = ((e.clientX - r.left) / r.width * 2 - 1) * D, y = (1 - (e.clientY - r.top) / r.height * 2) * D;
    const xr = Math.round(x * 1000) / 1000, yr = Math.round(y * 1000) / 1000;
    const t = tool();
    if (t === "erase") return send({cmd: "erase", x: xr, y: yr, radius: 0.4});
    if (t === "probe") {
      pg.lastPoint = [xr, yr];
      const sel = pg.selected || {layer: 0, unit: 0};
      return send({cmd: "select_unit", layer: sel.layer, unit: sel.unit, x: xr, y: yr});
    }
    const f = pg.frame;
    const label = f && f.regression ? Number($("target").value) : pg.cls;
    return send({cmd: "add_point", x: xr, y: yr, label: label});
  }
  function editLayers(fn) {
    const layers = JSON.parse(JSON.stringify(pg.frame.config.model.layers));
    return setSetting("model.layers", fn(layers));
  }

  // ---------------------------------------------------------------- rendering helpers
  function b64bytes(s) { const bin = atob(s); const a = new Uint8Array(bin.length); for (let i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i); return a; }
  function diverging(v) {  // 0..255, 128 = zero: orange (negative) - white - blue (positive)
    const t = (v - 127.5) / 127.5;
    const c = t < 0 ? RGB[0] : RGB[1], a = Math.abs(t);
    return [255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a];
  }
  function drawMap(canvas, m) {
    const g = m.grid, ctx = canvas.getContext("2d");
    if (m.kind === "curve") {
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.strokeStyle = COLORS[1]; ctx.lineWidth = 2; ctx.beginPath();
      const span = (m.hi - m.lo) * 1.4 || 1, mid = (m.hi + m.lo) / 2;
      m.x.forEach((x, i) => { const px = (x / D + 1) / 2 * canvas.width, py = (0.5 - (m.v[i] - mid) / span) * canvas.height;
        i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
      ctx.stroke(); return;
    }
    const img = new ImageData(g, g);
    if (m.kind === "value") {
      const v = b64bytes(m.value);
      for (let i = 0; i < g * g; i++) { const c = diverging(v[i]); img.data.set([c[0], c[1], c[2], 255], 4 * i); }
    } else {
      const lab = b64bytes(m.label), conf = b64bytes(m.conf);
      for (let i = 0; i < g * g; i++) {
        const c = RGB[lab[i] % RGB.length], a = 0.12 + 0.6 * conf[i] / 255;
        img.data.set([255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a, 255], 4 * i);
      }
    }
    const tmp = document.createElement("canvas"); tmp.width = tmp.height = g;
    tmp.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  }
  function drawPoints() {
    const p = pg.points, f = pg.frame, c = $("overlay"), ctx = c.getContext("2d");
    ctx.clearRect(0, 0, c.width, c.height);
    if (!p || !f) return;
    const sine = f.config.data.dataset === "sine";
    let lo = Infinity, hi = -Infinity;
    if (p.regression) p.label.forEach(v => { lo = Math.min(lo, v); hi = Math.max(hi, v); });
    const span = (hi - lo) * 1.4 || 1, mid = (hi + lo) / 2;
    for (let i = 0; i < p.x.length; i++) {
      const px = (p.x[i] / D + 1) / 2 * c.width;
      const py = sine ? (0.5 - (p.label[i] - mid) / span) * c.height : (1 - p.y[i] / D) / 2 * c.height;
      let col;
      if (p.regression) { const q = diverging(((p.label[i] - lo) / ((hi - lo) || 1)) * 255); col = `rgb(${q[0]},${q[1]},${q[2]})`; }
      else col = COLORS[p.label[i] % COLORS.length];
      ctx.beginPath(); ctx.arc(px, py, 3.6, 0, 2 * Math.PI);
      ctx.fillStyle = col; ctx.fill();
      ctx.lineWidth = p.train[i] ? 1 : 1.6; ctx.strokeStyle = p.train[i] ? "#fff" : "#000"; ctx.stroke();
    }
  }
  function drawUnit(canvas, u, g) {
    const v = b64bytes(u.map);
    if (v.length === g) {  // the 1-D set: the unit's output as a curve over x1 (0 in the middle)
      const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
      ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(0, H / 2); ctx.lineTo(W, H / 2); ctx.stroke();
      ctx.strokeStyle = COLORS[1]; ctx.lineWidth = Math.max(1, W / 40); ctx.beginPath();
      for (let i = 0; i < g; i++) { const x = i / (g - 1) * W, y = H - v[i] / 255 * H; i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); }
      ctx.stroke(); return;
    }
    const img = new ImageData(g, g);
    for (let i = 0; i < g * g; i++) { const c = diverging(v[i]); img.data.set([c[0], c[1], c[2], 255], 4 * i); }
    const tmp = document.createElement("canvas"); tmp.width = tmp.height = g;
    tmp.getContext("2d").putImageData(img, 0, 0);
    const ctx = canvas.getContext("2d"); ctx.imageSmoothingEnabled = true;
    ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  }

  // ---------------------------------------------------------------- network diagram
  const TH = 34, GAP = 6, COLW = 92;
  function drawNetwork(f) {
    const net = $("net"), n = f.network, shown = n.sizes.map(s => Math.min(s, 32));
    const H = Math.max(...shown) * (TH + GAP) + 20, W = COLW * n.sizes.length;
    net.style.height = H + "px"; net.style.width = W + "px";
    const svg = $("edges"); svg.setAttribute("width", W); svg.setAttribute("height", H);
    const pos = shown.map((s, l) => Array.from({length: s}, (_, j) => [l * COLW + 10 + TH / 2, 10 + j * (TH + GAP) + TH / 2]));
    let maxw = 1e-6;
    n.weights.forEach(W => W.forEach(r => r.forEach(w => { maxw = Math.max(maxw, Math.abs(w)); })));
    let html = "";
    n.weights.forEach((Wm, l) => Wm.forEach((row, j) => row.forEach((w, i) => {
      const a = pos[l][i], b = pos[l + 1][j]; if (!a || !b) return;
      const width = 0.3 + 4 * Math.abs(w) / maxw;
      html += `<path d="M${a[0] + TH / 2} ${a[1]} C ${(a[0] + b[0]) / 2} ${a[1]}, ${(a[0] + b[0]) / 2} ${b[1]}, ${b[0] - TH / 2} ${b[1]}" stroke="${w < 0 ? COLORS[0] : COLORS[1]}" stroke-width="${width.toFixed(2)}" fill="none" opacity="0.75"><title>w = ${w}</title></path>`;
    })));
    if (html !== lastEdges && (!f.running || performance.now() - edgesAt > 250)) {  // at most 4 redraws a second while training
      svg.innerHTML = html; lastEdges = html; edgesAt = performance.now();
    }
    // nodes: features (labels), hidden thumbnails, outputs (with their bias, TF Playground hides it)
    const want = shown.map((s, l) => s).join(",") + "|" + f.unit_grid;
    if (net.dataset.layout !== want) {
      net.querySelectorAll(".node").forEach(e => e.remove());
      shown.forEach((s, l) => { for (let j = 0; j < s; j++) {
        const isHidden = l > 0 && l < shown.length - 1;
        const el = document.createElement(isHidden ? "canvas" : "div");
        el.className = "node" + (isHidden ? " unit" : l === 0 ? " feature" : " output");
        if (isHidden) { el.width = el.height = TH; el.dataset.layer = l - 1; el.dataset.unit = j; el.dataset.testid = "unit"; }
        el.style.left = (pos[l][j][0] - TH / 2) + "px"; el.style.top = (pos[l][j][1] - TH / 2) + "px";
        if (l === shown.length - 1) { el.dataset.layer = shown.length - 2; el.dataset.unit = j; }
        if (l > 0) el.onclick = () => selectUnit(Number(el.dataset.layer), Number(el.dataset.unit));
        net.appendChild(el);
      } });
      net.dataset.layout = want;
    }
    const nodes = net.querySelectorAll(".node");
    let k = 0;
    shown.forEach((s, l) => { for (let j = 0; j < s; j++, k++) {
      const el = nodes[k];
      if (l === 0) el.textContent = n.features[j];
      else if (l === shown.length - 1) { el.textContent = f.regression ? "ŷ" : "c" + j; el.title = "output bias " + n.biases[l - 1][j];
        el.style.background = f.regression ? "#ddd" : COLORS[j % COLORS.length]; el.style.color = f.regression ? "#222" : "#fff"; }
      else {
        const u = f.units[l - 1] && f.units[l - 1][j];
        if (u) drawUnit(el, u, f.unit_grid);
        el.title = `layer ${l}, unit ${j}: bias ${n.biases[l - 1][j]}, output range [${u ? u.lo : "?"}, ${u ? u.hi : "?"}]`;
      }
    } });
    $("netsize").textContent = n.sizes.join("-");
  }
  function selectUnit(layer, unit) {
    pg.selected = {layer, unit};
    const p = pg.lastPoint;
    send(p ? {cmd: "select_unit", layer, unit, x: p[0], y: p[1]} : {cmd: "select_unit", layer, unit});
  }
  function drawLayerEditors(f) {
    const box = $("layer-editors"), layers = f.config.model.layers, meta = pg.meta;
    const key = JSON.stringify(layers);
    if (box.dataset.key === key || !meta) return;
    box.dataset.key = key; box.innerHTML = "";
    layers.forEach((L, i) => {
      const row = document.createElement("div"); row.className = "layer-row";
      row.innerHTML = `<b>${i + 1}</b> <button data-d="-1">−</button> <input type="number" min="1" value="${L.units}" size="3" class="units">
        <button data-d="1">+</button> <select class="act"></select> <select class="init"></select>
        <label><input type="checkbox" class="bn"${L.batchnorm ? " checked" : ""}>BN</label>
        <label>drop <input type="number" class="drop" min="0" max="0.95" step="0.05" value="${L.dropout}" size="3"></label>`;
      const act = row.querySelector(".act"), init = row.querySelector(".init");
      fill(act, meta.activations); act.value = L.activation; fill(init, meta.inits); init.value = L.init;
      const upd = patch => editLayers(ls => { Object.assign(ls[i], patch); return ls; });
      row.querySelectorAll("button").forEach(b => b.onclick = () => upd({units: Math.max(1, L.units + Number(b.dataset.d))}));
      row.querySelector(".units").onchange = e => upd({units: Number(e.target.value)});
      act.onchange = () => upd({activation: act.value}); init.onchange = () => upd({init: init.value});
      row.querySelector(".bn").onchange = e => upd({batchnorm: e.target.checked});
      row.querySelector(".drop").onchange = e => upd({dropout: Number(e.target.value)});
      box.appendChild(row);
    });
  }
  function drawFeatures(f) {
    const box = $("features"), key = f.config.features.join(",");
    if (box.dataset.key === key || !pg.meta) return;
    box.dataset.key = key; box.innerHTML = "";
    pg.meta.features.forEach(name => {
      const l = document.createElement("label"); l.className = "feat";
      l.innerHTML = `<input type="checkbox"${f.config.features.includes(name) ? " checked" : ""}> ${name}`;
      l.querySelector("input").onchange = e => {
        const now = new Set(f.config.features); e.target.checked ? now.add(name) : now.delete(name);
        setSetting("features", pg.meta.features.filter(x => now.has(x)));
      };
      box.appendChild(l);
    });
  }
  function drawSwatches(f) {
    const box = $("swatches"), k = f.regression ? 0 : f.classes;
    $("target-label").hidden = !f.regression;
    if (box.childElementCount === k) return;
    box.innerHTML = "";
    for (let c = 0; c < k; c++) {
      const s = document.createElement("button"); s.className = "swatch" + (c === pg.cls ? " on" : "");
      s.style.background = COLORS[c]; s.title = "class " + c; s.textContent = c; s.dataset.cls = c;
      s.onclick = () => { pg.cls = c; box.querySelectorAll(".swatch").forEach(x => x.classList.toggle("on", Number(x.dataset.cls) === c)); };
      box.appendChild(s);
    }
    if (pg.cls >= k) pg.cls = 0;
  }
  function drawHists(f) {
    const box = $("hists");
    while (box.childElementCount > f.histograms.length) box.lastChild.remove();
    f.histograms.forEach((h, i) => {
      let c = box.children[i];
      if (!c) { c = document.createElement("canvas"); c.width = 130; c.height = 50; box.appendChild(c); }
      const ctx = c.getContext("2d"), m = Math.max(1, ...h.counts);
      ctx.clearRect(0, 0, c.width, c.height);
      ctx.fillStyle = "#555"; ctx.font = "9px sans-serif";
      ctx.fillText(`layer ${i + 1}: [${h.lo}, ${h.hi}]`, 2, 9);
      const bw = c.width / (h.counts.length || 1);
      ctx.fillStyle = "#0877bd";
      h.counts.forEach((v, j) => { const bh = v / m * 38; ctx.fillRect(j * bw, c.height - bh, bw - 1, bh); });
    });
  }
  function fmt(v, d = 4) { return v === null || v === undefined ? "–" : Number(v).toPrecision(d); }
  function drawGauges(f) {
    const g = f.gauges, key = JSON.stringify(g);
    if (key === lastGauges) return;  // recomputed on the server about twice a second
    lastGauges = key;
    let html = "<table><tr><th>weights</th><th>update/param</th><th>grad norm</th></tr>";
    for (const k of Object.keys(g.update_ratio)) if (!k.endsWith("bias"))
      html += `<tr><td>${k}</td><td>${fmt(g.update_ratio[k], 2)}</td><td>${fmt(g.grad_norm[k], 3)}</td></tr>`;
    html += "</table><table><tr><th>activation</th><th>dead</th><th>saturated</th></tr>";
    const names = new Set([...Object.keys(g.dead), ...Object.keys(g.saturated)]);
    for (const k of names) html += `<tr><td>${k}</td><td>${g.dead[k] !== undefined ? (100 * g.dead[k]).toFixed(0) + "%" : "–"}</td><td>${g.saturated[k] !== undefined ? (100 * g.saturated[k]).toFixed(0) + "%" : "–"}</td></tr>`;
    html += "</table><ul class='verdicts'>";
    for (const v of g.verdicts) html += `<li class="${v.kind === "ok" ? "ok" : "bad"}"><b>${v.kind}</b> ${v.message}${v.advice ? " → " + v.advice : ""}</li>`;
    $("gauges").innerHTML = html + "</ul>";
  }
  function drawHidden(f) {
    const h = f.hidden, c = $("hidden"), ctx = c.getContext("2d");
    $("probes").innerHTML = f.probes.length ? "Linear-probe test accuracy by layer (least squares on one-hot labels): " +
      f.probes.map((a, i) => `<b>${i === 0 ? "features" : "layer " + i}</b> ${a === null ? "–" : (100 * a).toFixed(1) + "%"}`).join(" · ") : "";
    const key = h.layer + "|" + h.units + "|" + h.grid + "|" + h.points + "|" + (pg.points && pg.points.version);
    if (key === lastHidden) return;  // the server recomputes this view about twice a second
    lastHidden = key;
    ctx.clearRect(0, 0, c.width, c.height);
    const pairs = s => { const v = new Float32Array(b64bytes(s).buffer), out = [];
                         for (let i = 0; i < v.length; i += 2) out.push([v[i], v[i + 1]]); return out; };
    const grid = pairs(h.grid), points = pairs(h.points), all = grid.concat(points);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    all.forEach(([a, b]) => { x0 = Math.min(x0, a); x1 = Math.max(x1, a); y0 = Math.min(y0, b); y1 = Math.max(y1, b); });
    const sx = v => 10 + (v - x0) / ((x1 - x0) || 1) * (c.width - 20), sy = v => c.height - 10 - (v - y0) / ((y1 - y0) || 1) * (c.height - 20);
    ctx.strokeStyle = "rgba(0,0,0,0.25)"; ctx.lineWidth = 1;
    for (let L = 0; L < 2 * h.lines; L++) {
      ctx.beginPath();
      for (let k = 0; k < h.per_line; k++) { const [a, b] = grid[L * h.per_line + k]; k ? ctx.lineTo(sx(a), sy(b)) : ctx.moveTo(sx(a), sy(b)); }
      ctx.stroke();
    }
    const p = pg.points;
    points.forEach(([a, b], i) => {
      ctx.beginPath(); ctx.arc(sx(a), sy(b), 2.5, 0, 2 * Math.PI);
      ctx.fillStyle = p && !p.regression ? COLORS[p.label[i] % COLORS.length] : "#444"; ctx.fill();
    });
    ctx.fillStyle = "#333"; ctx.font = "11px sans-serif";
    ctx.fillText(`layer ${h.layer === 0 ? "0 (features)" : h.layer}: unit ${h.units[0]} → x, unit ${h.units[1]} → y`, 6, 12);
  }
  function drawExplain(f) {
    const e = f.explain, box = $("explain-text");
    if (!e) return;
    let html = `<p><b>${e.output ? "output" : "layer " + (e.layer + 1)} unit ${e.unit}</b> (${e.activation})</p><p class="formula">${e.formula}</p>`;
    if (e.point) {
      const p = e.point, b = e.backward;
      html += `<p>point #${p.index} (${p.x.toFixed(2)}, ${p.y.toFixed(2)}), label ${f.regression ? Number(p.label).toPrecision(4) : p.label}: inputs [${p.inputs.map(v => v.toFixed(3)).join(", ")}]
        → z = ${p.z}, a = ${p.a}; loss on this point ${p.loss}</p>
        <p>backward: upstream dL/da = ${b.upstream} × local da/dz = ${b.local} = dL/dz = ${b.dz};
        dL/dw = dL/dz · inputs = [${b.dw.map(v => Number(v).toPrecision(3)).join(", ")}], dL/db = ${b.db}</p>`;
    }
    box.innerHTML = html;
    const big = $("bigunit");
    const u = !e.output && f.units[e.layer] && f.units[e.layer][e.unit];
    if (u) drawUnit(big, u, f.unit_grid); else big.getContext("2d").clearRect(0, 0, big.width, big.height);
  }
  function makePlot(el, title, labels, colors) {
    if (typeof uPlot === "undefined") return null;
    return new uPlot({title, width: 400, height: 150, legend: {show: true, live: false}, cursor: {show: false},
      scales: {x: {time: false}},
      series: [{label: "step"}, ...labels.map((l, i) => ({label: l, stroke: colors[i], width: 1.5}))]},
      [[], ...labels.map(() => [])], el);
  }
  function updateCurves(f) {
    const c = f.curves;
    if (f.generation !== generation) {
      generation = f.generation; curves = {step: [], train_loss: [], test_loss: [], train_acc: [], test_acc: []};
    }
    for (const k of Object.keys(curves)) { curves[k].length = c.start; curves[k].push(...c[k]); }
    if (!lossPlot) {
      lossPlot = makePlot($("losschart"), "loss", ["train", "test"], ["#0877bd", "#f59322"]);
      accPlot = makePlot($("accchart"), "accuracy", ["train", "test"], ["#0877bd", "#f59322"]);
    }
    if (lossPlot) {
      const t = accPlot.root.querySelector(".u-title");
      if (t) t.textContent = f.regression ? "R²" : "accuracy";
      lossPlot.setData([curves.step, curves.train_loss, curves.test_loss]);
      accPlot.setData([curves.step, curves.train_acc, curves.test_acc]);
    }
  }
  function syncControls(f) {
    document.querySelectorAll("[data-path]").forEach(el => {
      if (el === editing) return;
      const v = getPath(f.config, el.dataset.path);
      if (el.type === "checkbox") el.checked = v; else if (String(el.value) !== String(v)) el.value = v;
    });
    if (document.activeElement !== $("hu0")) $("hu0").value = f.config.view.hidden_units[0];
    if (document.activeElement !== $("hu1")) $("hu1").value = f.config.view.hidden_units[1];
    const settings = {};
    for (const path of Object.keys(pg.meta ? pg.meta.kinds : {})) settings[path] = getPath(f.config, path);
    const hash = "#" + encodeURIComponent(JSON.stringify(settings));
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  async function render(f) {
    pg.frame = f; pg.frames++;
    if (f.data_version !== dataVersion) {
      const r = await fetch("/api/points"); pg.points = await r.json(); dataVersion = pg.points.version;
    }
    $("stepcount").textContent = f.step; $("epochcount").textContent = f.epoch;
    $("play").innerHTML = f.running ? "&#10073;&#10073; Pause" : "&#9654; Play";
    $("play").classList.toggle("on", f.running);
    const msg = $("message"); msg.textContent = f.message; msg.hidden = !f.message;
    msg.className = "banner " + (f.halted === "diverged" ? "warn" : "info");
    if (f.error) showError(f.error);
    $("trainloss").textContent = fmt(f.metrics.train_loss); $("testloss").textContent = fmt(f.metrics.test_loss);
    $("trainacc").textContent = fmt(f.metrics.train_acc, 3); $("testacc").textContent = fmt(f.metrics.test_acc, 3);
    $("accname").textContent = f.regression ? "R²" : "accuracy";
    $("npoints").textContent = pg.points ? pg.points.x.length : 0; $("ntrain").textContent = f.n_train; $("ntest").textContent = f.n_test;
    $("limits").textContent = f.limits;
    drawMap($("map"), f.map); drawPoints(); drawSwatches(f); drawFeatures(f); drawLayerEditors(f);
    drawNetwork(f); drawHists(f); drawGauges(f); drawHidden(f); drawExplain(f); updateCurves(f); syncControls(f);
    requestAnimationFrame(() => {
      const d = Date.now() / 1000 - f.stepped_at;
      if (f.running) { pg.delays.push(d); $("delay").textContent = (1000 * d).toFixed(0) + " ms"; }
    });
  }

  async function start() {
    pg.meta = await (await fetch("/api/meta")).json();
    fill($("optimizer"), pg.meta.optimizers); fill(document.querySelector("[data-path='optim.schedule']"), pg.meta.schedules);
    fill($("loss"), pg.meta.losses); fill($("dataset"), pg.meta.datasets);
    for (const [name, text] of Object.entries(pg.meta.presets)) {
      const o = document.createElement("option"); o.value = name; o.textContent = name; o.title = text; $("preset").appendChild(o);
    }
    $("preset").addEventListener("change", e => { $("preset-text").textContent = pg.meta.presets[e.target.value] || ""; });
    wireControls();
    if (location.hash.length > 1) {  // settings shared by URL
      try { await send({cmd: "set", settings: JSON.parse(decodeURIComponent(location.hash.slice(1)))}); }
      catch (err) { showError("could not read the settings in the URL: " + err); }
    }
    let busy = false, pending = null;
    const es = new EventSource("/api/events");
    es.addEventListener("frame", async ev => {
      const f = JSON.parse(ev.data);
      if (busy) { pending = mergeCurves(pending, f); return; }  // keep a skipped frame's curve points
      busy = true;
      try { await render(f); while (pending) { const p = pending; pending = null; await render(p); } }
      finally { busy = false; }
    });
    pg.es = es;
  }
  function mergeCurves(prev, f) {
    if (!prev || prev.generation !== f.generation) return f;
    const c = prev.curves;
    for (const k of Object.keys(f.curves)) if (k !== "start") c[k] = c[k].slice(0, f.curves.start - c.start).concat(f.curves[k]);
    f.curves = c; return f;
  }
  start();
})();
