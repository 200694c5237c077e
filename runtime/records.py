"""The records manifest.json is made of: each one a frozen dataclass that is one JSON object, turned into it
(to_json) and back (from_json), a key spelled once, as a field name. runtime/manifest.py assembles them into
the manifest; this module holds the machinery and the records of a file's validation and its micro proof.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields, is_dataclass
from enum import Enum
from typing import ClassVar

from edgeport.runtime.errors import ManifestError

MANIFEST_NAME = "manifest.json"


def _plain(value):
    """A value as JSON takes it: records by their to_json, tuples as lists."""
    if is_dataclass(value):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Record:
    """A frozen dataclass that is one JSON object of the manifest.

    Subclasses name the fields that hold other records (NESTED: field -> class, (class,) for a
    table of them by name, or [class] for a list of them) and the optional fields left out of the JSON when None (OMIT_NONE).
    """

    NESTED: ClassVar[dict] = {}
    OMIT_NONE: ClassVar[tuple] = ()

    def to_json(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in self.OMIT_NONE:
                continue
            out[f.name] = _plain(value)
        return out

    @classmethod
    def from_json(cls, value, where: str = MANIFEST_NAME):
        """The record from its JSON object.

        Raises:
            ManifestError: not an object, a missing key, or a value of the wrong kind (where names it).
        """
        if not isinstance(value, dict):
            raise ManifestError(f"{where}: expected a JSON object; got {type(value).__name__}")
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for key, item in value.items():
            if key not in known:
                continue  # a key from a newer minor version: kept out of the typed view
            kind = cls.NESTED.get(key)
            if isinstance(kind, tuple) and item is not None:
                if not isinstance(item, dict):
                    raise ManifestError(f"{where}: '{key}' must be a table of objects; got {type(item).__name__}")
                item = {name: kind[0].from_json(entry, f"{where}: {key}.{name}") for name, entry in item.items()}
            elif isinstance(kind, list) and item is not None:
                if not isinstance(item, list):
                    raise ManifestError(f"{where}: '{key}' must be a list of objects; got {type(item).__name__}")
                item = [kind[0].from_json(entry, f"{where}: {key}[{i}]") for i, entry in enumerate(item)]
            elif kind is not None and item is not None:
                item = kind.from_json(item, f"{where}: {key}")
            kwargs[key] = item
        try:
            return cls(**kwargs)
        except TypeError as e:  # a required key is missing
            missing = [name for name, f in known.items() if name not in kwargs and _required(f)]
            raise ManifestError(f"{where}: missing {', '.join(repr(m) for m in missing) or 'keys'}; re-run "
                                f"'edgeport export' to rewrite it") from e
        except ValueError as e:
            raise ManifestError(f"{where}: {e}; re-run 'edgeport export' to rewrite it") from e


def _required(f) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


@dataclass(frozen=True)
class Bar(Record):
    """What a file must meet on the validation data, against the Keras model."""

    OMIT_NONE: ClassVar[tuple] = ("max_class_drop",)

    min_agreement: float
    max_accuracy_change: float  # points as a fraction: 0.0005 = 0.05 pt
    two_sided: bool  # float files must not change accuracy either way; quantized ones may only not drop
    max_abs_diff: float | None  # None: reported, not checked
    # the most any one class's recall may drop (a fraction; since edgeport 0.3, None in older manifests)
    max_class_drop: float | None = None


@dataclass(frozen=True)
class Changed(Record):
    """The validation images whose class a file changed, and the file's class for each."""

    indices: list
    predicted: list


class Verdict(str, Enum):
    """What the evidence says of a file against its bars (export.verdict decides it)."""

    PASS = "pass"  # every bar met
    FAIL = "fail"  # a bar missed, and its interval lies beyond it: the evidence says so
    CANNOT_TELL = "cannot tell"  # a bar missed by the point estimate, and its interval still reaches it
    ADVISORY = "advisory"  # only the max-difference bar missed, while agreement and accuracy meet theirs


MISS_KINDS = ("agreement", "accuracy", "class", "difference", "size")


@dataclass(frozen=True)
class Miss(Record):
    """One bar a file's point estimate misses.

    Attributes:
        kind: which bar (MISS_KINDS).
        bar: the bar's figure: the least agreement, the largest accuracy change (a fraction), the largest
            drop of one class's recall (a fraction), the largest probability difference, or the most bytes.
        value: the file's figure, in the same unit.
        interval: its 95 % interval, when it has one.
        verdict: FAIL (settled), CANNOT_TELL (the interval still reaches the bar) or ADVISORY.
        text: the miss in words, for a person.
    """

    kind: str
    bar: float
    value: float
    interval: list | None
    verdict: str
    text: str

    def __post_init__(self):
        if self.kind not in MISS_KINDS:
            raise ValueError(f"a miss's kind must be one of {', '.join(MISS_KINDS)}; got {self.kind!r}")
        object.__setattr__(self, "verdict", Verdict(self.verdict))


@dataclass(frozen=True)
class Validation(Record):
    """One file's figures on the validation images against the Keras reference, and its verdict."""

    NESTED: ClassVar[dict] = {"changed": Changed, "bar": Bar, "misses": [Miss]}
    OMIT_NONE: ClassVar[tuple] = ("agreement_interval", "accuracy_change_interval", "unresolved", "images_to_settle",
                                  "advisories", "kernels", "verdict", "misses", "balanced_accuracy",
                                  "reference_balanced_accuracy", "worst_class", "worst_class_change",
                                  "worst_class_interval", "images", "confidence")

    accuracy: float
    reference_accuracy: float
    accuracy_change: float
    agreement: float
    max_abs_diff: float
    per_class_accuracy: list
    confusion_matrix: list
    changed: Changed
    bytes: int
    size_ratio: float | None
    size_limit_bytes: int | None
    bar: Bar
    failures: list  # the bars the evidence says the file misses (its interval lies beyond the bar)
    passed: bool
    batch: int | str = "any"  # the batch size the figures hold for: 1 for a file whose answers depend on it
    # 95 % intervals (paired with the Keras model on the same images): [low, high]
    agreement_interval: list | None = None
    accuracy_change_interval: list | None = None
    # the bars whose point estimate the file misses but whose interval still reaches: the images cannot tell
    unresolved: list | None = None
    # validation images that would settle every bar the interval straddles, at the figures seen
    images_to_settle: int | None = None
    # a max-difference bar missed while agreement and accuracy meet theirs: said, not failed
    advisories: list | None = None
    # the engine and kernels the figures come from ("LiteRT (XNNPACK)", "TFLM reference kernels"...)
    kernels: str | None = None
    # the verdict and each bar missed, typed (since edgeport 0.3; an older manifest's verdict is read from
    # passed, unresolved and advisories)
    verdict: str | None = None
    misses: list | None = None
    # the mean of the classes' recalls, the file's and the Keras model's (since edgeport 0.3)
    balanced_accuracy: float | None = None
    reference_balanced_accuracy: float | None = None
    # the class whose recall the file changes most for the worse, by how much (a fraction) and its paired 95 %
    # interval (since edgeport 0.3)
    worst_class: str | None = None
    worst_class_change: float | None = None
    worst_class_interval: list | None = None
    # the validation images the figures and the verdict are on: the look that settled the file (export.sequential;
    # since edgeport 0.5, before which every file saw them all), and the level of the intervals the verdict was
    # decided with (0.999 at an interim look, 0.95 at the last; the published intervals are 95 % ones)
    images: int | None = None
    confidence: float | None = None

    def __post_init__(self):
        if self.verdict is None:
            verdict = (Verdict.FAIL if not self.passed else Verdict.CANNOT_TELL if self.unresolved
                       else Verdict.ADVISORY if self.advisories else Verdict.PASS)
        else:
            verdict = Verdict(self.verdict)
        object.__setattr__(self, "verdict", verdict)


@dataclass(frozen=True)
class NpuRecord(Record):
    """A micro file compiled by Arm's Vela for an Ethos-U NPU: Vela's own figures, estimated at the system
    configuration's clock (the compiled file runs only on the board, with the Ethos-U driver).

    Attributes:
        accelerator, system_config, memory_mode: what Vela compiled for (its Arm/vela.ini).
        file, bytes, sha256: the compiled .vela.tflite beside the micro file.
        clock_hz, sram_bytes, flash_bytes, dram_bytes, inference_ms, cycles: Vela's summary.
        npu_operators, cpu_operators, npu_share: the operators on the NPU and those left to the CPU;
        cpu_fallbacks: the kinds of the CPU's operators.
    """

    accelerator: str
    system_config: str
    memory_mode: str
    file: str
    bytes: int
    sha256: str
    clock_hz: int
    sram_bytes: int
    flash_bytes: int
    dram_bytes: int
    inference_ms: float
    cycles: int
    npu_operators: int
    cpu_operators: int
    npu_share: float
    cpu_fallbacks: list
    vela_version: str | None = None


@dataclass(frozen=True)
class M4Record(Record):
    """A micro file built for a Cortex-M4 with CMSIS-NN's kernels (arm-none-eabi-gcc, the kit's Makefile) and run
    under QEMU's mps2-an386: the 32-bit target's own figures.

    Attributes:
        arena_bytes: the smallest tensor arena the program runs the file in, found by bisection (a run per size).
        arena_used_bytes: TFLM's arena_used_bytes() at that arena (it leaves some padding out).
        text_bytes, data_bytes, bss_bytes: arm-none-eabi-size of the whole program (TFLM, CMSIS-NN, the model
            array, start-up code) with that arena: flash is text + data, RAM data + bss.
        instructions: QEMU's count of instructions for one invoke (an emulator's figure, not a board's time).
    """

    arena_bytes: int
    arena_used_bytes: int
    text_bytes: int
    data_bytes: int
    bss_bytes: int
    instructions: int
    kernels: str = "CMSIS-NN"
    board: str = "QEMU mps2-an386 (Cortex-M4)"


@dataclass(frozen=True)
class MicroRecord(Record):
    """How a file runs in TensorFlow Lite Micro, measured at export on this machine (a 64-bit host).

    Attributes:
        runs: whether TFLM loads and runs the file; reason: why not.
        arena_bytes: the smallest tensor arena it runs in, found by bisection (a 32-bit target
            needs somewhat less: its pointers and structs are smaller).
        arena: TFLM's allocation recorder at that arena: total, head and tail bytes, and the bytes
            of each kind of allocation.
        flash_bytes: the model array a firmware links (the file itself; TFLM's code is not counted).
        ops: the builtin operators the file uses, as TFLM's op resolver names them (AddConv2D...).
        host_us: TFLM's median time per inference on the exporting machine (relative only).
        reference_agreement, xnnpack_agreement: on the validation images, the share of answers
            (argmax) of LiteRT's reference kernels and of its default XNNPACK kernels equal to
            TFLM's; reference_identical, xnnpack_identical: the share of output vectors bit-equal.
        npu: Vela's compilation of the file for an Ethos-U NPU, when asked for.
        m4: the file built for a Cortex-M4 and run under QEMU (export --micro, unless --no-emulator); m4_error:
            why it was not.
        kit_arena_bytes: the arena the firmware kit declares (m4's arena, else arena_bytes, plus its margin).
        ram_bytes: the RAM the file needs on a board: the kit's arena plus the uint8 picture.
    """

    NESTED: ClassVar[dict] = {"npu": NpuRecord, "m4": M4Record}
    OMIT_NONE: ClassVar[tuple] = ("reason", "arena_bytes", "arena", "ops", "host_us", "reference_agreement",
                                  "reference_identical", "xnnpack_agreement", "xnnpack_identical", "npu",
                                  "npu_error", "m4", "m4_error", "kit_arena_bytes", "ram_bytes")

    runs: bool
    flash_bytes: int
    reason: str | None = None
    arena_bytes: int | None = None
    arena: dict | None = None
    ops: list | None = None
    host_us: float | None = None
    reference_agreement: float | None = None
    reference_identical: float | None = None
    xnnpack_agreement: float | None = None
    xnnpack_identical: float | None = None
    npu: NpuRecord | None = None  # the file compiled by Vela for an Ethos-U NPU (export --npu)
    npu_error: str | None = None  # why Vela could not compile it
    m4: M4Record | None = None
    m4_error: str | None = None
    kit_arena_bytes: int | None = None
    ram_bytes: int | None = None
