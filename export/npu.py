"""Arm Ethos-U NPUs: a micro file compiled by Vela (the `ethos-u-vela` package, edgeport[npu]), and its summary.

Vela turns the operators the NPU supports into one command stream (a custom ETHOS_U operator) and
leaves the rest to TFLM on the CPU. The compiled file runs only with the Ethos-U driver, on the board:
its figures are Vela's estimates at the system configuration's clock, and the TFLM-validated file
stays beside it.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import tempfile
from pathlib import Path

from edgeport.export.plan import NPUS
from edgeport.runtime import children
from edgeport.export.errors import ExportError
from edgeport.runtime.errors import MissingExtraError
from edgeport.runtime.files import write_bytes_atomic
from edgeport.runtime.manifest import NpuRecord, sha256_file

VELA_TIMEOUT_S = 600
_OPERATORS = re.compile(r"^(CPU|NPU) operators = (\d+) \(([\d.]+)%\)", re.MULTILINE)
_CPU_OPERATION = re.compile(r"^\s*CPU: (\w+) = (.*?)(?: \(outputs .*\))?$", re.MULTILINE)


def vela_name(name: str) -> str:
    """The compiled file's name: model_micro_int8.tflite -> model_micro_int8.vela.tflite."""
    return f"{Path(name).stem}.vela.tflite"


def compile_for_npu(path: str | Path, accelerator: str, out: str | Path) -> NpuRecord:
    """Compile a micro file with Vela for an accelerator of NPUS, writing out (its .vela.tflite).

    Raises:
        ValueError: an unknown accelerator. ExportError: Vela is not installed, or failed on the file.
    """
    if accelerator not in NPUS:
        raise ValueError(f"unknown NPU {accelerator!r}; choose from {', '.join(NPUS)}")
    path, out = Path(path), Path(out)
    system, memory = NPUS[accelerator]
    if importlib.util.find_spec("ethosu") is None:
        raise MissingExtraError("--npu needs Arm's Vela compiler", "npu")
    # Vela runs in isolated mode from its installed package (never an ethosu/ beside the user's model), dies with
    # this process, and works in a scratch folder inside the export's own (out's), which a stopped export's next
    # run removes with the staging folder.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".vela-") as scratch:
        command = children.python_command("-m", "ethosu.vela", path.resolve(), "--accelerator-config", accelerator,
                                          "--config", "Arm/vela.ini", "--system-config", system, "--memory-mode",
                                          memory, "--output-dir", scratch, "--show-cpu-operations")
        try:
            done = children.run(command, cwd=scratch, timeout=VELA_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise ExportError(f"Vela did not compile {path.name} within {VELA_TIMEOUT_S} s") from None
        compiled = Path(scratch) / f"{path.stem}_vela.tflite"
        summaries = list(Path(scratch).glob(f"{path.stem}_summary_*.csv"))
        if done.returncode != 0 or not compiled.is_file() or not summaries:
            raise ExportError(f"Vela could not compile {path.name} for {accelerator}: {_vela_error(done)}")
        with open(summaries[0], newline="") as file:
            summary = next(csv.DictReader(file))
        write_bytes_atomic(out, compiled.read_bytes())
    counts = {kind: (int(count), float(share)) for kind, count, share in _OPERATORS.findall(done.stdout)}
    kib = 1024

    def size(key: str) -> int:
        return round(float(summary[key]) * kib)

    return NpuRecord(
        accelerator=accelerator, system_config=system, memory_mode=memory, file=out.name, bytes=out.stat().st_size,
        sha256=sha256_file(out), clock_hz=int(float(summary["core_clock"])), sram_bytes=size("sram_memory_used"),
        flash_bytes=size("on_chip_flash_memory_used") + size("off_chip_flash_memory_used"),
        dram_bytes=size("dram_memory_used"), inference_ms=round(float(summary["inference_time"]) * 1e3, 4),
        cycles=int(float(summary["cycles_total"])), npu_operators=counts.get("NPU", (0, 0.0))[0],
        cpu_operators=counts.get("CPU", (0, 0.0))[0], npu_share=counts.get("NPU", (0, 0.0))[1] / 100,
        cpu_fallbacks=sorted({op for op, _ in _CPU_OPERATION.findall(done.stdout)}),
        vela_version=_vela_version())


def _vela_error(done: subprocess.CompletedProcess) -> str:
    """Vela's complaint in one line: the last lines it printed that are not its default-configuration warnings."""
    lines = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines()
             if line.strip() and not line.startswith(("Warning: No ", "Traceback", "  File "))]
    return "; ".join(lines[-3:]) or f"exit status {done.returncode}"


def _vela_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("ethos-u-vela")
    except metadata.PackageNotFoundError:
        return None
