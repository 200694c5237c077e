"""The firmware kit builds by itself: its Makefile compiles main.cc with the TensorFlow Lite Micro sources it
carries, for this machine (reference kernels) and for a Cortex-M4 (CMSIS-NN's kernels) run under QEMU's
mps2-an386, and every output code is the one TFLM's Python interpreter gave when the kit was written.

The seed model's kit comes from the session's `--micro` export. TFLM's objects are kept under build/ per TFLM
commit and flags, so the suite compiles them once.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgeport import runtime
from edgeport.export.micro import kit_arena
from tests.conftest import edgeport

ROOT = Path(__file__).resolve().parents[1]
OBJECTS = ROOT / "build" / "tflm-objects"
MICRO = "model_micro_int8.tflite"
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
    """The seed model's micro file exported again with the emulator (the session's export has --no-emulator):
    the export builds it for the Cortex-M4 and runs it under QEMU, and the seed kit's builds reuse its objects."""
    folder = tmp_path_factory.mktemp("emulated")
    edgeport("export", seed_dir / "model.keras", "--out", folder, "--formats", "micro-int8", "--micro")
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


def check_checksum(output: str, exported: Path, test_set) -> None:
    """The program's checksum line: over the first validation pictures (as many as the kit holds), equal to
    this test's own FNV-1a of TFLM's codes for them."""
    from tflite_micro.python.tflite_micro import runtime as tflm

    count, found, words, expected = CHECKSUM.search(output).groups()
    entry = runtime.read_manifest(exported).files[MICRO]
    quantization = entry.tensors["input"]["quantization"]
    engine = tflm.Interpreter.from_bytes((exported / MICRO).read_bytes(), arena_size=1 << 20)
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


def test_the_kit_copies_only_the_tflm_sources_its_operators_link(kit, exported):
    entry = runtime.read_manifest(exported).files[MICRO]
    assert entry.micro.ops == ["AddReshape", "AddFullyConnected", "AddSoftmax"]
    sources = (kit / "sources.mk").read_text()
    host = re.search(r"HOST_SOURCES := \\\n(.*?)(\n\S|\Z)", sources, re.S).group(1).split()
    cm4 = re.search(r"CM4_SOURCES := \\\n(.*?)(\n\S|\Z)", sources, re.S).group(1).split()
    # Built one by one, and together in the unity file (TFLM's framework and the kernels that compile with it).
    for kind, built in (("host", host), ("cortex-m4", cm4)):
        unity = re.search(rf"{kind.upper().replace('CORTEX-M4', 'CM4')}_UNITY := (\S+)", sources).group(1)
        assert unity.startswith(f"unity/{kind}-")
        together = re.findall(r'#include "([^"]+)"', (kit / unity).read_text())
        assert "tensorflow/lite/micro/micro_interpreter.cc" in together and not set(together) & set(built)
        built += together
    host, cm4 = [s for s in host if s != "\\"], [s for s in cm4 if s != "\\"]
    kernels = "tensorflow/lite/micro/kernels/"
    for op in ("reshape", "fully_connected", "softmax"):
        assert f"{kernels}{op}.cc" in host
    assert f"{kernels}cmsis_nn/fully_connected.cc" in cm4 and f"{kernels}cmsis_nn/softmax.cc" in cm4
    assert f"{kernels}fully_connected.cc" not in cm4 and f"{kernels}cmsis_nn/fully_connected.cc" not in host
    assert "third_party/cmsis_nn/Source/FullyConnectedFunctions/arm_fully_connected_s8.c" in cm4
    # Every use of FULLY_CONNECTED and SOFTMAX is int8: the resolver registers their int8 kernels (the program
    # then holds none of CMSIS-NN's kernels for other types: see the Cortex-M4 test).
    ops_header = (kit / "model_ops.h").read_text()
    assert "resolver.AddFullyConnected(tflite::Register_FULLY_CONNECTED_INT8());" in ops_header
    assert "resolver.AddSoftmax(tflite::Register_SOFTMAX_INT8());" in ops_header
    assert "resolver.AddReshape();" in ops_header
    # No operator the model lacks, in the lists or in the folder.
    for absent in ("conv.cc", "depthwise_conv.cc", "pooling.cc", "add.cc"):
        assert f"{kernels}{absent}" not in host and not (kit / "tflm" / kernels / absent).exists()
    assert all((kit / "tflm" / s).is_file() for s in host + cm4)
    assert (kit / "tflm" / "licenses" / "cmsis_nn" / "LICENSE").is_file() and (kit / "tflm" / "README.md").is_file()
    pins = json.loads((ROOT / "third_party" / "tflm" / "files.json").read_text())["pins"]
    assert pins["tensorflow/tflite-micro"] in (kit / "tflm" / "README.md").read_text()


def test_the_seed_kit_builds_on_the_host_and_its_codes_are_tflms(kit, exported, test_set):
    result = make(kit, "host")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    check_pictures(result.stdout + result.stderr, kit)
    check_checksum(result.stdout + result.stderr, exported, test_set)
    assert (result.stdout + result.stderr).rstrip().endswith("PASS")
    # The checks can fail: with one golden code off by one and the first checksum picture inverted, main.cc names
    # the picture, says the checksum differs, and exits 1.
    tampered = kit.parent / "tampered"
    shutil.copytree(kit, tampered, ignore=shutil.ignore_patterns("build"))
    tamper(tampered)
    path = tampered / "model_test_vectors.h"
    head, pixels = path.read_text().split("kChecksumPixels", 1)
    first = re.search(r"= \{\s*\{([^}]*)\}", pixels)
    inverted = ", ".join(str(255 - int(v)) for v in first.group(1).split(","))
    path.write_text(head + "kChecksumPixels" + pixels[:first.start(1)] + inverted + pixels[first.end(1):])
    result = make(tampered, "host")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "FAIL: 2 check(s) differ" in output and "FAIL: the host's is" in output
    assert re.search(r"picture 1 \(validation image \d+\): .* 1 of 10 codes differ", output), output
    assert len(re.findall(r" 0 of 10 codes differ", output)) == 3


def test_the_seed_kit_runs_on_an_emulated_cortex_m4_with_cmsis_nn(kit, exported, test_set):
    built = make(kit, "cortex-m4")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    text, data, bss = map(int, re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+[0-9a-f]+\s+\S*main\.elf",
                                         built.stdout, re.M).groups())
    flash = runtime.read_manifest(exported).files[MICRO].micro.flash_bytes
    arena = int(re.search(r"kTensorArenaSize = (\d+);", (kit / "model_settings.h").read_text()).group(1))
    assert text > flash and bss > arena  # the model array is in flash, the arena in RAM
    # The int8 registrations leave CMSIS-NN's 16-bit and 4-bit kernels out of the program; the int8 ones are in.
    symbols = subprocess.run(["arm-none-eabi-nm", str(kit / "build" / "cortex-m4" / "main.elf")], capture_output=True,
                             text=True, check=True).stdout.split()
    assert "arm_fully_connected_s8" in symbols and "arm_softmax_s8" in symbols
    assert not {"arm_fully_connected_s16", "arm_fully_connected_s4", "arm_softmax_s16"} & set(symbols)
    result = make(kit, "run-qemu")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    check_pictures(output, kit)
    check_checksum(output, exported, test_set)
    used, declared = map(int, re.search(r"arena used: (\d+) of (\d+) bytes", output).groups())
    assert declared == arena and 0 < used <= arena
    instructions = int(re.search(r"instructions per picture: (\d+) \(QEMU's count", output).group(1))
    # The MLP's multiply-accumulates: CMSIS-NN's SMLAD does two in one instruction, and no kernel spends a
    # hundred instructions on one.
    macs = 28 * 28 * 128 + 128 * 10
    assert macs / 2 < instructions < 100 * macs
    assert output.rstrip().endswith("PASS")
    # A failing check ends QEMU with a failing status, not a silent 0.
    tampered = kit.parent / "tampered-m4"
    shutil.copytree(kit, tampered, ignore=shutil.ignore_patterns("build"))
    tamper(tampered)
    result = make(tampered, "run-qemu")
    assert result.returncode != 0 and "FAIL: 1 check(s) differ" in result.stdout + result.stderr


def test_a_kit_is_the_same_bytes_and_times_on_every_export(exported, test_set, tmp_path):
    """Two kits written from the same manifest are the same files, to the byte, and their TFLM sources keep one
    time (so objects built from one kit's copy are current for the next)."""
    from edgeport.export.microkit import write_kit

    images, _ = test_set
    manifest = runtime.read_manifest(exported)
    trees = []
    for run in ("first", "second"):
        folder = tmp_path / run
        folder.mkdir()
        shutil.copy(exported / MICRO, folder / MICRO)
        kit = write_kit(folder, manifest, MICRO, images[:100])
        trees.append({p.relative_to(kit).as_posix(): (p.read_bytes(), p.stat().st_mtime if "tflm" in p.parts else 0)
                      for p in kit.rglob("*") if p.is_file()})
    assert trees[0] == trees[1]
    shipped = {p.relative_to(exported / "micro").as_posix(): p.read_bytes()
               for p in (exported / "micro" / "tflm").rglob("*") if p.is_file()}
    assert shipped == {name: content for name, (content, _) in trees[0].items() if name.startswith("tflm/")}
    assert len({mtime for name, (_, mtime) in trees[0].items() if name.startswith("tflm/")}) == 1


def test_a_fault_on_the_emulated_board_is_a_line_and_a_failing_status(kit, tmp_path):
    """The kit's start-up code turns a fault (a board would spin in it) into a printed line and exit status 3."""
    (tmp_path / "fault.c").write_text("int main(void) { *(volatile int*)0xFFFFFFF0u = 1; return 0; }\n")
    flags = re.search(r"^CM4_FLAGS := (.*)$", (kit / "sources.mk").read_text(), re.M).group(1).split()
    subprocess.run(["arm-none-eabi-gcc", *flags, str(tmp_path / "fault.c"), str(kit / "platform" / "startup.c"),
                    "-T", str(kit / "platform" / "mps2_an386.ld"), "-nostartfiles", "--specs=nano.specs",
                    "-o", str(tmp_path / "fault.elf")], check=True)
    result = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial",
                             "null", "-semihosting-config", "enable=on,target=native", "-kernel",
                             str(tmp_path / "fault.elf")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and "FAIL: HardFault" in result.stdout + result.stderr


def test_the_cortex_m4s_arena_is_the_smallest_the_kits_program_runs_in(emulated, tmp_path):
    """The export measured the micro file on the emulated Cortex-M4 with a probe of its own, and the kit declares
    that arena plus the margin. The kit's program, built with exactly that arena, passes under QEMU, and with 16
    bytes less it fails; its instructions per picture are the probe's, and its program is the probe's plus the
    test pictures."""
    micro = runtime.read_manifest(emulated).files[MICRO].micro
    m4 = micro.m4
    assert m4.kernels == "CMSIS-NN" and 0 < m4.arena_bytes and m4.arena_bytes % 16 == 0 and micro.m4_error is None
    assert m4.arena_used_bytes <= m4.arena_bytes  # TFLM's own count leaves padding out
    assert micro.kit_arena_bytes == kit_arena(m4.arena_bytes)
    kit = tmp_path / "micro"
    shutil.copytree(emulated / "micro", kit)
    assert f"kTensorArenaSize = {kit_arena(m4.arena_bytes)};" in (kit / "model_settings.h").read_text()
    assert f"kHostTensorArenaSize = {kit_arena(micro.arena_bytes)};" in (kit / "model_settings.h").read_text()
    outcomes, settings = {}, kit / "model_settings.h"
    for arena in (m4.arena_bytes, m4.arena_bytes - 16):
        settings.write_text(re.sub(r"kTensorArenaSize = \d+;", f"kTensorArenaSize = {arena};", settings.read_text()))
        outcomes[arena] = make(kit, "cortex-m4", "run-qemu")
    fits, short = outcomes[m4.arena_bytes], outcomes[m4.arena_bytes - 16]
    assert fits.returncode == 0 and (fits.stdout + fits.stderr).rstrip().endswith("PASS"), fits.stdout + fits.stderr
    assert short.returncode != 0 and "FAIL: AllocateTensors" in short.stdout + short.stderr
    instructions = int(re.search(r"instructions per picture: (\d+)", fits.stdout + fits.stderr).group(1))
    assert abs(instructions - m4.instructions) <= 0.02 * m4.instructions
    text, data = map(int, re.search(r"^\s*(\d+)\s+(\d+)\s+\d+\s+\d+\s+[0-9a-f]+\s+\S*main\.elf", fits.stdout,
                                    re.M).groups())
    pictures = int(re.search(r"#define EDGEPORT_CHECKSUM_PICTURES (\d+)", (kit / "model_test_vectors.h").read_text())
                   .group(1)) + 4
    assert 0 < text - m4.text_bytes - pictures * 28 * 28 < 16 * 1024 and data == m4.data_bytes


def test_without_the_arm_tools_the_micro_record_says_what_is_missing(exported, tmp_path, monkeypatch):
    """No arm-none-eabi-gcc or QEMU on the machine: the micro file stands, its record names the missing tools and
    how to install them, and the kit falls back to the 64-bit host's arena."""
    from dataclasses import replace

    from edgeport.export import firmware
    from edgeport.export.micro import _on_cortex_m4

    monkeypatch.setenv("PATH", str(tmp_path))  # a folder with no tools in it
    assert firmware.missing_tools() == (
        "make, arm-none-eabi-gcc, arm-none-eabi-g++, arm-none-eabi-size, qemu-system-arm not found (Debian: apt-get "
        "install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-dev qemu-system-arm make)")
    record = replace(runtime.read_manifest(exported).files[MICRO].micro, m4=None)
    measured = _on_cortex_m4(record, exported / MICRO)
    assert measured.m4 is None and measured.m4_error == firmware.missing_tools()
