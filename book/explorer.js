// The slider explorer's front end (book/explorer.md), run by anywidget: it repeats the
// page's random generator bit for bit and draws both panels on a canvas. The `#@save`
// extractor ships it in d2lsave as explorer.js, which ScatterPanel reads.
// Colours for a light and a dark page, Okabe-Ito where they carry meaning. Each contrasts with
// its background by at least 3:1 for points and lines (a single grey dot included) and 4.5:1 for
// text; the dark background is the book's own dark background.
const PALETTES = {
  light: {background: "#ffffff", points: "rgba(60, 60, 60, 0.6)", batch: "#E69F00",
          edge: "#000000", truth: "#000000", truthName: "black", fit: "#0072B2",
          axis: "#444444", text: "#222222"},
  dark: {background: "#121212", points: "rgba(210, 210, 210, 0.6)", batch: "#E69F00",
         edge: "#000000", truth: "#ffffff", truthName: "white", fit: "#56B4E9",
         axis: "#b0b8bf", text: "#ced6dd"},
};
let COLORS = PALETTES.light;
const DARK_QUERY = "(prefers-color-scheme: dark)";

// The colour scheme of the page around the explorer: the book's theme switch (data-theme on
// <html>), else JupyterLab's theme (data-jp-theme-light on <body>), else the system setting.
function pageScheme() {
  const theme = document.documentElement.dataset.theme;
  if (theme === "dark" || theme === "light") return theme;
  const lab = document.body && document.body.dataset.jpThemeLight;
  if (lab === "true" || lab === "false") return lab === "true" ? "light" : "dark";
  return window.matchMedia && window.matchMedia(DARK_QUERY).matches ? "dark" : "light";
}

// Call `onChange` whenever any of those three signals changes; returns a function that stops.
function watchScheme(onChange) {
  const observer = new MutationObserver(onChange);
  observer.observe(document.documentElement, {attributes: true, attributeFilter: ["data-theme"]});
  if (document.body) {
    observer.observe(document.body, {attributes: true, attributeFilter: ["data-jp-theme-light"]});
  }
  const query = window.matchMedia ? window.matchMedia(DARK_QUERY) : null;
  if (query) query.addEventListener("change", onChange);
  return () => {
    observer.disconnect();
    if (query) query.removeEventListener("change", onChange);
  };
}
const NAMES = ["n", "w1", "w2", "b", "noise", "batch_size", "seed", "y_limit"];

// The generator of explorer_draws, step for step: the same integer hashes, and only
// operations that IEEE 754 rounds exactly, so the browser and numpy agree to the last bit.
const HALF_PI = 1.5707963267948966, LN2 = 0.6931471805599453, SQRT_HALF = 0.7071067811865476;
const TERMS = 12, POW2 = [1];
for (let k = 1; k <= 40; k++) POW2.push(POW2[k - 1] / 2);
function alternatingSeries(denominator) {
  const coefficients = [1];
  for (let k = 1; k <= TERMS; k++) coefficients.push(-coefficients[k - 1] / denominator(k));
  return coefficients;
}
const LOG_SERIES = Array.from({length: TERMS}, (_, k) => 1 / (2 * k + 1));
const COS_SERIES = alternatingSeries((k) => (2 * k - 1) * (2 * k));
const SIN_SERIES = alternatingSeries((k) => (2 * k) * (2 * k + 1));

function mix32(x) {
  x = x >>> 0;
  x = (x ^ (x >>> 16)) >>> 0; x = Math.imul(x, 0x85EBCA6B) >>> 0;
  x = (x ^ (x >>> 13)) >>> 0; x = Math.imul(x, 0xC2B2AE35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
function streamKey(seed, stream) {
  return mix32(mix32(seed + 0x9E3779B9) + (stream + 1) * 0x632BE5AB);
}
function randomBits(key, i) { return mix32(mix32((i ^ key) >>> 0) + key); }
function polynomial(coefficients, x) {
  let result = coefficients[coefficients.length - 1];
  for (let k = coefficients.length - 2; k >= 0; k--) result = result * x + coefficients[k];
  return result;
}
function radius(bits) {
  const odd = 2 * bits + 1, length = 33 - Math.clz32(bits);
  let m = odd * POW2[length], e = length - 33;
  if (m < SQRT_HALF) { m = m * 2; e = e - 1; }
  const t = (m - 1) / (m + 1);
  return Math.sqrt(-2 * (e * LN2 + (2 * t) * polynomial(LOG_SERIES, t * t)));
}
function cosSin(bits, out) {
  const quarter = bits >>> 30, x = ((bits & 0x3FFFFFFF) + 0.5) * POW2[30] * HALF_PI;
  const c = polynomial(COS_SERIES, x * x), s = x * polynomial(SIN_SERIES, x * x);
  out[0] = [c, -s, -c, s][quarter]; out[1] = [s, c, -s, -c][quarter];
}

// Fill the draws of `seed` up to example `n`, keeping those already computed.
function fillDraws(cache, seed, n) {
  if (cache.seed !== seed || cache.z.length < 2 * n) {
    const size = Math.max(n, cache.seed === seed ? cache.filled : 0);
    const z = new Float32Array(2 * size), eta = new Float32Array(size);
    const keys = new Uint32Array(size);
    if (cache.seed === seed) {
      z.set(cache.z.subarray(0, 2 * cache.filled));
      eta.set(cache.eta.subarray(0, cache.filled));
      keys.set(cache.keys.subarray(0, cache.filled));
    } else {
      cache.filled = 0; cache.orderN = -1;
    }
    Object.assign(cache, {seed, z, eta, keys, streams: [0, 1, 2, 3, 4].map(
      (stream) => streamKey(seed, stream))});
  }
  const {z, eta, keys, streams} = cache, pair = [0, 0];
  for (let i = cache.filled; i < n; i++) {
    const r = radius(randomBits(streams[0], i));
    cosSin(randomBits(streams[1], i), pair);
    z[2 * i] = r * pair[0]; z[2 * i + 1] = r * pair[1];
    cosSin(randomBits(streams[3], i), pair);
    eta[i] = radius(randomBits(streams[2], i)) * pair[0];
    keys[i] = randomBits(streams[4], i);
  }
  cache.filled = Math.max(cache.filled, n);
}

function leastSquares(x1, x2, y, n) {
  let m1 = 0, m2 = 0, my = 0;
  for (let i = 0; i < n; i++) { m1 += x1[i]; m2 += x2[i]; my += y[i]; }
  m1 /= n; m2 /= n; my /= n;
  let s11 = 0, s12 = 0, s22 = 0, s1y = 0, s2y = 0;
  for (let i = 0; i < n; i++) {
    const a = x1[i] - m1, c = x2[i] - m2, d = y[i] - my;
    s11 += a * a; s12 += a * c; s22 += c * c; s1y += a * d; s2y += c * d;
  }
  const det = s11 * s22 - s12 * s12;
  if (!(Math.abs(det) > 1e-12)) return null;
  const w1 = (s22 * s1y - s12 * s2y) / det, w2 = (s11 * s2y - s12 * s1y) / det;
  return {w1, w2, b: my - w1 * m1 - w2 * m2};
}

function compute(model, cache) {
  const n = model.get("n"), w1 = model.get("w1"), w2 = model.get("w2");
  const b = model.get("b"), noise = model.get("noise"), seed = model.get("seed");
  const batchSize = Math.min(model.get("batch_size"), n);
  fillDraws(cache, seed, n);
  const {z, eta, keys} = cache;
  const x1 = new Float64Array(n), x2 = new Float64Array(n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x1[i] = z[2 * i]; x2[i] = z[2 * i + 1];
    y[i] = x1[i] * w1 + x2[i] * w2 + b + noise * eta[i];
  }
  if (cache.orderN !== n) {
    cache.order = Array.from({length: n}, (_, i) => i).sort((p, q) => keys[p] - keys[q] || p - q);
    cache.orderN = n;
  }
  const batch = cache.order.slice(0, batchSize);
  return {n, w1, w2, b, noise, seed, batchSize, x1, x2, y, eta: eta.subarray(0, n), batch,
          fit: leastSquares(x1, x2, y, n)};
}

function niceStep(span) {
  const raw = span / 5, power = Math.pow(10, Math.floor(Math.log10(raw)));
  const unit = raw / power;
  return (unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10) * power;
}

function drawPanel(ctx, box, xs, s, which, yRange) {
  const [left, top, width, height] = box, [yMin, yMax] = yRange, xMin = -4, xMax = 4;
  const px = (v) => left + ((v - xMin) / (xMax - xMin)) * width;
  const py = (v) => top + height - ((v - yMin) / (yMax - yMin)) * height;
  ctx.strokeStyle = COLORS.axis; ctx.lineWidth = 1; ctx.strokeRect(left, top, width, height);
  ctx.fillStyle = COLORS.text; ctx.font = "12px sans-serif"; ctx.textAlign = "center";
  for (let v = -4; v <= 4; v += 2) ctx.fillText(String(v), px(v), top + height + 14);
  ctx.fillText(`feature x${which + 1}`, left + width / 2, top + height + 30);
  ctx.textAlign = "right";
  const step = niceStep(yMax - yMin);
  for (let v = Math.ceil(yMin / step) * step; v <= yMax; v += step) {
    ctx.fillText(String(Math.round(v * 100) / 100), left - 4, py(v) + 4);
  }
  ctx.save(); ctx.beginPath(); ctx.rect(left, top, width, height); ctx.clip();
  ctx.fillStyle = COLORS.points;
  for (let i = 0; i < s.n; i++) ctx.fillRect(px(xs[i]) - 1.5, py(s.y[i]) - 1.5, 3, 3);
  ctx.fillStyle = COLORS.batch; ctx.strokeStyle = COLORS.edge; ctx.lineWidth = 1;
  for (const i of s.batch) {
    ctx.fillRect(px(xs[i]) - 4, py(s.y[i]) - 4, 8, 8);
    ctx.strokeRect(px(xs[i]) - 4, py(s.y[i]) - 4, 8, 8);
  }
  const line = (w, b, color, dash, widthPx) => {
    ctx.strokeStyle = color; ctx.setLineDash(dash); ctx.lineWidth = widthPx; ctx.beginPath();
    ctx.moveTo(px(xMin), py(w * xMin + b)); ctx.lineTo(px(xMax), py(w * xMax + b)); ctx.stroke();
  };
  line(which === 0 ? s.w1 : s.w2, s.b, COLORS.truth, [6, 4], 2);
  if (s.fit) line(which === 0 ? s.fit.w1 : s.fit.w2, s.fit.b, COLORS.fit, [], 1.5);
  ctx.restore(); ctx.setLineDash([]);
}

function fmt(v) { return (v < 0 ? "\u2212" : "") + Math.abs(v).toFixed(4); }

function render({model, el}) {
  const width = 760, height = 300, cache = {seed: null, z: new Float32Array(0), filled: 0};
  const canvas = document.createElement("canvas");
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio; canvas.height = height * ratio;
  canvas.style.width = `${width}px`; canvas.style.maxWidth = "100%";
  canvas.setAttribute("role", "img");
  const readout = document.createElement("p");
  readout.setAttribute("aria-live", "polite");
  readout.className = "explorer-readout";
  readout.style.fontFamily = "monospace"; readout.style.whiteSpace = "pre-wrap";
  const legend = document.createElement("p");
  legend.className = "explorer-legend";
  const describe = () => {
    legend.textContent = "Grey dots: all examples. Orange squares with black edges: the first " +
      `minibatch. Dashed ${COLORS.truthName} line: the true slope and intercept. ` +
      "Solid blue line: least squares.";
  };
  el.classList.add("regression-explorer");
  el.append(canvas, readout, legend);
  let pending = false;

  // The standard sliders show their label beside the handle; give each handle that label as
  // its accessible name too, so a screen reader announces which setting it moves. ipywidgets 8
  // (JupyterLab, the book) draws noUiSlider handles that are ARIA sliders with their values
  // already; ipywidgets 7 (classic Notebook, Colab) draws jQuery UI handles with no role, so
  // those also get the slider role, and their range and value from this panel's model.
  function nameSliderHandles() {
    const box = el.closest(".widget-vbox") || document;
    const ranges = model.get("slider_ranges") || {};
    for (const slider of box.querySelectorAll(".widget-slider")) {
      const handle = slider.querySelector("[role=slider], .ui-slider-handle");
      const label = slider.querySelector(".widget-label");
      if (!handle || !label) continue;
      if (!handle.hasAttribute("aria-label")) handle.setAttribute("aria-label", label.textContent);
      if (handle.classList.contains("ui-slider-handle")) {
        describeHandle(handle, ranges[label.textContent]);
      }
    }
  }

  // Role, range and current value of a jQuery UI handle; `range` is [trait, minimum, maximum].
  function describeHandle(handle, range) {
    handle.setAttribute("role", "slider");
    if (!range) return;
    const [trait, minimum, maximum] = range;
    handle.setAttribute("aria-valuemin", String(minimum));
    handle.setAttribute("aria-valuemax", String(maximum));
    handle.setAttribute("aria-valuenow", String(model.get(trait)));
  }

  function draw() {
    pending = false;
    nameSliderHandles();
    const s = compute(model, cache);
    // Fixed axes: the label axis depends on the sliders' ranges only, never on their values,
    // so moving b or w moves the points instead of relabelling the axis.
    const limit = model.get("y_limit");
    let outside = 0;
    for (let i = 0; i < s.n; i++) {
      if (Math.abs(s.y[i]) > limit || Math.abs(s.x1[i]) > 4 || Math.abs(s.x2[i]) > 4) outside++;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    COLORS = PALETTES[pageScheme()];
    describe();
    ctx.fillStyle = COLORS.background; ctx.fillRect(0, 0, width, height);
    drawPanel(ctx, [60, 12, 300, 240], s.x1, s, 0, [-limit, limit]);
    drawPanel(ctx, [440, 12, 300, 240], s.x2, s, 1, [-limit, limit]);
    ctx.save(); ctx.translate(14, 132); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center";
    ctx.fillStyle = COLORS.text; ctx.fillText("label y", 0, 0); ctx.restore();
    const batches = Math.ceil(s.n / model.get("batch_size"));
    const last = s.n - (batches - 1) * model.get("batch_size");
    const fit = s.fit;
    const head = `n = ${s.n} examples (seed ${s.seed}), ${batches} ` +
      `minibatch${batches === 1 ? "" : "es"} per epoch ` +
      `(the last holds ${last})` +
      (outside ? `; ${outside} outside the axes` : "") + "\n";
    readout.textContent = head + (fit
      ? `least squares: w\u0302 = (${fmt(fit.w1)}, ${fmt(fit.w2)}), ` +
        `b\u0302 = ${fmt(fit.b)}\n` +
        `errors:        ${fmt(fit.w1 - s.w1)}, ${fmt(fit.w2 - s.w2)}, ${fmt(fit.b - s.b)}`
      : "least squares: not determined by these points");
    canvas.setAttribute("aria-label", `Scatter plots of ${s.n} labels against each feature; ` +
      `${s.batch.length} minibatch examples highlighted. ${readout.textContent}`);
  }

  // Draw as soon as the current batch of model changes is applied: one slider move, or
  // several settings sent together from Python, cost one redraw.
  function schedule() {
    if (!pending) { pending = true; queueMicrotask(draw); }
  }
  for (const name of NAMES) model.on(`change:${name}`, schedule);
  model.on("change:slider_ranges", nameSliderHandles);
  const unwatch = watchScheme(schedule);  // the page switched between light and dark
  draw();
  setTimeout(nameSliderHandles, 0);  // the sliders may be attached after this view
  return () => {
    for (const name of NAMES) model.off(`change:${name}`, schedule);
    model.off("change:slider_ranges", nameSliderHandles);
    unwatch();
  };
}

export default { render };
