"""What a model file carries about itself, so that a copy travelling alone still predicts right.

Class names, preprocessing (what the model wants from a pixel), output kind (probabilities or
logits) and the training images' background. Export writes them into manifest.json and into
the file itself (ONNX metadata_props, a named metadata buffer in a .tflite flatbuffer); the
runtime reads them back. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROBABILITIES, LOGITS = "probabilities", "logits"
OUTPUT_KINDS = (PROBABILITIES, LOGITS)
BACKGROUNDS = ("dark", "mixed")
FITS = ("frame", "resize")  # as runtime/images.py names the rules
METADATA_NAME = "edgeport"  # the .tflite metadata entry that holds ModelInfo as JSON
_SUM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Preprocessing:
    """uint8 pixels -> the model's input: pixels * scale + offset, one value or one per channel."""

    scale: tuple[float, ...] = (1.0 / 255.0,)
    offset: tuple[float, ...] = (0.0,)

    def __post_init__(self):
        for name in ("scale", "offset"):
            values = getattr(self, name)
            if not values or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in values):
                raise ValueError(f"preprocessing {name} must be one or more finite numbers; got {values!r}")
        if len(self.scale) != len(self.offset) and 1 not in (len(self.scale), len(self.offset)):
            raise ValueError(f"preprocessing has {len(self.scale)} scales but {len(self.offset)} offsets")
        if any(v == 0 for v in self.scale):
            raise ValueError(f"preprocessing scale must not be 0; got {self.scale!r}")

    @classmethod
    def unit(cls) -> "Preprocessing":
        """x / 255: pixel intensities in [0, 1], as the seed tutorial trains."""
        return cls()

    @classmethod
    def raw(cls) -> "Preprocessing":
        """Raw pixels 0..255, for a model that rescales or normalizes them itself."""
        return cls((1.0,), (0.0,))

    @classmethod
    def from_mean_std(cls, mean, std) -> "Preprocessing":
        """(x / 255 - mean) / std per channel, with mean and std given for intensities in [0, 1]."""
        mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
        if len(mean) != len(std):
            raise ValueError(f"got {len(mean)} means but {len(std)} standard deviations")
        if any(s <= 0 for s in std):
            raise ValueError(f"standard deviations must be > 0; got {std}")
        return cls(tuple(1.0 / (255.0 * s) for s in std), tuple(-m / s for m, s in zip(mean, std)))

    @property
    def channels(self) -> int:
        """How many channels the values are given for (1: the same for every channel)."""
        return max(len(self.scale), len(self.offset))

    @property
    def is_unit(self) -> bool:
        return self == Preprocessing.unit()

    def check_channels(self, channels: int) -> None:
        if self.channels not in (1, channels):
            raise ValueError(f"preprocessing gives {self.channels} values per channel for a model with "
                             f"{channels} channel{'s' if channels != 1 else ''}")

    def apply(self, pixels) -> np.ndarray:
        """float32 model input from uint8 pixels (channels last) or pixel values 0..255."""
        scale = np.asarray(self.scale, np.float32)
        offset = np.asarray(self.offset, np.float32)
        out = np.multiply(pixels, scale if len(scale) > 1 else scale[0], dtype=np.float32)
        if np.any(offset):
            out += offset if len(offset) > 1 else offset[0]
        return out

    def to_json(self) -> dict:
        def plain(values):
            return values[0] if len(values) == 1 else list(values)

        return {"input": "uint8 pixels", "scale": plain(self.scale), "offset": plain(self.offset)}

    @classmethod
    def from_json(cls, value) -> "Preprocessing":
        try:
            scale, offset = value["scale"], value["offset"]
            return cls(tuple(float(v) for v in np.atleast_1d(scale)), tuple(float(v) for v in np.atleast_1d(offset)))
        except (TypeError, KeyError, ValueError) as e:
            raise ValueError(f"preprocessing must give numeric 'scale' and 'offset'; got {value!r}") from e


@dataclass(frozen=True)
class ModelInfo:
    """The facts that travel with every exported file."""

    class_names: tuple[str, ...]
    preprocessing: Preprocessing = Preprocessing()
    output: str = PROBABILITIES
    background: str | None = None
    fit: str | None = None  # "frame" or "resize": the rule that fits pictures (None: the background's default)

    def __post_init__(self):
        if self.output not in OUTPUT_KINDS:
            raise ValueError(f"output must be one of {', '.join(OUTPUT_KINDS)}; got {self.output!r}")
        if self.background is not None and self.background not in BACKGROUNDS:
            raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)} or None; got {self.background!r}")
        if self.fit is not None and self.fit not in FITS:
            raise ValueError(f"fit must be one of {', '.join(FITS)} or None; got {self.fit!r}")

    def to_json(self) -> dict:
        record = {"class_names": list(self.class_names), "preprocessing": self.preprocessing.to_json(),
                  "output": self.output}
        if self.background is not None:
            record["background"] = self.background
        if self.fit is not None:
            record["fit"] = self.fit
        return record


def preprocess(images, preprocessing: Preprocessing | None = None) -> np.ndarray:
    """uint8 pixels -> float32 model input; by default x / 255, the seed tutorial's [0, 1]."""
    return (preprocessing or Preprocessing.unit()).apply(np.asarray(images))


def output_kind(outputs: np.ndarray) -> str:
    """"probabilities" when every row is non-negative and sums to 1 (within 1e-3), else "logits"."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.size and (outputs.min() < 0 or np.abs(outputs.sum(axis=-1) - 1.0).max() > _SUM_TOLERANCE):
        return LOGITS
    return PROBABILITIES


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=-1, keepdims=True)
    return shifted.astype(np.float32, copy=False)
