"""manifest.json as typed values: what export wrote about each file, read back by everyone else.

manifest.json is a public file format, read by other tools and people's scripts: these classes
change the code, not the file. Each one turns into the very JSON object it always was
(to_json) and back (from_json); a key is spelled once, as a field name. The schema version is
the top-level "edgeport" key; files of this version and older ones read, newer ones are refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from edgeport.runtime.errors import ManifestError
from edgeport.runtime.records import (  # noqa: F401 (the manifest's records, importable from here as always)
    MANIFEST_NAME,
    MISS_KINDS,
    Bar,
    Changed,
    M4Record,
    MicroRecord,
    Miss,
    NpuRecord,
    Record,
    Validation,
    Verdict,
)
from edgeport.runtime.modelinfo import OUTPUT_KINDS, PROBABILITIES, ModelInfo, Preprocessing

SCHEMA_VERSION = 2
MOBILE_TABLE = "mobile"  # the manifest's table of phone copies (.ort), beside "files"
WEB_MARKER = ".edgeport-web"  # in a page folder that `edgeport web` wrote: which model it runs
KIT_MARKER = ".edgeport-kit"  # in a firmware kit folder that `edgeport export --micro` wrote: which file it holds
# While an export moves its files into place, this journal in the folder names the staging folder
# and the files; if the export dies part-way, readers find the rest of the new export there and the
# next export finishes the move (export/publish.py).
PUBLISH_JOURNAL = ".edgeport-publish.json"
STAGING_PREFIX = ".export-"
# What a manifest written before the objective was recorded (edgeport 0.1) chose by: the smallest file.
LEGACY_OBJECTIVE = "size"


def is_plain_name(name) -> bool:
    """Whether name is a file name that stays in its folder: no separator, not '.', '..' or empty."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name \
        and "\0" not in name


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _info_from(value: dict, where: str) -> ModelInfo:
    """The facts every file carries, from the flat keys of an entry."""
    output = value.get("output")
    # Manifests before edgeport 0.2 described the output tensor under "output": not a kind.
    output = output if isinstance(output, str) and output in OUTPUT_KINDS else PROBABILITIES
    preprocessing = value.get("preprocessing")
    try:
        return ModelInfo(tuple(str(n) for n in value.get("class_names") or ()),
                         Preprocessing.unit() if preprocessing is None else Preprocessing.from_json(preprocessing),
                         output, value.get("background"), value.get("fit"))
    except ValueError as e:
        raise ManifestError(f"{where}: {e}; fix or remove {MANIFEST_NAME}") from e


@dataclass(frozen=True)
class FileEntry(Record):
    """The manifest's record of one exported file ("files" table).

    Attributes:
        format, quantization, bytes, sha256, tensors (input and output: name, shape, dtype,
        quantization), integer_only, info (class names, preprocessing, output kind, background:
        flat keys in the JSON), validation, and how the file was built where a rung searched:
        layers (per-layer SQNR), search, float_layers, wide_layers, calibration_method, weight_type, block_size;
        latency_us, one image's median latency at export (files within budget), and
        latency_interval_us, that median's 95 % interval; micro, for a
        microcontroller's file, how it runs in TensorFlow Lite Micro.
    """

    NESTED: ClassVar[dict] = {"validation": Validation, "micro": MicroRecord}
    OMIT_NONE: ClassVar[tuple] = ("validation", "integer_only", "tensors", "layers", "search", "float_layers",
                                  "wide_layers", "calibration_method", "weight_type", "block_size", "latency_us", "micro",
                                  "latency_interval_us", "equalized", "int16_layers",
                                  "activation_ranges")

    format: str
    quantization: str
    bytes: int
    sha256: str
    info: ModelInfo
    tensors: dict | None = None
    integer_only: bool | None = None
    validation: Validation | None = None
    layers: list | None = None
    search: list | None = None
    float_layers: list | None = None
    wide_layers: list | None = None
    calibration_method: str | None = None
    block_size: int | None = None
    latency_us: float | None = None  # one image, median, on the machine that exported it (the speed objective's)
    micro: MicroRecord | None = None  # a microcontroller's file (batch 1, integer): how it runs in TFLM
    latency_interval_us: list | None = None  # the median's 95 % interval [low, high] (since edgeport 0.3)
    equalized: list | None = None  # the layer pairs cross-layer equalisation rescaled, "first→second" (0.3)
    int16_layers: list | None = None  # an int8 file's layers with int16 activations (its search's choice)
    activation_ranges: str | None = None  # how an int8 TFLite file's activation ranges were chosen, when not minmax
    weight_type: str | None = None  # an int8 or mixed ONNX file's weights, "7-bit int8" or "uint8"

    def to_json(self) -> dict:
        record = super().to_json()
        info = record.pop("info")
        head = {key: record.pop(key) for key in ("format", "quantization", "bytes", "sha256") if key in record}
        tensors = {"tensors": record.pop("tensors")} if "tensors" in record else {}
        integer = {"integer_only": record.pop("integer_only")} if "integer_only" in record else {}
        return {**head, **tensors, **integer, **info, **record}

    @classmethod
    def from_json(cls, value, where: str = MANIFEST_NAME):
        if not isinstance(value, dict):
            raise ManifestError(f"{where}: expected a JSON object; got {type(value).__name__}")
        value = dict(value)
        value.setdefault("format", "unknown")
        value.setdefault("quantization", "unknown")
        value.setdefault("bytes", 0)
        return replace(super().from_json({**value, "info": None}, where), info=_info_from(value, where))


@dataclass(frozen=True)
class Accelerator(Record):
    """onnxruntime's mobile usability verdict for one phone accelerator."""

    verdict: str
    nodes: int
    supported_nodes: int
    partitions: int
    unsupported_ops: list


@dataclass(frozen=True)
class PhoneEntry(Record):
    """A phone copy (.ort, fixed batch) of an ONNX file, in the manifest's "mobile" table.

    A copy that could not be made has its source and error only.
    """

    NESTED: ClassVar[dict] = {"accelerators": (Accelerator,)}
    OMIT_NONE: ClassVar[tuple] = ("format", "quantization", "info", "bytes", "sha256", "batch", "tensors",
                                  "accelerators", "as_exported", "agreement_with_source", "max_abs_diff_vs_source",
                                  "images", "passed", "error")

    source: str
    source_sha256: str
    format: str | None = None
    quantization: str | None = None
    info: ModelInfo | None = None
    bytes: int | None = None
    sha256: str | None = None
    batch: int | None = None
    tensors: dict | None = None
    accelerators: dict | None = None
    as_exported: dict | None = None
    agreement_with_source: float | None = None
    max_abs_diff_vs_source: float | None = None
    images: int | None = None
    passed: bool | None = None
    error: str | None = None

    def to_json(self) -> dict:
        record = super().to_json()
        info = record.pop("info", None)
        head = {key: record.pop(key) for key in ("source", "source_sha256", "format", "quantization") if key in record}
        return {**head, **(info or {}), **record}

    @classmethod
    def from_json(cls, value, where: str = MANIFEST_NAME):
        if not isinstance(value, dict):
            raise ManifestError(f"{where}: expected a JSON object; got {type(value).__name__}")
        entry = super().from_json({**value, "info": None}, where)
        return entry if "error" in value else replace(entry, info=_info_from(value, where))


@dataclass(frozen=True)
class ModelSource(Record):
    """The Keras model the files were exported from, and its own figures on the validation data."""

    file: str
    sha256: str
    path: str | None = None
    name: str | None = None
    params: int | None = None
    input_shape: list | None = None
    accuracy: float | None = None
    per_class_accuracy: list | None = None
    confusion_matrix: list | None = None
    output: str | None = None  # the output (classifier head) the files were made from
    preprocessing_found: str | None = None  # where the files' preprocessing came from, and why


@dataclass(frozen=True)
class DataRecord(Record):
    """The validation data: which source and split, how many images, how pictures were fitted."""

    OMIT_NONE: ClassVar[tuple] = ("fit", "fit_found", "looks", "sequential")

    source: str
    kind: str
    split: str
    images: int
    reference: str = "reference_probs.npy"
    fit: str | None = None  # "frame" or "resize": the picture rule (runtime.images.Fitting)
    unreadable: int = 0  # pictures of the data (any split) left out because they could not be read
    fit_found: str | None = None  # why that rule, when export chose between the two on the model's answers
    looks: list | None = None  # the images seen at each look of the sequential validation (export.sequential)
    sequential: str | None = None  # its stopping rule, in words


@dataclass(frozen=True)
class CalibrationRecord(Record):
    """The images that calibrated the quantized files."""

    OMIT_NONE: ClassVar[tuple] = ("tuning_images",)

    source: str
    split: str
    images: int
    seed: int
    overlaps_validation: bool
    tuning_images: int | None = None


@dataclass(frozen=True)
class Board(Record):
    """What a microcontroller offers a model: RAM for the tensor arena and the picture, flash for the model
    array (a None size is not checked). about, a description for --help, stays out of the manifest."""

    name: str
    ram_bytes: int | None
    flash_bytes: int | None
    about: str = field(default="", compare=False)

    def to_json(self) -> dict:
        return {"name": self.name, "ram_bytes": self.ram_bytes, "flash_bytes": self.flash_bytes}


@dataclass(frozen=True)
class Recommendation(Record):
    """The smallest (or fastest) file within its bar and the budget, overall and per format.

    overall, tflite and onnx follow the objective ("balanced", "size" or "speed"); smallest and
    fastest name the choice of the last two, so a reader sees what the trade was.
    """

    NESTED: ClassVar[dict] = {"board": Board}
    OMIT_NONE: ClassVar[tuple] = ("smallest", "fastest", "micro", "board", "class_budget_pt")

    budget_pt: float
    integer_only: bool = False
    overall: str | None = None
    tflite: str | None = None
    onnx: str | None = None
    objective: str = LEGACY_OBJECTIVE
    smallest: str | None = None
    fastest: str | None = None
    micro: str | None = None  # the smallest microcontroller's file within budget (and the board)
    board: Board | None = None  # the microcontroller the micro file must fit
    class_budget_pt: float | None = None  # the recall points any one class could lose (since edgeport 0.3)


@dataclass(frozen=True)
class Manifest(Record):
    """manifest.json: the source model, the data, and one entry per exported file.

    Attributes:
        edgeport: the schema version. created: when (UTC, ISO 8601). source, data, calibration,
        onnx_opset, bars (each quantization's bar, and the size bar's ratio and allowance),
        versions (of every converter and engine), files, mobile (phone copies), skipped (rungs
        not built, and why), failed (rungs whose converter or engine failed, and its error), recommended.
    """

    NESTED: ClassVar[dict] = {"source": ModelSource, "data": DataRecord, "calibration": CalibrationRecord,
                              "files": (FileEntry,), MOBILE_TABLE: (PhoneEntry,), "recommended": Recommendation}
    OMIT_NONE: ClassVar[tuple] = ("created", "source", "data", "onnx_opset", "bars", "versions", "recommended")

    edgeport: int = SCHEMA_VERSION
    created: str | None = None
    source: ModelSource | None = None
    data: DataRecord | None = None
    calibration: CalibrationRecord | None = None
    onnx_opset: int | None = None
    bars: dict | None = None
    versions: dict | None = None
    files: dict = field(default_factory=dict)
    mobile: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    failed: dict = field(default_factory=dict)
    recommended: Recommendation | None = None

    @classmethod
    def from_json(cls, value, where: str = MANIFEST_NAME):
        if not isinstance(value, dict) or not isinstance(value.get("files"), dict):
            raise ManifestError(f"{where} has no 'files' table; re-run 'edgeport export' to rewrite it")
        version = value.get("edgeport", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version > SCHEMA_VERSION:
            raise ManifestError(f"{where} is of schema version {version!r}; this edgeport reads versions up to "
                                f"{SCHEMA_VERSION}: upgrade edgeport, or re-export with this one")
        manifest = super().from_json(value, where)
        manifest.check_names(where)
        return manifest

    def check_names(self, where: str = MANIFEST_NAME) -> None:
        """Refuse a manifest that names a file outside its own folder: every file name it holds (the
        tables' keys, a phone copy's source, the recommendation, the reference outputs, the source
        model) must be a plain name, and the recommended files must be listed.

        Raises:
            ManifestError: naming the entry and the value.
        """
        names = [("file", name) for name in (*self.files, *self.mobile, *self.skipped, *self.failed)]
        names += [("source of phone copy", entry.source) for entry in self.mobile.values()]
        names += [("NPU file", name) for name in npu_files(self.files)]
        if self.data is not None:
            names.append(("data.reference", self.data.reference))
        if self.source is not None:
            names.append(("source.file", self.source.file))
        for what, name in names:
            if not is_plain_name(name):
                raise ManifestError(f"{where}: {what} {name!r} is not a file name inside the manifest's folder; "
                                    f"re-run 'edgeport export' to rewrite it")
        chosen = self.recommended
        for key in ("overall", "tflite", "onnx", "smallest", "fastest", "micro") if chosen is not None else ():
            name = getattr(chosen, key)
            if name is not None and name not in self.files:
                raise ManifestError(f"{where}: recommended.{key} {name!r} is not one of its files; re-run "
                                    f"'edgeport export' to rewrite it")

    def to_text(self) -> str:
        return json.dumps(self.to_json(), indent=1) + "\n"

    def entry(self, name: str) -> FileEntry | PhoneEntry | None:
        """A file's record, in "files" or, for a phone copy, in "mobile"."""
        return self.files.get(name) or self.mobile.get(name)

    @property
    def info(self) -> ModelInfo | None:
        """The facts the files share (class names, preprocessing, output kind, background)."""
        return next((e.info for e in self.files.values()), None)

    def image_shape(self) -> tuple[int, int, int]:
        """The exported model's (height, width, channels)."""
        dims = list(self.source.input_shape[1:])
        return (dims[0], dims[1], dims[2] if len(dims) == 3 else 1)


def npu_files(files: dict[str, FileEntry]) -> list[str]:
    """The Vela-compiled files of files' micro entries (beside them; they run only on an Ethos-U board)."""
    return [e.micro.npu.file for e in files.values() if e.micro is not None and e.micro.npu is not None]


def pending_publish(folder: str | Path) -> tuple[Path, tuple[str, ...]] | None:
    """(staging folder, files in the order they are moved) of an export whose move into folder has not
    finished (it is under way, or its process died part-way); None when there is none.

    Raises:
        ManifestError: a journal that names anything outside the folder.
    """
    journal = Path(folder) / PUBLISH_JOURNAL
    if not journal.is_file():
        return None
    try:
        value = json.loads(journal.read_text(encoding="utf-8"))
        staging, names = value["staging"], tuple(value["files"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ManifestError(f"{journal} is unreadable ({e}): re-run 'edgeport export'") from e
    if not (is_plain_name(staging) and staging.startswith(STAGING_PREFIX) and all(map(is_plain_name, names))):
        raise ManifestError(f"{journal} names files outside {folder}: re-run 'edgeport export'")
    return Path(folder) / staging, names


def published_path(folder: str | Path, name: str) -> Path:
    """Where the export in folder keeps file name: beside its manifest, or, while a move is pending, the
    new version still in the staging folder. Either way the reader sees one whole export: the new one
    once its move has begun, the old one before."""
    pending = pending_publish(folder)
    if pending is not None and name in pending[1] and (pending[0] / name).is_file():
        return pending[0] / name
    return Path(folder) / name


def read_manifest(folder: str | Path) -> Manifest | None:
    """The manifest in folder (the new one while an export's move into folder is pending), or None.

    Raises:
        ManifestError: the manifest exists but is not valid JSON, lacks its tables, or is newer.
    """
    path = published_path(folder, MANIFEST_NAME)
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"{path} is not valid JSON ({e}); re-run 'edgeport export' to rewrite it") from e
    return Manifest.from_json(value, str(path))


def manifest_entry(model_path: str | Path) -> FileEntry | PhoneEntry | None:
    """The manifest's record of model_path (in "files", or "mobile" for a phone copy), or None when
    no manifest beside it names the file."""
    model_path = Path(model_path)
    manifest = read_manifest(model_path.parent)
    return None if manifest is None else manifest.entry(model_path.name)


def validation_data(manifest: Manifest, spec=None, data_dir=None, validation_only: bool = False):
    """The data set whose validation split the manifest's figures were measured on, fitted as then.

    Args:
        manifest: a manifest written by export.
        spec: another data source to load instead (any source of runtime.open_source).
        data_dir: where the Fashion-MNIST files are (default: the usual search path).
        validation_only: read the validation split alone.

    Returns:
        A Dataset at the exported model's input size; `.validation` gives (split name, Split).
    """
    from edgeport.runtime.datasets import load_dataset
    from edgeport.runtime.sources import FASHION_MNIST

    info = manifest.info
    return load_dataset(spec or (manifest.data.source if manifest.data else FASHION_MNIST), manifest.image_shape(),
                        data_dir, background=info.background if info else None, fit=info.fit if info else None,
                        class_names=info.class_names if info else None, validation_only=validation_only)
