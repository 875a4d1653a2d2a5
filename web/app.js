// The page: inputs, model loading (fetched once, kept in the browser's Cache Storage), ONNX Runtime Web
// (WebGPU where the browser has it, WASM otherwise), and the result with its time and a download link.
import { Networks, STYLE_SIZE, fitSize, resizeLanczos, stylize } from "./adain.js";

const ORT_VERSION = "1.30.0"; // = package.json's pin
const ORT_CDN = `https://cdn.jsdelivr.net/npm/onnxruntime-web@${ORT_VERSION}/dist/`;
const MODELS = { encoder: "models/vgg19_int8.onnx", decoder: "models/decoder.onnx" };
const MODEL_CACHE_PREFIX = "adain-models-"; // + the graphs' SHA-1s (models/index.json): an update replaces the cache
const $ = (id) => document.getElementById(id);
const state = { content: null, style: null, networks: null, backend: null };

async function hasWebGPU() {
  try {
    return Boolean(navigator.gpu && (await navigator.gpu.requestAdapter()));
  } catch {
    return false;
  }
}

/** onnxruntime-web: the local copy (./ort/, installed by npm) or, where it is absent, the pinned CDN build. */
async function loadOrt(webgpu) {
  const bundle = webgpu ? "ort.webgpu.min.mjs" : "ort.wasm.min.mjs";
  for (const base of [new URL("ort/", document.baseURI).href, ORT_CDN]) {
    try {
      const ort = await import(base + bundle);
      ort.env.wasm.wasmPaths = base;
      ort.env.wasm.numThreads = Math.min(navigator.hardwareConcurrency || 1, 4);
      return ort;
    } catch (err) {
      console.warn(`onnxruntime-web not at ${base}: ${err}`);
    }
  }
  throw new Error("onnxruntime-web could not be loaded");
}

/** The graphs' versions (SHA-1 prefixes by file name), written by the site's builder. */
async function modelVersions() {
  const response = await fetch(new URL("models/index.json", document.baseURI).href, { cache: "no-cache" });
  return response.ok ? response.json() : {};
}

/** The Cache Storage of this version of the graphs; caches of other versions are deleted. */
async function modelCache(versions) {
  if (!("caches" in self)) return null;
  const name = MODEL_CACHE_PREFIX + Object.keys(versions).sort().map((k) => versions[k]).join("-");
  for (const old of await caches.keys()) {
    if (old.startsWith(MODEL_CACHE_PREFIX) && old !== name) await caches.delete(old);
  }
  return caches.open(name);
}

/** A model file's bytes, downloaded once per version (its URL carries it) and then served from Cache Storage. */
async function modelBytes(path, versions, cache) {
  const version = versions[path.split("/").pop()];
  const url = new URL(version ? `${path}?v=${version}` : path, document.baseURI).href;
  let response = cache && (await cache.match(url));
  if (!response) {
    response = await fetch(url);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    if (cache) await cache.put(url, response.clone());
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function networks() {
  if (state.networks) return state.networks;
  const webgpu = await hasWebGPU();
  const ort = await loadOrt(webgpu);
  const versions = await modelVersions();
  const cache = await modelCache(versions);
  const [enc, dec] = await Promise.all([modelBytes(MODELS.encoder, versions, cache), modelBytes(MODELS.decoder, versions, cache)]);
  const open = (bytes, ep) => ort.InferenceSession.create(bytes, { executionProviders: [ep] });
  let backend = webgpu ? "webgpu" : "wasm";
  let sessions;
  try {
    sessions = await Promise.all([open(enc, backend), open(dec, backend)]);
  } catch (err) { // e.g. an operator WebGPU lacks: the same graphs on the CPU
    console.warn(`${backend} failed (${err}); using wasm`);
    backend = "wasm";
    sessions = await Promise.all([open(enc, backend), open(dec, backend)]);
  }
  state.backend = `${backend}${backend === "wasm" ? `, ${ort.env.wasm.numThreads} thread(s)` : ""}`;
  state.networks = new Networks(ort, ...sessions);
  return state.networks;
}

/** An image file, blob or URL as {data: RGB Float32Array 0-255, width, height}, long side at most maxSize:
 * decoded at its own size (transparency over white, as adain.image_io does), then resized with Pillow's
 * Lanczos filter (resizeLanczos), not the canvas's, so the page and Python see the same pixels. */
async function decode(source, maxSize) {
  const blob = typeof source === "string" ? await (await fetch(source)).blob() : source;
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "default" });
  const [W, H] = [bitmap.width, bitmap.height];
  const [w, h] = fitSize(W, H, maxSize);
  const canvas = new OffscreenCanvas(W, H);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "white";
  ctx.fillRect(0, 0, W, H);
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, W, H).data;
  const rgb = new Float32Array(W * H * 3);
  for (let p = 0; p < W * H; p++) {
    rgb[3 * p] = rgba[4 * p]; rgb[3 * p + 1] = rgba[4 * p + 1]; rgb[3 * p + 2] = rgba[4 * p + 2];
  }
  return resizeLanczos({ data: rgb, width: W, height: H }, w, h);
}

/** Draw an RGB float image (0-255, rounded and clipped) on the page's result canvas. */
function show(img, canvas) {
  const pixels = new ImageData(img.width, img.height);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++) pixels.data[4 * p + c] = Math.round(Math.min(255, Math.max(0, img.data[3 * p + c])));
    pixels.data[4 * p + 3] = 255;
  }
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext("2d").putImageData(pixels, 0, 0);
}

/** The result as a PNG file, made when it is asked for (encoding it took a fifth of a stylization). */
function download() {
  $("result").toBlob((blob) => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "stylized.png";
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }, "image/png");
}

function choose(kind, source, label) {
  state[kind] = source;
  $(`${kind}-preview`).src = typeof source === "string" ? source : URL.createObjectURL(source);
  $(`${kind}-name`).textContent = label;
}

async function run() {
  if (!state.content || !state.style) {
    $("status").textContent = "Give a photo and a painting first.";
    return;
  }
  $("run").disabled = true;
  try {
    $("status").textContent = "Loading the models (once)…";
    const nets = await networks();
    $("status").textContent = `Painting on ${state.backend}…`;
    const size = Number($("size").value);
    const t0 = performance.now();
    const [content, style] = await Promise.all([decode(state.content, size), decode(state.style, STYLE_SIZE)]);
    const t1 = performance.now();
    nets.ms = { encoder: 0, decoder: 0 };
    const out = await stylize(nets, content, style, {
      alpha: Number($("alpha").value), preserveColor: $("colors").value || null,
    });
    const t2 = performance.now();
    const result = $("result");
    show(out, result);
    const ms = Math.round(performance.now() - t0);
    // where the time went: images decoded and resized, the two graphs, the rest of the pipeline, drawing
    const stages = { images: t1 - t0, encoder: nets.ms.encoder, decoder: nets.ms.decoder,
                     pipeline: t2 - t1 - nets.ms.encoder - nets.ms.decoder, draw: performance.now() - t2 };
    result.dataset.stages = JSON.stringify(Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, Math.round(v)])));
    result.dataset.ms = String(ms);
    $("download").hidden = false;
    $("status").textContent = `${out.width}×${out.height} in ${(ms / 1000).toFixed(2)} s on ${state.backend}.`;
  } catch (err) {
    $("status").textContent = `Could not stylize: ${err.message || err}`;
  } finally {
    $("run").disabled = false;
  }
}

async function examples() {
  try {
    const list = await (await fetch("examples/index.json")).json();
    for (const kind of ["content", "style"]) {
      for (const file of list[kind]) {
        const img = document.createElement("img");
        img.src = `examples/${file}`;
        img.alt = img.title = file.split("/").pop();
        img.onclick = () => choose(kind, img.src, img.alt);
        $(`${kind}-examples`).append(img);
      }
    }
  } catch {
    /* a page without examples still works */
  }
}

for (const kind of ["content", "style"]) {
  $(kind).addEventListener("change", (e) => e.target.files[0] && choose(kind, e.target.files[0], e.target.files[0].name));
  const drop = $(`${kind}-drop`);
  drop.addEventListener("dragover", (e) => e.preventDefault());
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    const file = e.dataTransfer.files[0];
    if (file) choose(kind, file, file.name);
  });
}
$("alpha").addEventListener("input", () => { $("alpha-value").textContent = $("alpha").value; });
$("run").addEventListener("click", run);
$("download").addEventListener("click", download);
examples();
