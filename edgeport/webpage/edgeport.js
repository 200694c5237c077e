// edgeport in the browser: run an exported ONNX file with onnxruntime-web, with the same input
// rules as edgeport.runtime (runtime/predictor.py and runtime/images.py), so that a picture gets
// the same answer here as from `edgeport predict`.
//
// Script API (for tests and pages that embed this one):
//   edgeport.ready                    Promise of the model's facts (file, input size, class names...), once loaded
//   edgeport.predict(pixels, count)   uint8 pixels in the model's layout (N, H, W[, C]) -> N rows of probabilities
//   edgeport.fitPicture(source)       a Blob, File, URL or canvas -> {pixels, inverted}, fitted like read_picture
//   edgeport.predictPicture(source)   fitPicture, then predict -> {pixels, inverted, probabilities, label, className, confidence}
"use strict";

(() => {
  const OBJECT_MARGIN = 13; // as runtime/images.py: pixels this much brighter than the background are the object
  const PRECISION_BITS = 22; // Pillow's fixed-point resampling (Resample.c: 32 - 8 - 2)
  const MAX_BATCH = 1000; // images per engine call, as the Python runtime's default batch size

  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;

  // ---- The model file's own facts: metadata_props, read straight from the ONNX protobuf ----

  function varint(bytes, at) {
    let value = 0, scale = 1, byte;
    do {
      if (at >= bytes.length) throw new Error("truncated protobuf varint");
      byte = bytes[at++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return [value, at];
  }

  // Top-level fields of a protobuf message: {field: [Uint8Array, ...]} for length-delimited ones.
  function messageFields(bytes) {
    const fields = {};
    let at = 0;
    while (at < bytes.length) {
      let key;
      [key, at] = varint(bytes, at);
      const field = Math.floor(key / 8), wire = key % 8;
      if (wire === 0) [, at] = varint(bytes, at);
      else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else if (wire === 2) {
        let length;
        [length, at] = varint(bytes, at);
        (fields[field] = fields[field] || []).push(bytes.subarray(at, at + length));
        at += length;
      } else throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    return fields;
  }

  // ModelProto.metadata_props is field 14: StringStringEntryProto {key = 1, value = 2}, JSON values.
  function onnxMetadata(bytes) {
    const text = new TextDecoder("utf-8", { fatal: true });
    const found = {};
    for (const entry of messageFields(bytes)[14] || []) {
      const parts = messageFields(entry);
      const key = text.decode(parts[1] ? parts[1][0] : new Uint8Array());
      const value = text.decode(parts[2] ? parts[2][0] : new Uint8Array());
      try {
        found[key] = JSON.parse(value);
      } catch (error) {
        throw new Error(`the model's metadata '${key}' is not JSON: ${error.message}`);
      }
    }
    return found;
  }

  async function sha256(bytes) {
    if (!(crypto && crypto.subtle)) return null; // only in secure contexts (https, localhost)
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function asList(value, name) {
    const list = Array.isArray(value) ? value : [value];
    if (!list.length || !list.every((v) => typeof v === "number" && Number.isFinite(v))) {
      throw new Error(`preprocessing ${name} must be one or more numbers; got ${JSON.stringify(value)}`);
    }
    return list;
  }

  async function load() {
    const file = meta("edgeport-model");
    if (location.protocol === "file:") {
      throw new Error("browsers do not load WebAssembly or models into file:// pages: serve this folder, "
        + "e.g. with 'edgeport web MODEL --out FOLDER --serve', and open it through http://127.0.0.1");
    }
    const response = await fetch(file);
    if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const expected = meta("edgeport-sha256");
    const actual = await sha256(bytes);
    if (actual !== null && actual !== expected) {
      throw new Error(`${file} does not match the page: sha256 ${actual} expected ${expected}; run 'edgeport web' again`);
    }
    const facts = onnxMetadata(bytes);
    ort.env.wasm.wasmPaths = new URL("ort/", location.href).href; // absolute: the engine imports from it
    ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    const input = session.inputMetadata[0];
    const sample = input.shape.slice(1);
    if (sample.length < 2 || sample.length > 3 || !sample.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`expected an image model, input (N, H, W) or (N, H, W, C); got (${input.shape.join(", ")})`);
    }
    const [height, width, channels = 1] = sample;
    const batch = input.shape[0];
    const output = session.outputMetadata[0];
    const classes = output.shape[output.shape.length - 1];
    const classNames = facts.class_names || Array.from({ length: classes }, (_, i) => String(i));
    if (classNames.length !== classes) {
      throw new Error(`${classNames.length} class names for a model with ${classes} outputs`);
    }
    const preprocessing = facts.preprocessing || { scale: 1 / 255, offset: 0 };
    const scale = asList(preprocessing.scale, "scale").map(Math.fround);
    const offset = asList(preprocessing.offset, "offset").map(Math.fround);
    for (const [name, list] of [["scale", scale], ["offset", offset]]) {
      if (list.length !== 1 && list.length !== channels) {
        throw new Error(`preprocessing gives ${list.length} ${name} values for a model with ${channels} channels`);
      }
    }
    return {
      file, session, inputName: input.name, outputName: output.name, height, width, channels, classes, classNames,
      fixedBatch: Number.isInteger(batch) && batch > 0 ? batch : null, scale, offset,
      logits: facts.output === "logits", background: facts.background || null,
      fit: facts.fit || (facts.background === "dark" ? "frame" : "resize"),
      quantization: facts.quantization || "unknown", bytes: bytes.length, sha256: actual,
    };
  }

  const loaded = load();
  const ready = loaded.then(({ session, ...facts }) => facts); // plain data, for callers and tests

  // ---- Prediction: the Python predictor's arithmetic, in float32 ----

  function encode(model, pixels, start, count) {
    const { height, width, channels, scale, offset } = model;
    const size = height * width * channels;
    const out = new Float32Array(count * size);
    const base = start * size;
    for (let i = 0; i < out.length; i++) {
      const c = i % channels;
      // numpy: float32(pixel * float32(scale)) + float32(offset), each step rounded to float32
      const scaled = Math.fround(pixels[base + i] * scale[scale.length === 1 ? 0 : c]);
      out[i] = scaled + offset[offset.length === 1 ? 0 : c];
    }
    return out;
  }

  function softmax(row) {
    const top = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - top));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((v) => Math.fround(v / sum));
  }

  async function run(model, pixels, start, count) {
    const dims = [count, model.height, model.width];
    if (model.channels > 1 || model.session.inputMetadata[0].shape.length === 4) dims.push(model.channels);
    const feed = { [model.inputName]: new ort.Tensor("float32", encode(model, pixels, start, count), dims) };
    const result = await model.session.run(feed);
    return result[model.outputName].data;
  }

  async function predict(pixels, count) {
    const model = await loaded;
    if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a whole number of images; got ${count}`);
    if (!(pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray || Array.isArray(pixels))) {
      throw new TypeError("pixels must be a Uint8Array (or an array) of values 0..255");
    }
    const size = model.height * model.width * model.channels;
    if (pixels.length !== count * size) {
      throw new Error(`expected ${count} image${count === 1 ? "" : "s"} of ${model.height}x${model.width}x${model.channels}`
        + ` = ${count * size} values; got ${pixels.length}`);
    }
    const step = model.fixedBatch || MAX_BATCH;
    const rows = [];
    for (let start = 0; start < count; start += step) {
      const n = Math.min(step, count - start);
      let data;
      if (model.fixedBatch && n < step) { // a fixed-batch file: pad the last slice
        const padded = new Uint8Array(step * size);
        padded.set(Array.prototype.slice.call(pixels, start * size, (start + n) * size));
        data = await run(model, padded, 0, step);
      } else {
        data = await run(model, pixels, start, n);
      }
      for (let i = 0; i < n; i++) {
        const row = Array.from(data.subarray(i * model.classes, (i + 1) * model.classes));
        rows.push(model.logits ? softmax(row) : row);
      }
    }
    return rows;
  }

  // ---- Pictures: decode like runtime.images.decode_picture, fit like fit_picture ----

  async function decode(source, channels, background) {
    let blob = source;
    if (typeof source === "string") {
      const response = await fetch(source);
      if (!response.ok) throw new Error(`${source}: HTTP ${response.status}`);
      blob = await response.blob();
    }
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob, { imageOrientation: "from-image", colorSpaceConversion: "none" });
    } catch (error) {
      throw new Error(`${source.name || source} is not a readable picture`);
    }
    const canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    // Transparency laid on white, as product photos are shot; on black for a model trained on dark
    // backgrounds when the visible part is light (a light digit on a transparent ground).
    context.fillStyle = background === "dark" && lightVisible(bitmap) ? "#000" : "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, 0, 0);
    const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const count = canvas.width * canvas.height;
    const pixels = new Uint8Array(count * channels);
    for (let i = 0; i < count; i++) {
      const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
      if (channels === 1) pixels[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16; // Pillow's "L"
      else pixels.set([r, g, b], 3 * i);
    }
    return { pixels, height: canvas.height, width: canvas.width, channels };
  }

  // As runtime.images._light_visible: a correlation of luminance with alpha beyond +-0.2 over the visible
  // pixels says whether the ink is light; ink of one shade is light when its alpha-weighted mean is.
  function lightVisible(bitmap) {
    const canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0, sa = 0, sl = 0, saa = 0, sll = 0, sal = 0;
    for (let i = 0; i < rgba.length; i += 4) {
      const a = rgba[i + 3];
      if (a === 0) continue;
      const l = rgba[i] * 0.299 + rgba[i + 1] * 0.587 + rgba[i + 2] * 0.114;
      n += 1; sa += a; sl += l; saa += a * a; sll += l * l; sal += a * l;
    }
    if (n === 0) return false;
    const [ma, ml] = [sa / n, sl / n];
    const spread = Math.sqrt(Math.max(saa / n - ma * ma, 0)) * Math.sqrt(Math.max(sll / n - ml * ml, 0));
    if (spread > 0) {
      const trend = (sal / n - ma * ml) / spread;
      if (Math.abs(trend) > 0.2) return trend > 0;
    }
    return sal / sa > 127.5;
  }

  const FILTERS = {
    bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
    lanczos: {
      support: 3,
      weight: (x) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0),
    },
  };

  function sinc(x) {
    if (x === 0) return 1;
    const t = x * Math.PI;
    return Math.sin(t) / t;
  }

  // Pillow's precompute_coeffs and normalize_coeffs_8bpc: per output position, the first input
  // index and fixed-point weights.
  function coefficients(inSize, outSize, filter) {
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1);
    const support = filter.support * filterScale;
    const taps = [];
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
      const weights = [];
      let total = 0;
      for (let x = 0; x < xmax; x++) {
        const w = filter.weight((x + xmin - center + 0.5) / filterScale);
        weights.push(w);
        total += w;
      }
      const fixed = weights.map((w) => {
        const v = total !== 0 ? w / total : w;
        return Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
      });
      taps.push({ start: xmin, weights: fixed });
    }
    return taps;
  }

  function clip8(sum) {
    return Math.min(255, Math.max(0, Math.floor(sum / (1 << PRECISION_BITS))));
  }

  // Image.resize: the horizontal pass (8-bit rounded), then the vertical one, each only if needed.
  function resize(image, height, width, filterName) {
    if (image.height === height && image.width === width) return image;
    const filter = FILTERS[filterName];
    const { channels } = image;
    let current = image;
    if (current.width !== width) {
      const taps = coefficients(current.width, width, filter);
      const out = new Uint8Array(current.height * width * channels);
      for (let y = 0; y < current.height; y++) {
        for (let x = 0; x < width; x++) {
          const { start, weights } = taps[x];
          for (let c = 0; c < channels; c++) {
            let sum = 1 << (PRECISION_BITS - 1);
            for (let k = 0; k < weights.length; k++) {
              sum += current.pixels[(y * current.width + start + k) * channels + c] * weights[k];
            }
            out[(y * width + x) * channels + c] = clip8(sum);
          }
        }
      }
      current = { pixels: out, height: current.height, width, channels };
    }
    if (current.height !== height) {
      const taps = coefficients(current.height, height, filter);
      const out = new Uint8Array(height * width * channels);
      for (let y = 0; y < height; y++) {
        const { start, weights } = taps[y];
        for (let x = 0; x < width; x++) {
          for (let c = 0; c < channels; c++) {
            let sum = 1 << (PRECISION_BITS - 1);
            for (let k = 0; k < weights.length; k++) {
              sum += current.pixels[((start + k) * width + x) * channels + c] * weights[k];
            }
            out[(y * width + x) * channels + c] = clip8(sum);
          }
        }
      }
      current = { pixels: out, height, width, channels };
    }
    return current;
  }

  function median(values) {
    const sorted = Float64Array.from(values).sort();
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  function roundHalfEven(x) { // Python's round()
    const floor = Math.floor(x);
    const diff = x - floor;
    if (diff > 0.5) return floor + 1;
    if (diff < 0.5) return floor;
    return floor % 2 === 0 ? floor : floor + 1;
  }

  // Each pixel's luminance (the mean over channels) and the median of the border's: runtime.images._border_level.
  function borderLevel(image) {
    const { channels, pixels } = image;
    const h0 = image.height, w0 = image.width;
    const luminance = new Float64Array(h0 * w0);
    for (let i = 0; i < luminance.length; i++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += pixels[i * channels + c];
      luminance[i] = sum / channels;
    }
    const ring = [];
    for (let x = 0; x < w0; x++) ring.push(luminance[x], luminance[(h0 - 1) * w0 + x]);
    for (let y = 0; y < h0; y++) ring.push(luminance[y * w0], luminance[y * w0 + w0 - 1]);
    return { luminance, level: median(ring) };
  }

  // runtime.images.fit_picture's resize rule: bilinear; a model trained on dark backgrounds sees a light-background
  // picture inverted first, as the frame rule does.
  function resizeOnBackground(image, height, width, background) {
    if (background === "dark" && borderLevel(image).level > 127.5) {
      const inverted = { ...image, pixels: image.pixels.map((v) => 255 - v) };
      return { image: resize(inverted, height, width, "bilinear"), inverted: true };
    }
    return { image: resize(image, height, width, "bilinear"), inverted: false };
  }

  // runtime.images._frame_on_dark: light object on black, cropped, centred on the model's aspect ratio, resized.
  function frameOnDark(image, height, width) {
    const { channels } = image;
    let { pixels } = image;
    const h0 = image.height, w0 = image.width;
    const measured = borderLevel(image);
    const { luminance } = measured;
    let level = measured.level;
    const inverted = level > 127.5;
    if (inverted) {
      pixels = pixels.map((v) => 255 - v);
      for (let i = 0; i < luminance.length; i++) luminance[i] = 255 - luminance[i];
      level = 255 - level;
    }
    if (!inverted && h0 === height && w0 === width) return { image, inverted: false };
    let top = h0, bottom = -1, left = w0, right = -1; // the object's bounding box
    for (let y = 0; y < h0; y++) {
      for (let x = 0; x < w0; x++) {
        if (luminance[y * w0 + x] > level + OBJECT_MARGIN) {
          top = Math.min(top, y); bottom = Math.max(bottom, y);
          left = Math.min(left, x); right = Math.max(right, x);
        }
      }
    }
    if (bottom < 0) [top, bottom, left, right] = [0, h0 - 1, 0, w0 - 1]; // no object: keep it all
    const h = bottom - top + 1, w = right - left + 1;
    const shift = roundHalfEven(level);
    // Pad (never crop) to the model's aspect ratio, centred; the background becomes black.
    let canvasH, canvasW;
    if (h * width >= w * height) { canvasH = h; canvasW = Math.max(w, Math.ceil((h * width) / height)); }
    else { canvasH = Math.max(h, Math.ceil((w * height) / width)); canvasW = w; }
    const canvas = new Uint8Array(canvasH * canvasW * channels);
    const offY = (canvasH - h) >> 1, offX = (canvasW - w) >> 1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < channels; c++) {
          const v = pixels[((top + y) * w0 + left + x) * channels + c] - shift;
          canvas[((offY + y) * canvasW + offX + x) * channels + c] = Math.min(255, Math.max(0, v));
        }
      }
    }
    const framed = { pixels: canvas, height: canvasH, width: canvasW, channels };
    return { image: resize(framed, height, width, "lanczos"), inverted };
  }

  async function fitPicture(source) {
    const model = await loaded;
    if (model.channels !== 1 && model.channels !== 3) {
      throw new Error(`a picture gives 1 or 3 channels, the model takes ${model.channels}`);
    }
    const decoded = await decode(source, model.channels, model.background);
    const fitted = model.fit === "frame"
      ? frameOnDark(decoded, model.height, model.width)
      : resizeOnBackground(decoded, model.height, model.width, model.background);
    return { pixels: Array.from(fitted.image.pixels), inverted: fitted.inverted };
  }

  async function predictPicture(source) {
    const model = await loaded;
    const fitted = await fitPicture(source);
    const [probabilities] = await predict(fitted.pixels, 1);
    let label = 0;
    probabilities.forEach((p, i) => { if (p > probabilities[label]) label = i; });
    return { ...fitted, probabilities, label, className: model.classNames[label], confidence: probabilities[label] };
  }

  window.edgeport = { ready, predict, fitPicture, predictPicture };
})();
