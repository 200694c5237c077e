"""The firmware kit builds by itself on this machine: its Makefile compiles main.cc with the TensorFlow Lite
Micro sources it carries (reference kernels), and every output code is the one TFLM's Python interpreter gave
when the kit was written. The emulated Cortex-M4's tests are in tests/test_firmware_m4.py.

The seed model's kit comes from the session's `--micro` export. TFLM's objects are kept under build/ per TFLM
commit and flags, so the suite compiles them once.
"""

import json
import re
import shutil

from edgeport import runtime
from tests.firmware import KIT, MICRO, ROOT, check_checksum, check_pictures, kit, make, tamper  # noqa: F401 (kit)



def test_the_kit_copies_only_the_tflm_sources_its_operators_link(kit, exported):
    entry = runtime.read_manifest(exported).files[KIT]
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
    assert "third_party/cmsis_nn/Source/FullyConnectedFunctions/arm_fully_connected_s4.c" in cm4
    # Every FULLY_CONNECTED has int8 activations and packed 4-bit weights, every SOFTMAX is int8: the resolver
    # registers those kernels (the program then holds none of CMSIS-NN's kernels for other types: see the
    # Cortex-M4 test).
    ops_header = (kit / "model_ops.h").read_text()
    assert "resolver.AddFullyConnected(tflite::Register_FULLY_CONNECTED_INT4());" in ops_header
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
    check_checksum(result.stdout + result.stderr, exported, test_set, KIT)
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
        shutil.copy(exported / KIT, folder / KIT)
        kit = write_kit(folder, manifest, KIT, images[:100])
        trees.append({p.relative_to(kit).as_posix(): (p.read_bytes(), p.stat().st_mtime if "tflm" in p.parts else 0)
                      for p in kit.rglob("*") if p.is_file()})
    assert trees[0] == trees[1]
    shipped = {p.relative_to(exported / "micro").as_posix(): p.read_bytes()
               for p in (exported / "micro" / "tflm").rglob("*") if p.is_file()}
    assert shipped == {name: content for name, (content, _) in trees[0].items() if name.startswith("tflm/")}
    assert len({mtime for name, (_, mtime) in trees[0].items() if name.startswith("tflm/")}) == 1


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
