"""A micro file on an emulated Cortex-M4: built with the kit's own Makefile and CMSIS-NN's kernels
(arm-none-eabi-gcc), run under QEMU's mps2-an386, for the 32-bit target's figures: the smallest arena (by
bisection, one run per size, as TFLM can crash rather than fail on too small an arena), the program's size and
the instructions of one invoke.

The program is a probe (kit/probe.cc.in) linked with the file's array and its resolver. TFLM's objects are kept
between exports (objects_dir()), so a second model with the same operators builds only its own files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from edgeport import __version__
from edgeport.export import tflm_tree
from edgeport.export.errors import ExportError
from edgeport.runtime.manifest import M4Record

TOOLS = ("make", "arm-none-eabi-gcc", "arm-none-eabi-g++", "arm-none-eabi-size", "qemu-system-arm")
BUILD_TIMEOUT_S, RUN_TIMEOUT_S = 900, 60
ARENA_STEP = 16  # the bisection's resolution, as on the host
SIZE = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+[0-9a-f]+\s+\S*main\.elf", re.M)


def missing_tools() -> str | None:
    """Why this machine cannot build and run the probe (a tool missing), or None."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return None
    return (f"{', '.join(missing)} not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
            f"libstdc++-arm-none-eabi-dev qemu-system-arm make)")


def objects_dir() -> Path:
    """Where TFLM's objects are kept between exports: EDGEPORT_FIRMWARE_OBJECTS, else the user's cache."""
    chosen = os.environ.get("EDGEPORT_FIRMWARE_OBJECTS")
    if chosen:
        return Path(chosen)
    from edgeport.runtime.files import user_cache

    return user_cache("tflm-objects")


def measure_m4(path: Path, ops: list[str], typed: dict[str, str], host_arena: int) -> M4Record:
    """Build path's probe for the Cortex-M4 and run it under QEMU: its figures.

    host_arena: the smallest arena on the 64-bit host; the probe holds twice that (and 4 KiB), the bisection's
    upper end.

    Raises:
        ExportError: a tool is missing, the build fails, or the file does not run at the upper end.
    """
    from edgeport.export.microkit import data_header, data_source, ops_header

    why = missing_tools()
    if why:
        raise ExportError(why)
    capacity = -(-(2 * host_arena + 4096) // ARENA_STEP) * ARENA_STEP
    selection = tflm_tree.select(ops, typed)
    facts = {"file": path.name, "sha256": "", "version": __version__}
    with tempfile.TemporaryDirectory(prefix="edgeport-m4-") as scratch:
        folder = Path(scratch)
        probe = (tflm_tree.KIT_FILES / "probe.cc.in").read_text(encoding="utf-8").split("\n", 2)[2]
        (folder / "main.cc").write_text(f"#define EDGEPORT_ARENA_CAPACITY {capacity}\n" + probe, encoding="utf-8")
        (folder / "model_data.h").write_text(data_header(facts, False), encoding="utf-8")
        (folder / "model_data.cc").write_text(data_source(facts, path.read_bytes()), encoding="utf-8")
        (folder / "model_ops.h").write_text(ops_header(facts, ops, typed), encoding="utf-8")
        tflm_tree.write_build_files(selection, folder)
        (folder / "tflm").symlink_to(tflm_tree.tree(), target_is_directory=True)
        built = _run(["make", "--no-print-directory", "-j", str(os.cpu_count() or 1), "-C", str(folder), "cortex-m4",
                      f"OBJECTS={objects_dir()}"], BUILD_TIMEOUT_S)
        if built.returncode != 0:
            raise ExportError(f"the Cortex-M4 build failed: {_last_line(built)}")
        text, data, bss = map(int, SIZE.search(built.stdout).groups())
        elf = folder / "build" / "cortex-m4" / "main.elf"

        def run(arena: int) -> subprocess.CompletedProcess:
            return _run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "null",
                         "-semihosting-config", f"enable=on,target=native,arg=probe,arg={arena}", "-icount",
                         "shift=0", "-kernel", str(elf)], RUN_TIMEOUT_S)

        best = run(capacity)
        if best.returncode != 0:
            raise ExportError(f"it does not run on the Cortex-M4 with a {capacity:,}-byte arena: {_last_line(best)}")
        low, high = 0, capacity // ARENA_STEP  # runs at high steps, not at low
        while high - low > 1:
            middle = (low + high) // 2
            result = run(middle * ARENA_STEP)
            if result.returncode == 0:
                high, best = middle, result
            else:
                low = middle
    output = best.stdout + best.stderr  # QEMU writes semihosting's console to stderr
    used = int(re.search(r"arena used: (\d+)", output).group(1))
    instructions = int(re.search(r"instructions: (\d+)", output).group(1))
    arena = high * ARENA_STEP
    return M4Record(arena_bytes=arena, arena_used_bytes=used, text_bytes=text, data_bytes=data,
                    bss_bytes=bss - capacity + arena, instructions=instructions)  # bss held the probe's capacity


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise ExportError(f"{command[0]} took over {timeout:.0f} s") from e


def _last_line(result: subprocess.CompletedProcess) -> str:
    from edgeport.export.micro import last_lines

    return last_lines(result.stdout + "\n" + result.stderr, 1) or f"exit status {result.returncode}"
