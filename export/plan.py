"""What an export builds, as one value: the rungs of the ladder, the budget, the bars and the options.

An ExportPlan is checked when it is made, so a bad option fails before any model is loaded;
export_all takes it whole, and nothing reads module globals or mutates a plan on the way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from types import MappingProxyType
from typing import Mapping

from edgeport.export.calibration import DEFAULT_CALIBRATION_SAMPLES, check_calibration_samples
from edgeport.export.common import Quantization, check_opset
from edgeport.export.rungs import BARS, HOST_RUNGS, MICRO_RUNGS, RUNGS, Rung
from edgeport.export.errors import PlanError
from edgeport.runtime.manifest import Bar, Board
from edgeport.runtime.modelinfo import Preprocessing

Q = Quantization


# The rungs are the table in export/rungs.py; Target is the name the public API has always given a rung.
Target = Rung
TARGETS, MICRO_TARGETS = HOST_RUNGS, MICRO_RUNGS
ALL_FORMATS = tuple(t.key for t in RUNGS)
STANDARD_FORMATS = tuple(t.key for t in TARGETS if t.standard)

# An 8-bit file may be at most this share of the float32 file of its format, plus a fixed allowance
# for the graph itself (names, quantize/dequantize nodes), which weighs the same whatever the weights.
# A quarter would be the weights alone; a conv net's int32 biases and per-channel scales take it to
# 31.6 % (int8 TFLite) and 34.7 % (int8 ONNX) on MobileNetV3Small.
MAX_INT8_SIZE_RATIO = 0.40
SIZE_ALLOWANCE_BYTES = 16 * 1024
DEFAULT_BUDGET_PT = 0.5
DEFAULT_TUNING_IMAGES = 2000
# Any one class may lose this many times the budget in recall: a file within budget overall can still cost
# the one class a user cares about (Shirt -4.6 pt at -0.12 pt overall on Fashion-MNIST, with 4-bit weights).
CLASS_BUDGET_FACTOR = 2.0


def class_budget(budget_pt: float) -> float:
    """The default class budget (points) for an accuracy budget."""
    return CLASS_BUDGET_FACTOR * budget_pt


class Search(str, Enum):
    """How far the ladder searches a rung. QUICK: each rung's first candidate, searching further (other
    calibration methods, per-layer probes, layers kept wide) only when it misses the budget on the tuning
    images; THOROUGH: every candidate and every probe, for the per-layer error of each int8 file."""

    QUICK = "quick"
    THOROUGH = "thorough"


class Objective(str, Enum):
    """What the recommendation optimises within budget. BALANCED: the smallest file of those at most
    BALANCED_SLOWDOWN times slower than the fastest, beyond the noise of the timing (their 95 % intervals
    compared: a 4-bit file 18x slower than int8 TFLite to save 2 KB is no trade); SIZE: the smallest file
    within budget; SPEED: the fastest by single-image latency on this machine."""

    BALANCED = "balanced"
    SIZE = "size"
    SPEED = "speed"


DEFAULT_SEARCH, DEFAULT_OBJECTIVE = Search.QUICK, Objective.BALANCED
SEARCHES = tuple(s.value for s in Search)
OBJECTIVES = tuple(o.value for o in Objective)
BALANCED_SLOWDOWN = 2.0


# --npu: Vela's accelerator configuration, with the system configuration and memory mode of Vela's own
# Arm/vela.ini that match it (its clock, memories and bandwidths).
NPUS = MappingProxyType({
    "ethos-u55-128": ("Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "ethos-u55-256": ("Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "ethos-u65-256": ("Ethos_U65_High_End", "Dedicated_Sram_384KB"),
})
KIB, MIB = 1024, 1024 * 1024
# --board NAME: the memory of common parts (the whole chip's; the firmware's own code, stack and buffers take
# their share of it).
BOARDS = MappingProxyType({
    "cortex-m4": Board("cortex-m4", 256 * KIB, 1 * MIB, "a Cortex-M4 with 256 KiB of RAM and 1 MiB of flash "
                                                        "(STM32F4, nRF52840: Arduino Nano 33 BLE)"),
    "cortex-m7": Board("cortex-m7", 512 * KIB, 2 * MIB, "a Cortex-M7 with 512 KiB of RAM and 2 MiB of flash "
                                                        "(STM32F7, i.MX RT1060)"),
    "rp2040": Board("rp2040", 264 * KIB, 2 * MIB, "Raspberry Pi Pico: Cortex-M0+, 264 KiB of RAM, 2 MiB of flash"),
    "esp32-s3": Board("esp32-s3", 512 * KIB, 8 * MIB, "ESP32-S3: 512 KiB of internal SRAM, 8 MiB of flash on the "
                                                      "common modules"),
})


def parse_bytes(text: str, what: str) -> int:
    """A size such as 256KiB, 1MiB, 512KB, 2MB or 65536 (bytes); KB and MB are taken as KiB and MiB, as board
    vendors mean them.

    Raises:
        PlanError: anything else.
    """
    from fractions import Fraction

    found = re.fullmatch(r"\s*(\d{1,30}(?:\.\d{1,30})?)\s*(|b|k|kb|kib|m|mb|mib)\s*", str(text).lower())
    if not found:
        raise PlanError(f"{what} must be a size such as 256KiB or 1MiB; got {text!r}")
    unit = {"": 1, "b": 1, "k": KIB, "kb": KIB, "kib": KIB, "m": MIB, "mb": MIB, "mib": MIB}[found.group(2)]
    size = Fraction(found.group(1)) * unit
    if size < 1 or size.denominator != 1 or size > 2**64:
        raise PlanError(f"{what} must be a whole number of bytes from 1 to 2^64, such as 256KiB or 1MiB; got {text!r}")
    return int(size)


def board_for(name: str | None = None, ram: str | None = None, flash: str | None = None) -> Board | None:
    """The board a micro file must fit: a named one (BOARDS), with --ram or --flash replacing its figure when
    given; or the sizes given alone (a size not given is not checked). None when nothing is given.

    Raises:
        PlanError: an unknown board name or a bad size.
    """
    if name is None and ram is None and flash is None:
        return None
    if name is not None and name not in BOARDS:
        raise PlanError(f"unknown board {name!r}; choose from {', '.join(BOARDS)}, or give --ram and --flash")
    base = BOARDS.get(name)
    ram_bytes = parse_bytes(ram, "--ram") if ram is not None else base.ram_bytes if base else None
    flash_bytes = parse_bytes(flash, "--flash") if flash is not None else base.flash_bytes if base else None
    changed = base is not None and (ram is not None or flash is not None)
    return Board(f"{name} (sizes as given)" if changed else name or "the board given", ram_bytes, flash_bytes,
                 base.about if base else "")


def parse_formats(formats) -> tuple[Target, ...]:
    """Targets for format names (a list or a comma-separated string), in ladder order; None means all.

    Raises:
        PlanError: an unknown name, or none.
    """
    if formats is None:
        return TARGETS
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    wanted = list(formats)
    unknown = [f for f in wanted if f not in ALL_FORMATS]
    if unknown or not wanted:
        raise PlanError(f"unknown format {', '.join(map(repr, unknown)) or '(none given)'}; choose from "
                        f"{','.join(ALL_FORMATS)}")
    return tuple(t for t in RUNGS if t.key in wanted)


@dataclass(frozen=True)
class ExportPlan:
    """What export_all builds and how it judges the files.

    Attributes:
        targets: the rungs to build, in ladder order (default: every host rung, TARGETS; from_formats adds the
            microcontroller's rungs with micro=True).
        ladder: skip an additional (non-standard) rung once a file of its format and size class
            or smaller is within budget; False builds every target.
        budget_pt: accuracy points a quantized file may lose and still be recommended.
        class_budget_pt: recall points any one class may lose in any file (default: CLASS_BUDGET_FACTOR times
            budget_pt).
        integer_only: recommend only files whose arithmetic is all integer.
        strict: fail (ValidationError) when any file misses its bar, even with a recommendation.
        mobile: also write each ONNX file's batch-1 .ort phone copy (export/mobile.py).
        opset: ONNX opset, 13..18.
        calibration_samples: images that calibrate the quantized files.
        tuning_images: calibration-side images that the ladder's searches score candidates on.
        bars: the bar of each quantization (default: BARS).
        size_ratio, size_allowance_bytes: 8- and 4-bit files' size bar (share of float32 plus bytes).
        class_names: the classes' names (default: the data's, else "0".."N-1").
        preprocessing: what the model wants from a pixel (default: read from the model's layers,
            export.find_preprocessing, and the usual ones tried when that scores near chance).
        lock_timeout: seconds to wait for another export to the same folder; None: as long as it takes.
        search: a Search, or its name: "quick" or "thorough".
        objective: what the recommendation optimises within budget (an Objective, or its name: "balanced",
            "size" or "speed").
        board: the microcontroller the recommended micro file must fit (RAM and flash), or None.
        npu: compile each micro file with Vela for this Ethos-U NPU (NPUS), or None.
        emulate: build each micro file for a Cortex-M4 and run it under QEMU (export.firmware) for the 32-bit
            target's arena, program size and instructions; False: the kit declares the 64-bit host's arena.
        sequential: validate in growing looks, stopping each file when the evidence settles its bars
            (export.sequential); the recommended files are then validated on every image. False: every file on
            every image.
    """

    targets: tuple[Target, ...] = TARGETS
    ladder: bool = True
    budget_pt: float = DEFAULT_BUDGET_PT
    class_budget_pt: float | None = None
    integer_only: bool = False
    strict: bool = False
    mobile: bool = False
    opset: int = 17
    calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES
    tuning_images: int = DEFAULT_TUNING_IMAGES
    bars: Mapping[Quantization, Bar] = field(default_factory=lambda: BARS, repr=False)
    size_ratio: float = MAX_INT8_SIZE_RATIO
    size_allowance_bytes: int = SIZE_ALLOWANCE_BYTES
    class_names: tuple[str, ...] | None = None
    preprocessing: Preprocessing | None = None
    lock_timeout: float | None = None
    search: Search = DEFAULT_SEARCH
    objective: Objective = DEFAULT_OBJECTIVE
    board: Board | None = None
    npu: str | None = None
    emulate: bool = True
    sequential: bool = True

    def __post_init__(self):
        if not self.targets or not all(isinstance(t, Target) for t in self.targets):
            raise PlanError(f"targets must be one or more of export.TARGETS; got {self.targets!r}")
        _check_number("budget", self.budget_pt, 0, 100, "a number of accuracy points from 0 to 100")
        if self.class_budget_pt is None:
            object.__setattr__(self, "class_budget_pt", class_budget(self.budget_pt))
        _check_number("class budget", self.class_budget_pt, 0, 100, "a number of recall points from 0 to 100")
        if any(t.format == "onnx" for t in self.targets):
            check_opset(self.opset)
        check_calibration_samples(self.calibration_samples)
        if not _whole(self.tuning_images) or self.tuning_images < 1:
            raise PlanError(f"tuning images must be a positive whole number; got {self.tuning_images!r}")
        missing = [t.quantization.value for t in self.targets if t.quantization not in self.bars]
        if missing:
            raise PlanError(f"the plan has no bar for {', '.join(sorted(set(missing)))}")
        _check_number("size ratio", self.size_ratio, 0, 1, "a share of the float32 size from 0 to 1")
        if self.class_names is not None:
            object.__setattr__(self, "class_names", tuple(str(n) for n in self.class_names))
            if not self.class_names:
                raise PlanError("class names must not be empty: leave them out to use the data's")
        for name, kind in (("search", Search), ("objective", Objective)):
            value = getattr(self, name)
            if value not in tuple(k.value for k in kind):
                raise PlanError(f"{name} must be one of {', '.join(k.value for k in kind)}; got {value!r}")
            object.__setattr__(self, name, kind(value))
        if self.board is not None and not self.micro:
            raise PlanError("a board (--board, --ram, --flash) is for a microcontroller's file: add --micro")
        if self.npu is not None and (self.npu not in NPUS or not self.micro):
            raise PlanError(f"--npu takes one of {', '.join(NPUS)}, with --micro; got {self.npu!r}"
                            f"{'' if self.micro else ' without --micro'}")
        if self.lock_timeout is not None:
            _check_number("lock timeout", self.lock_timeout, 0, float("inf"), "a number of seconds >= 0")

    @classmethod
    def from_formats(cls, formats=None, micro: bool = False, **options) -> "ExportPlan":
        """A plan for format names ("fp32,int8" or a list; None: the whole ladder, skipping rungs
        that cannot win), the microcontroller's rungs added with micro unless the names already hold one (what
        was asked is built: "micro-int8" with micro builds no 16x8 file), and any other field given by keyword."""
        targets = parse_formats(formats)
        if micro and not any(t.micro for t in targets):
            targets += MICRO_TARGETS
        return cls(targets=targets, ladder=formats is None, **options)

    @property
    def micro(self) -> bool:
        """Whether the plan builds a microcontroller's file."""
        return any(t.micro for t in self.targets)

    def bar_for(self, mode: Quantization) -> Bar:
        """A file's bar: float files' are fixed; a quantized file may lose at most the budget (points); no file
        may lower one class's recall by more than the class budget."""
        bar = replace(self.bars[mode], max_class_drop=self.class_budget_pt / 100)
        return bar if bar.two_sided else replace(bar, max_accuracy_change=self.budget_pt / 100)

    @property
    def calibrated(self) -> bool:
        """Whether any target needs calibration images (activation ranges, or the searches' tuning images)."""
        return any(t.quantization.calibrated or t.quantization.bits <= 8 for t in self.targets)

    def bars_record(self) -> dict:
        """The manifest's "bars": each quantization's bar, and the size bar."""
        return ({q.value: bar.to_json() for q, bar in self.bars.items()}
                | {"max_int8_size_ratio": self.size_ratio, "size_allowance_bytes": self.size_allowance_bytes})


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_number(name: str, value, low: float, high: float, expected: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise PlanError(f"{name} must be {expected}; got {value!r}")
