// The AdaIN pipeline of adain.adain_stylizer / adain.pipeline / adain.color, in JavaScript, around the two
// shipped ONNX graphs (weights/vgg19_int8.onnx: RGB 0-255 -> relu1_1..relu4_1; weights/decoder.onnx: AdaIN
// targets per level -> RGB). Images are {data: Float32Array (HxWx3, 0-255), width, height}.
// Constants mirror adain.defaults / adain.adain_stylizer / adain.adain_op (tests/test_browser.py compares outputs).

export const STRIDE = 8; // relu4_1 is at 1/8 resolution
export const BORDER_PAD = 32; // content reflected this far past its edges before encoding, then cropped
export const STYLE_SIZE = 512; // long side a style is encoded at
export const MIN_SIDE = 16;
export const EPS = 1e-5; // channel_stats: std = sqrt(var + EPS)
export const LEVELS = ["relu4_1", "relu3_1", "relu2_1", "relu1_1"];
const RGB_TO_YIQ = [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]];
const YIQ_TO_RGB = invert3(RGB_TO_YIQ);

/** (w, h) scaled down so the long side is at most maxSize (adain.image_io.fit_size). */
export function fitSize(width, height, maxSize) {
  if (Math.min(width, height) < MIN_SIDE) throw new Error(`image of ${width}x${height} pixels is too small: at least ${MIN_SIDE}x${MIN_SIDE} is needed`);
  const scale = Math.min(1, maxSize / Math.max(width, height));
  return [Math.max(MIN_SIDE, Math.round(width * scale)), Math.max(MIN_SIDE, Math.round(height * scale))];
}

/** Lanczos-3 weights of one axis as Pillow computes them (its Resample.c): for each output index, the
 * first input index and the normalised weights, the filter widened by the scale when shrinking. */
function lanczosWeights(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 3 * filterScale;
  const sinc = (x) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
  const lanczos = (x) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0);
  const rows = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    const w = [];
    let total = 0;
    for (let x = lo; x < hi; x++) {
      const v = lanczos((x - center + 0.5) / filterScale);
      w.push(v);
      total += v;
    }
    rows.push({ lo, w: w.map((v) => (total ? v / total : 0)) });
  }
  return rows;
}

/** Resize an 8-bit RGB image (values 0-255) to w x h as Pillow's `Image.resize(size, Image.LANCZOS)` does:
 * a horizontal pass, then a vertical one, each rounded and clipped to 0-255 (Pillow keeps 8 bits between
 * them), so the page sees the pixels the Python pipeline sees (adain.image_io.to_array). */
export function resizeLanczos(img, w, h) {
  const { data, width: W, height: H } = img;
  if (w === W && h === H) return img;
  const clip8 = (v) => Math.min(255, Math.max(0, Math.round(v)));
  const horizontal = lanczosWeights(W, w);
  const mid = new Float32Array(w * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < w; x++) {
      const { lo, w: k } = horizontal[x];
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let j = 0; j < k.length; j++) sum += k[j] * data[(y * W + lo + j) * 3 + c];
        mid[(y * w + x) * 3 + c] = clip8(sum);
      }
    }
  }
  const vertical = lanczosWeights(H, h);
  const out = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const { lo, w: k } = vertical[y];
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let j = 0; j < k.length; j++) sum += k[j] * mid[((lo + j) * w + x) * 3 + c];
        out[(y * w + x) * 3 + c] = clip8(sum);
      }
    }
  }
  return { data: out, width: w, height: h };
}

/** Reflect-pad an HxWxC image: top/left by `before`, bottom/right by `after` (numpy's mode="reflect"). */
export function reflectPad(img, channels, top, bottom, left, right) {
  const { data, width: w, height: h } = img;
  const W = w + left + right, H = h + top + bottom;
  const out = new Float32Array(W * H * channels);
  const reflect = (i, n) => { // numpy reflect (edge not repeated), for pads smaller than the side
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
  };
  for (let y = 0; y < H; y++) {
    const sy = reflect(y - top, h);
    for (let x = 0; x < W; x++) {
      const sx = reflect(x - left, w);
      const src = (sy * w + sx) * channels, dst = (y * W + x) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = data[src + c];
    }
  }
  return { data: out, width: W, height: H };
}

/** Per-channel mean and std (sqrt(var + EPS)) of NHWC features with C channels (adain_op.channel_stats). */
export function channelStats(data, channels) {
  const n = data.length / channels;
  const sum = new Float64Array(channels), sq = new Float64Array(channels);
  for (let i = 0; i < data.length; i += channels) {
    for (let c = 0; c < channels; c++) { const v = data[i + c]; sum[c] += v; sq[c] += v * v; }
  }
  const mean = new Float32Array(channels), std = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const m = sum[c] / n;
    mean[c] = m;
    std[c] = Math.sqrt(Math.max(sq[c] / n - m * m, 0) + EPS);
  }
  return { mean, std };
}

/** AdaIN blended with the content by alpha, in place: one per-channel affine map (adain_op.adain_affine). */
export function adainInPlace(data, channels, style, alpha) {
  const content = channelStats(data, channels);
  const a = new Float32Array(channels), b = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const scale = style.std[c] / content.std[c];
    a[c] = alpha * scale + (1 - alpha);
    b[c] = alpha * (style.mean[c] - content.mean[c] * scale);
  }
  for (let i = 0; i < data.length; i += channels) {
    for (let c = 0; c < channels; c++) data[i + c] = data[i + c] * a[c] + b[c];
  }
  return data;
}

function invert3(m) {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [[A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
          [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
          [C / det, -(a * h - b * g) / det, (a * e - b * d) / det]];
}

function luminance(data) {
  const y = new Float64Array(data.length / 3);
  for (let p = 0, i = 0; i < data.length; i += 3, p++) y[p] = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  return y;
}

function meanStd(values) {
  let s = 0, q = 0;
  for (const v of values) { s += v; q += v * v; }
  const m = s / values.length;
  return [m, Math.sqrt(Math.max(q / values.length - m * m, 0))];
}

/** Grey RGB image of an image's luminance; with `like`, matched to like's luminance mean/std (color.luminance_image). */
export function luminanceImage(img, like = null) {
  let y = luminance(img.data);
  if (like) {
    const [m, s] = meanStd(y), [rm, rs] = meanStd(luminance(like.data));
    y = y.map((v) => (v - m) / (s + 1e-6) * rs + rm);
  }
  const out = new Float32Array(img.data.length);
  for (let p = 0; p < y.length; p++) {
    const v = Math.min(255, Math.max(0, y[p]));
    out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = v;
  }
  return { data: out, width: img.width, height: img.height };
}

/** The stylized image's luminance with the content's chroma (color.with_content_chroma), clipped to 0-255. */
export function withContentChroma(stylized, content) {
  const out = new Float32Array(stylized.data.length);
  const s = stylized.data, c = content.data, T = RGB_TO_YIQ, R = YIQ_TO_RGB;
  for (let i = 0; i < s.length; i += 3) {
    const y = T[0][0] * s[i] + T[0][1] * s[i + 1] + T[0][2] * s[i + 2];
    const iq1 = T[1][0] * c[i] + T[1][1] * c[i + 1] + T[1][2] * c[i + 2];
    const iq2 = T[2][0] * c[i] + T[2][1] * c[i + 1] + T[2][2] * c[i + 2];
    for (let k = 0; k < 3; k++) out[i + k] = Math.min(255, Math.max(0, R[k][0] * y + R[k][1] * iq1 + R[k][2] * iq2));
  }
  return { data: out, width: stylized.width, height: stylized.height };
}

/** Runs the two graphs: `encode(img)` -> {level: {data, width, height, channels}}, `decode(targets)` -> image.
 * `ms` adds up the milliseconds spent in each graph (where the page's time goes: bench/bench_browser.py). */
export class Networks {
  constructor(ort, encoder, decoder) {
    this.ort = ort;
    this.encoder = encoder;
    this.decoder = decoder;
    this.ms = { encoder: 0, decoder: 0 };
  }

  async encode(img) { // reflect-padded to a multiple of STRIDE first (AdainStylizer.encode)
    const bottom = (STRIDE - img.height % STRIDE) % STRIDE, right = (STRIDE - img.width % STRIDE) % STRIDE;
    if (bottom || right) img = reflectPad(img, 3, 0, bottom, 0, right);
    const input = new this.ort.Tensor("float32", img.data, [1, img.height, img.width, 3]);
    const t0 = performance.now();
    const out = await this.encoder.run({ [this.encoder.inputNames[0]]: input });
    this.ms.encoder += performance.now() - t0;
    const feats = {};
    for (const level of LEVELS) {
      const t = out[level];
      feats[level] = { data: t.data, height: t.dims[1], width: t.dims[2], channels: t.dims[3] };
    }
    return feats;
  }

  async decode(targets) {
    const feeds = {};
    for (const name of this.decoder.inputNames) {
      const level = LEVELS.find((l) => name === l || name.endsWith("_" + l));
      const f = targets[level];
      feeds[name] = new this.ort.Tensor("float32", f.data, [1, f.height, f.width, f.channels]);
    }
    const t0 = performance.now();
    const out = await this.decoder.run(feeds);
    this.ms.decoder += performance.now() - t0;
    const t = out[this.decoder.outputNames[0]];
    return { data: t.data, height: t.dims[1], width: t.dims[2] };
  }

  /** {level: stats} of a style image (as AdainStylizer._encode_style: no border). */
  async styleStats(style) {
    const feats = await this.encode(style);
    const stats = {};
    for (const level of LEVELS) stats[level] = channelStats(feats[level].data, feats[level].channels);
    return stats;
  }

  /** The decoder's image for a content (AdainStylizer._render): border reflection, stride padding, AdaIN per level. */
  async render(content, stats, alpha) {
    const { width: w, height: h } = content;
    const p = Math.min(BORDER_PAD, h - 1, w - 1);
    const feats = await this.encode(reflectPad(content, 3, p, p, p, p));
    for (const level of LEVELS) adainInPlace(feats[level].data, feats[level].channels, stats[level], alpha);
    const image = await this.decode(feats);
    const out = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      const src = ((y + p) * image.width + p) * 3;
      out.set(image.data.subarray(src, src + w * 3), y * w * 3);
    }
    return { data: out, width: w, height: h };
  }
}

/** The whole job (Stylizer.stylize with one style): colour mode null (the style's colours) or "luminance". */
export async function stylize(networks, content, style, { alpha = 1.0, preserveColor = null } = {}) {
  const contentIn = preserveColor === "luminance" ? luminanceImage(content) : content;
  const styleIn = preserveColor === "luminance" ? luminanceImage(style, content) : style;
  const stats = await networks.styleStats(styleIn);
  const out = await networks.render(contentIn, stats, alpha);
  return preserveColor === "luminance" ? withContentChroma(out, content) : out;
}
