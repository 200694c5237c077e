"""Helpers of the firmware kit's tests (tests/test_firmware.py: this machine; tests/test_firmware_m4.py: the
emulated Cortex-M4, in a file of its own so that the two share the run's workers)."""


import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgeport import runtime
from tests.conftest import edgeport

ROOT = Path(__file__).resolve().parents[1]
OBJECTS = ROOT / "build" / "tflm-objects"
MICRO, W4 = "model_micro_int8.tflite", "model_micro_w4.tflite"
KIT = W4  # the seed's kit: its packed 4-bit file is within budget and the smaller
PICTURE = re.compile(r"picture (\d+) \(validation image (\d+)\): (.+) \(class (\d+), (-?\d+)/1000\), (\d+) of (\d+) "
                     r"codes differ")


@pytest.fixture(scope="module")
def kit(exported, tmp_path_factory) -> Path:
    """A copy of the seed export's kit (its build folder stays out of the shared export)."""
    copy = tmp_path_factory.mktemp("kit") / "micro"
    shutil.copytree(exported / "micro", copy)
    return copy


@pytest.fixture(scope="module")
def emulated(seed_dir, tmp_path_factory) -> Path:
    """The seed model's kit file (packed 4-bit) exported again with the emulator (the session's export has
    --no-emulator): the export builds it for the Cortex-M4 and runs it under QEMU, and the seed kit's builds
    reuse its objects."""
    folder = tmp_path_factory.mktemp("emulated")
    edgeport("export", seed_dir / "model.keras", "--out", folder, "--formats", "micro-w4", "--micro")
    return folder


def make(kit: Path, *targets: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-j2", "-C", str(kit), *targets, f"OBJECTS={OBJECTS}"],
                          capture_output=True, text=True, timeout=900)


def golden(kit: Path) -> tuple[list[int], np.ndarray]:
    """The kit's golden vectors as its header holds them: validation indices and output codes."""
    text = (kit / "model_test_vectors.h").read_text()
    indices = [int(i) for i in re.search(r"kTestIndices\[kNumTestVectors\] = \{([^}]*)\}", text).group(1).split(",")]
    block = re.search(r"kTestOutputs\[kNumTestVectors\]\[kNumClasses\] = \{(.*?)\n\};", text, re.S).group(1)
    return indices, np.array([[int(v) for v in row.split(",")] for row in re.findall(r"\{([^}]*)\}", block)])


def check_pictures(output: str, kit: Path) -> None:
    """Every golden picture ran, to its own class, with no code differing; the dequantized top output is the
    golden code's."""
    indices, codes = golden(kit)
    settings = (kit / "model_settings.h").read_text()
    scale = float(re.search(r"kOutputScale = ([-0-9.e]+)f;", settings).group(1))
    zero = int(re.search(r"kOutputZeroPoint = (-?\d+);", settings).group(1))
    pictures = PICTURE.findall(output)
    assert [(int(p[0]), int(p[1])) for p in pictures] == list(enumerate(indices)), output
    for (_, _, name, klass, milli, differing, classes), row in zip(pictures, codes):
        assert int(differing) == 0 and int(classes) == len(row) == 10
        assert int(klass) == row.argmax() and name == runtime.CLASS_NAMES[row.argmax()]
        assert int(milli) == int(1000 * np.float32((row.max() - zero) * scale))


CHECKSUM = re.compile(r"checksum of the codes of the first (\d+) validation pictures: ([0-9a-f]{8}) "
                      r"\((.*?) ([0-9a-f]{8})\)")


def fnv1a(codes) -> int:
    """FNV-1a, 32 bits, over each code's int32 value as 4 little-endian bytes."""
    digest = 2166136261
    for byte in np.asarray(codes, "<i4").tobytes():
        digest = ((digest ^ byte) * 16777619) % 2**32
    return digest


def check_checksum(output: str, exported: Path, test_set, name: str = MICRO) -> None:
    """The program's checksum line: over the first validation pictures (as many as the kit holds), equal to
    this test's own FNV-1a of TFLM's codes for them."""
    from tflite_micro.python.tflite_micro import runtime as tflm

    count, found, words, expected = CHECKSUM.search(output).groups()
    entry = runtime.read_manifest(exported).files[name]
    quantization = entry.tensors["input"]["quantization"]
    engine = tflm.Interpreter.from_bytes((exported / name).read_bytes(), arena_size=1 << 20)
    codes = []
    for image in test_set[0][: int(count)]:
        pixels = np.round(image / 255.0 / quantization["scale"]) + quantization["zero_point"]
        engine.set_input(np.clip(pixels, -128, 127).astype(np.int8)[None], 0)
        engine.invoke()
        codes.append(engine.get_output(0)[0].copy())
    assert int(count) >= 30 and words == "equal to the host's"
    assert int(found, 16) == int(expected, 16) == fnv1a(np.stack(codes))


def tamper(kit: Path) -> None:
    """Change one golden code of the second picture by one."""
    path = kit / "model_test_vectors.h"
    text = path.read_text()
    head, block = text.split("kTestOutputs", 1)
    rows = block.split("{")
    first = rows[3].split(",", 1)  # rows[1] opens the array, rows[2] is picture 0
    rows[3] = f"{int(first[0]) + 1},{first[1]}"
    path.write_text(head + "kTestOutputs" + "{".join(rows))
