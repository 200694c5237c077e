"""Load an exported .tflite, .onnx or .ort file and predict class probabilities.

Only numpy, onnxruntime and ai_edge_litert: this module is what runs on a device.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgeport.runtime.errors import IntegrityError, ModelFileError
from edgeport.runtime.manifest import MANIFEST_NAME, FileEntry, PhoneEntry, manifest_entry, published_path, sha256_bytes
from edgeport.runtime.images import fitting
from edgeport.runtime.modelinfo import (
    BACKGROUNDS,
    LOGITS,
    OUTPUT_KINDS,
    PROBABILITIES,
    Preprocessing,
    softmax,
)

DEFAULT_BATCH_SIZE = 256
SUFFIXES = (".tflite", ".onnx", ".ort")
_TFLITE_IDENTIFIER = b"TFL3"  # flatbuffer file identifier, bytes 4..8 of every .tflite file
_ORT_IDENTIFIER = b"ORTM"  # likewise for ONNX Runtime's own format (.ort, made for phones)
_MIN_MODEL_BYTES = 8
_METADATA_KEYS = ("class_names", "preprocessing", "quantization", "background", "fit", "output")


class Prediction(NamedTuple):
    """One image's result: the winning class and every class's probability."""

    label: int
    class_name: str
    confidence: float
    probabilities: np.ndarray


class Predictor:
    """Shared input handling for every engine.

    Subclasses set _sample_shape and num_classes, and implement _run (one engine call on an
    encoded batch), describe and _detect_quantization; integer models override the encoders.

    Attributes:
        path, format ("tflite" | "onnx" | "ort"), quantization ("none" | "float16" | "dynamic" | "int8" |
        "int16" | "int4" | "mixed" | "unknown"), size_bytes, input_shape (batch dimension None, as Keras
        writes it, or the file's fixed batch),
        image_shape (height, width, channels), num_classes, class_names, preprocessing (a
        Preprocessing), output ("probabilities" | "logits": what the file computes; predict always
        returns probabilities), background ("dark" | "mixed" | None when the file does not say),
        fitting (runtime.images.Fitting: the rule that fits pictures, "frame" or "resize", and the
        background),
        fixed_batch (the one batch size the file takes, e.g. 1 for a phone's .ort file; None when any),
        batch_dependent (whether the file's answer for an image depends on the other images of its
        batch: then each engine call gets one image, and every answer is the batch-1 answer its
        manifest figures are for).
    """

    fixed_batch: int | None = None
    batch_dependent = False
    file: ModelFile  # the bytes the engine runs, as they were read and checked (set by from_file)

    @property
    def verified(self) -> bool:
        """Whether the file's bytes were checked against its manifest or signature (False: verify=False)."""
        return self.file.verified

    format = ""

    def __init__(self, path: Path, size_bytes: int, entry: FileEntry | PhoneEntry | None, metadata: dict[str, str]):
        self.path = path
        self.size_bytes = size_bytes
        entry = _entry_facts(entry)
        sample = self._sample_shape
        if len(sample) not in (2, 3):
            raise ModelFileError(f"{path.name}: expected an image model, input (N, H, W) or (N, H, W, C); "
                                 f"got input shape (N, {', '.join(map(str, sample))})")
        self.input_shape = (self.fixed_batch, *sample)
        # Height, width, channels: a model without a channel axis takes one channel.
        self.image_shape = (sample[0], sample[1], sample[2] if len(sample) == 3 else 1)
        self._single_shape = sample  # the fast path: exactly one image in the model's own layout
        self.class_names = tuple(_first(entry, metadata, "class_names") or (str(i) for i in range(self.num_classes)))
        if len(self.class_names) != self.num_classes:
            raise ModelFileError(
                f"{path.name}: {len(self.class_names)} class names for a model with {self.num_classes} outputs; "
                f"fix or remove {MANIFEST_NAME}"
            )
        recorded = _first(entry, metadata, "preprocessing")
        try:
            self.preprocessing = Preprocessing.unit() if recorded is None else Preprocessing.from_json(recorded)
            self.preprocessing.check_channels(self.image_shape[2])
        except ValueError as e:
            raise ModelFileError(f"{path.name}: {e}") from None
        # Scale and offset as numpy values once, for the hot path: per channel or one for all.
        scale, offset = (np.asarray(v, np.float32) for v in (self.preprocessing.scale, self.preprocessing.offset))
        self._scale = scale if scale.size > 1 else scale[0]
        self._offset = offset if offset.size > 1 else offset[0]
        self._has_offset = bool(np.any(offset))  # decided once: np.any costs more than the multiply
        self._unit = self.preprocessing.is_unit
        if not self._has_offset:  # the common encoder in one call: predict_one's cost is mostly Python's
            scale_ = self._scale
            self._encode_pixels = lambda pixels: np.multiply(pixels, scale_, dtype=np.float32)
        output = _first(entry, metadata, "output")
        # Files before edgeport 0.2 described the output tensor under "output": not a kind.
        self.output = output if isinstance(output, str) else PROBABILITIES
        if self.output not in OUTPUT_KINDS:
            raise ModelFileError(f"{path.name}: output must be one of {', '.join(OUTPUT_KINDS)}; got {self.output!r}")
        self._logits = self.output == LOGITS
        self.quantization = _first(entry, metadata, "quantization") or self._detect_quantization()
        # The training images' background ("dark" or "mixed") and the rule that fits pictures (recorded since
        # edgeport 0.3; before, the background's default rule).
        self.background = _first(entry, metadata, "background")
        fit = _first(entry, metadata, "fit")
        try:
            self.fitting = fitting(self.background if self.background in BACKGROUNDS else None, fit)
        except ValueError as e:
            raise ModelFileError(f"{path.name}: {e}") from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path.name} {self.quantization} input={self.input_shape}>"

    def predict(self, images, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities for one image or a batch.

        Args:
            images: uint8 pixels (0..255) or floats in [0, 1]; one image (H, W[, C]) or a
                batch (N, H, W[, C]); a missing channel axis of size 1 is added.
            batch_size: images per engine call (default 256), so memory stays bounded: a conv
                net's activations (and im2col buffers) at batch 1000 took 600 MB more.

        Returns:
            float32 array (N, num_classes); (0, num_classes) for an empty batch.

        Raises:
            TypeError: images are not numeric.
            ValueError: wrong rank, size or channel count; NaN or inf; values out of range.
        """
        step = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
        if not isinstance(step, (int, np.integer)) or isinstance(step, bool) or step < 1:
            raise ValueError(f"batch_size must be a positive whole number; got {batch_size!r}")
        batch, encode = self._prepare(images)
        if not len(batch):
            return np.empty((0, self.num_classes), np.float32)
        if len(batch) <= step:
            out = self._infer(encode(batch))
        else:
            out = np.empty((len(batch), self.num_classes), dtype=np.float32)
            for start in range(0, len(batch), step):
                # Encoding chunk by chunk keeps memory bounded and the data in cache.
                out[start : start + step] = self._infer(encode(batch[start : start + step]))
        return softmax(out) if self._logits else out

    def predict_one(self, image) -> Prediction:
        """The prediction for a single image (a batch of one is accepted too).

        The call a device makes per frame: uint8 pixels in the model's own layout go straight to the
        engine's encoding, a few microseconds over the bare engine call.
        """
        if type(image) is np.ndarray and image.dtype == np.uint8 and image.shape == self._single_shape:
            batch, encode = image[None], self._encode_pixels
        else:
            batch, encode = self._prepare(image)
            if len(batch) != 1:
                raise ValueError(f"predict_one takes one image; got a batch of {len(batch)}: use predict() for batches")
        probabilities = self._infer(encode(batch))[0]
        if self._logits:
            probabilities = softmax(probabilities)
        label = int(probabilities.argmax())
        return Prediction(label, self.class_names[label], float(probabilities[label]), probabilities)

    def _prepare(self, images):
        """Check images against the model's input.

        Returns:
            (batch, encode): the images as a batch in the model's layout, still in the caller's
            dtype, and the function that turns a chunk of it into the engine's input.
        """
        x = images if isinstance(images, np.ndarray) else np.asarray(images)
        if x.dtype == np.uint8:  # the common case, checked first; uint8 is always in range
            if x.shape == self._single_shape:
                return x[None], self._encode_pixels
            return self._as_batch(x), self._encode_pixels
        kind = x.dtype.kind
        if kind not in "uif":
            raise TypeError(
                f"{self.path.name}: images must be numeric (uint8 pixels or floats in [0, 1]); got dtype {x.dtype}"
            )
        x = self._as_batch(x)
        if x.size == 0:
            return x, self._encode_floats
        lo, hi = x.min(), x.max()
        if kind in "ui":
            if lo < 0 or hi > 255:
                raise ValueError(f"{self.path.name}: integer images must be pixels in 0..255; got values in [{lo}, {hi}]")
            return x.astype(np.uint8), self._encode_pixels
        # NaN fails both comparisons, so one test covers NaN, inf and the range.
        if not (lo >= 0.0 and hi <= 1.0):
            if not np.isfinite(x).all():
                raise ValueError(f"{self.path.name}: images contain NaN or inf")
            raise ValueError(
                f"{self.path.name}: float images must be in [0, 1]; got values in [{lo:g}, {hi:g}] "
                f"(pass uint8 pixels, or divide by 255)"
            )
        return x, self._encode_floats

    def _preprocess(self, pixels: np.ndarray) -> np.ndarray:
        """Pixel values 0..255 -> the model's float32 input: pixels * scale + offset."""
        out = np.multiply(pixels, self._scale, dtype=np.float32)
        return out + self._offset if self._has_offset else out

    # Float engines take the preprocessed float32 input; integer models override these two.
    def _encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        return self._preprocess(pixels)

    def _encode_floats(self, x: np.ndarray) -> np.ndarray:
        """Floats are pixel intensities in [0, 1]: x * 255 through the preprocessing."""
        if self._unit:
            return x.astype(np.float32, copy=False)
        return self._preprocess(x * np.float32(255.0))

    def _as_batch(self, x: np.ndarray) -> np.ndarray:
        h, w, c = self.image_shape
        shape = x.shape
        if shape == (h, w, c) or (c == 1 and shape == (h, w)):  # one image
            batch = x[None]
        elif shape[1:] == (h, w, c) or (c == 1 and x.ndim == 3 and shape[1:] == (h, w)):  # a batch
            batch = x
        else:
            raise ValueError(f"{self.path.name}: {self._shape_problem(shape)}")
        return batch.reshape((len(batch), *self._sample_shape))

    def _shape_problem(self, shape: tuple) -> str:
        h, w, c = self.image_shape
        wanted = f"one image ({h}, {w}{f', {c}' if c > 1 else ''}) or a batch (N, {h}, {w}, {c})"
        if len(shape) not in (2, 3, 4):
            return f"expected {wanted}; got an array of shape {shape} (rank {len(shape)})"
        if len(shape) == 2:
            spatial, channels = shape, 1
        elif len(shape) == 4:
            spatial, channels = shape[1:3], shape[3]
        elif shape[1:] == (h, w):
            spatial, channels = shape[1:], 1
        else:
            spatial, channels = shape[:2], shape[2]
        if tuple(spatial) != (h, w):
            return f"expected images of {h}x{w} pixels; got {spatial[0]}x{spatial[1]} (array shape {shape})"
        return f"expected {c} channel{'s' if c > 1 else ''}; got {channels} (array shape {shape}): {wanted}"

    def describe(self) -> dict:
        """The file's input and output tensors: name, shape (batch None), dtype, quantization."""
        raise NotImplementedError

    # Engine-specific parts.
    _sample_shape: tuple[int, ...] = ()
    num_classes = 0

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        """The engine's float32 outputs for an encoded batch."""
        raise NotImplementedError

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """One engine call on an encoded batch -> float32 outputs."""
        raise NotImplementedError

    def _in_steps(self, batch: np.ndarray, step: int | None) -> np.ndarray:
        """_run on batch, step images a call (None: all at once); a file that takes exactly step images gets
        its last slice padded."""
        if step is None or len(batch) == step:
            return self._run(batch)
        out = np.empty((len(batch), self.num_classes), np.float32)
        for start in range(0, len(batch), step):
            part = batch[start : start + step]
            if len(part) < step:
                part = np.concatenate([part, np.zeros((step - len(part), *part.shape[1:]), part.dtype)])
            out[start : start + step] = self._run(part)[: len(batch) - start]
        return out

    def _detect_quantization(self) -> str:
        raise NotImplementedError


class ModelFile(NamedTuple):
    """A model file as it was read, once: the very bytes that run, and what its manifest says of them.

    Every engine a Predictor starts (its own, a scoring worker's, a Ray actor's) is built from these
    bytes, never by opening the path again, so a file swapped on disk after the check never runs.

    Attributes:
        path: where the file was read (its name and suffix say what it is).
        content: its bytes.
        entry: its manifest record (None when no manifest beside it names it, or verification is off).
        data_dir: the folder where an ONNX file's external data may be (None: external data is refused).
        verified: whether content was checked against a manifest (or a signature).
    """

    path: Path
    content: bytes
    entry: FileEntry | PhoneEntry | None
    data_dir: Path | None
    verified: bool


def load(path: str | os.PathLike, threads: int | None = None, verify: bool = True) -> Predictor:
    """Load an exported model for inference.

    Args:
        path: a .tflite, .onnx or .ort file.
        threads: the engine's intra-op threads (default: the engine's choice).
        verify: when manifest.json sits beside the file, refuse the file unless its sha256
            matches the manifest. False skips the check on purpose.

    Returns:
        A Predictor; class names and preprocessing come from the manifest, else from ONNX
        metadata, else labels are numbers. The file is read once: the bytes checked are the
        bytes that run.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unsupported suffix, empty or malformed file, malformed manifest (with
            verify=False: a warning, and the manifest is ignored).
        IntegrityError (a ValueError): the sha256 does not match the manifest.
    """
    path = Path(path)
    check_suffix(path)
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive whole number or None; got {threads!r}")
    try:
        source = published_path(path.parent, path.name)  # the new file while an export's move is pending
    except ValueError:  # a malformed journal: the manifest's check below says so, or ignores it
        source = path
    if not source.exists():
        raise FileNotFoundError(f"{path}: no such model file")
    if not source.is_file():
        raise ModelFileError(f"{path} is not a file")
    content = source.read_bytes()
    try:
        entry = manifest_entry(path)
    except ValueError as e:
        if verify:
            raise
        warnings.warn(f"{e}; ignored because verification is off", stacklevel=2)
        entry = None
    if verify and entry is not None:
        actual = sha256_bytes(content)
        if actual != entry.sha256:
            raise IntegrityError(path, actual, entry.sha256)
    return from_file(ModelFile(path, content, entry, source.parent, verify), threads)


def check_suffix(path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise ModelFileError(f"expected a path ending in '.tflite', '.onnx' or '.ort'; got {str(path)!r}")


def from_file(file: ModelFile, threads: int | None = None) -> Predictor:
    """A Predictor on a model file's bytes as read (load's second half; scoring workers start theirs here).

    Raises:
        ValueError (ModelFileError): an empty, malformed or unrunnable file.
    """
    path, content = file.path, file.content
    if len(content) < _MIN_MODEL_BYTES:
        raise ModelFileError(f"{path.name} is {'empty' if not content else f'only {len(content)} bytes'}: not a model file")
    if path.suffix.lower() == ".tflite":
        if content[4:8] != _TFLITE_IDENTIFIER:
            raise ModelFileError(f"{path.name} is not a TFLite model: no 'TFL3' flatbuffer identifier")
        from edgeport.runtime.tflite_predictor import TFLitePredictor  # the engines' modules import this one

        predictor = TFLitePredictor(path, content, file.entry, threads)
    else:
        if path.suffix.lower() == ".ort" and content[4:8] != _ORT_IDENTIFIER:
            raise ModelFileError(f"{path.name} is not an ORT-format model: no 'ORTM' flatbuffer identifier")
        from edgeport.runtime.onnx_predictor import OnnxPredictor

        predictor = OnnxPredictor(path, content, file.entry, threads, file.data_dir)
    predictor.file = file
    # Engines prepare lazily (LiteRT's delegate on the first invoke): one call on a blank image
    # here makes load() refuse a file that parses but cannot run, and warms the first predict.
    predictor.predict(np.zeros(predictor._single_shape, np.uint8))
    return predictor


def _entry_facts(entry: FileEntry | PhoneEntry | None) -> dict:
    """The facts a manifest entry records, by the keys the file's own metadata uses."""
    if entry is None or entry.info is None:
        return {}
    facts = {**entry.info.to_json(), "quantization": entry.quantization}
    return {key: value for key, value in facts.items() if value not in (None, [])}


def _first(entry: dict | None, metadata: dict, key: str):
    """A model fact from the manifest entry, else the file's own metadata, else None."""
    if entry and entry.get(key) is not None:
        return entry[key]
    return metadata.get(key)


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    # LiteRT's error reporter runs its messages together ("... XNNPACK delegateunsupported datatype ...
    # tensor 10Node number 6 ..."): part them where one message's end meets the next one's start.
    text = _RUN_TOGETHER.sub(r"\g<0>; ", text)
    return text if len(text) <= 300 else text[:297] + "..."


_RUN_TOGETHER = re.compile(r"delegate(?=[a-rt-z])|\d(?=[A-Z][a-z]{2,})")
