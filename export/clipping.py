"""4-bit weights that lose less: a copy of a Keras model whose kernels are already on their 4-bit grids.

A 4-bit weight tensor with one scale (what TFLM's packed kernels take) has 15 levels here (-7..7: the
quantizer's symmetric min-max rule, scale = max |w| / 7). Rounding each weight to its nearest level, as the
quantizer does, costs the seed MLP 6 points of agreement. Three corrections that need no training, each on
the calibration images:

- Clipping: each kernel's range is the threshold whose 4-bit rounding has the least squared error against
  the float weights (searched over fractions of max |w|), so a few outliers are clipped and the bulk gets
  finer steps ("MSE range setting": Nagel et al., "A White Paper on Neural Network Quantization", 2021, 3.4).
- Error feedback (GPTQ: Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative
  Pre-trained Transformers", 2023): a Dense or Conv2D kernel is rounded one input row at a time, and each
  row's rounding error is spread over the rows not yet rounded through the inverse of the layer inputs'
  second moments (X^T X), so that the layer's outputs on those inputs move least. Layers are taken in order,
  each on the inputs the already rounded layers before it give.
- Bias correction: the rounding shifts each output channel's mean by E[x] . (W - Q(W)); the bias takes the
  measured shift back (Nagel et al., "Data-Free Quantization Through Weight Equalization and Bias
  Correction", 2019, empirical variant).

The copy's kernels are Q(W) themselves, on a grid whose largest level is the threshold: the quantizer's
min-max rule finds that grid again and writes these very weights. The micro-w4 rung converts the copy of the
model as trained or of its cross-layer equalised copy (export.equalize), whichever scores higher.
"""

from __future__ import annotations

import numpy as np

# The thresholds tried, as fractions of max |w|.
FRACTIONS = np.linspace(0.3, 1.0, 71)
# Calibration images the layer inputs are measured on, and how many go through a layer at a time.
IMAGES, CHUNK = 256, 32
# GPTQ's damping of X^T X's diagonal, as a fraction of its mean (the paper's 1 %).
DAMPING = 0.01


def four_bit(model, images: np.ndarray) -> tuple[object, list[str]]:
    """A copy of model with every Dense and Conv2D kernel clipped and rounded to its 4-bit grid (one scale per
    tensor) with error feedback and each bias corrected, measured on images
    (float32, as the model takes them); and the names of those layers. (model, []) when it has none or cannot
    be copied."""
    import keras

    weighted = [layer for layer in model.layers if _kind(layer)]
    if not weighted:
        return model, []
    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    except Exception:  # a layer Keras cannot rebuild from its config: the rung converts the model as it is
        return model, []
    images = images[:IMAGES]
    for layer in (copy.get_layer(layer.name) for layer in weighted):
        weights = layer.get_weights()
        kernel, limit = weights[0], threshold(weights[0])
        x = keras.Model(copy.inputs, layer.input).predict(images, batch_size=CHUNK, verbose=0)
        moments, mean = _statistics(layer, x)
        rounded = gptq(kernel.reshape(-1, kernel.shape[-1]), moments, limit).reshape(kernel.shape)
        if len(weights) > 1:  # the bias takes back the mean shift E[x] . (W - Q(W)); no bias: the shift stays
            shift = mean @ (kernel - rounded).reshape(-1, kernel.shape[-1])
            weights[1] = (weights[1] + shift).astype(np.float32)
        layer.set_weights([rounded, *weights[1:]])
    return copy, [layer.name for layer in weighted]


def gptq(kernel: np.ndarray, moments: np.ndarray, limit: float) -> np.ndarray:
    """kernel (inputs, outputs) on its 4-bit grid of largest level limit, rounded an input row at a time with
    each row's error spread over the later rows by the inverse of the inputs' second moments (inputs, inputs)."""
    w = kernel.astype(np.float64)
    h = moments.astype(np.float64)
    dead = np.diag(h) == 0  # an input that is always 0: its weights do nothing
    h[dead, dead] = 1.0
    w[dead] = 0.0
    h[np.diag_indices_from(h)] += DAMPING * float(np.mean(np.diag(h)))
    try:
        upper = np.linalg.cholesky(np.linalg.inv(h)).T
    except np.linalg.LinAlgError:  # not positive definite even damped: plain rounding
        return on_grid(kernel, limit)
    out = np.empty_like(w)
    for row in range(len(w)):
        out[row] = on_grid(w[row], limit)
        error = (w[row] - out[row]) / upper[row, row]
        w[row + 1:] -= np.outer(upper[row, row + 1:], error)
    return out.astype(np.float32)


def threshold(kernel: np.ndarray) -> float:
    """The clipping threshold of kernel whose 4-bit rounding has the least squared error."""
    top = float(np.abs(kernel).max())
    if top == 0.0:
        return 0.0
    errors = [float(np.sum((on_grid(kernel, top * f) - kernel) ** 2)) for f in FRACTIONS]
    return top * float(FRACTIONS[int(np.argmin(errors))])


def on_grid(kernel: np.ndarray, limit: float) -> np.ndarray:
    """kernel rounded to the symmetric 4-bit grid whose largest level is limit: levels -7..7 of limit / 7 (-8 would
    make the largest magnitude 8/7 of limit, and the quantizer's min-max rule would then pick another grid)."""
    if limit == 0.0:
        return np.zeros_like(kernel)
    step = np.float32(limit / 7)
    return (np.clip(np.round(kernel / step), -7, 7) * step).astype(np.float32)


def _kind(layer) -> str | None:
    """"dense" or "conv" for the layers whose kernels the quantizer makes 4-bit; None for the others (LiteRT
    Quantizer's 4-bit recipe leaves DEPTHWISE_CONV_2D in float32, so a depthwise kernel keeps its float weights)."""
    import keras

    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return None
    if isinstance(layer, keras.layers.Conv2D):
        return "conv" if layer.data_format == "channels_last" and getattr(layer, "groups", 1) == 1 else None
    return "dense" if isinstance(layer, keras.layers.Dense) else None


def _statistics(layer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The second moments X^T X / n and the mean of what the layer's kernel rows multiply (x's last axis for
    Dense, the (kh, kw, channels) patches of x for Conv2D, in the kernel's row order), a few images at a time."""
    moments, sums, count = 0.0, 0.0, 0
    for start in range(0, len(x), CHUNK):
        rows = _rows(layer, x[start:start + CHUNK]).astype(np.float64)
        moments, sums, count = moments + rows.T @ rows, sums + rows.sum(axis=0), count + len(rows)
    return moments / count, sums / count


def _rows(layer, x: np.ndarray) -> np.ndarray:
    if _kind(layer) == "dense":
        return x.reshape(-1, x.shape[-1])
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation_rate
    n, height, width, channels = x.shape
    if layer.padding == "same":  # TensorFlow's: the odd pixel of padding goes after
        out_h, out_w = -(-height // sh), -(-width // sw)
        pad_h = max((out_h - 1) * sh + (kh - 1) * dh + 1 - height, 0)
        pad_w = max((out_w - 1) * sw + (kw - 1) * dw + 1 - width, 0)
        x = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    else:
        out_h, out_w = (height - (kh - 1) * dh - 1) // sh + 1, (width - (kw - 1) * dw - 1) // sw + 1
    patches = [x[:, i * dh: i * dh + (out_h - 1) * sh + 1: sh, j * dw: j * dw + (out_w - 1) * sw + 1: sw]
               for i in range(kh) for j in range(kw)]
    return np.stack(patches, axis=3).reshape(-1, kh * kw * channels)
