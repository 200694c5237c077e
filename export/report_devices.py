"""The report's sections on where the files go: phones (.ort copies), microcontrollers (TFLM, the firmware kit,
Ethos-U) and the web page; each renders the manifest's typed records."""

from __future__ import annotations

import json
from pathlib import Path

from edgeport.export.mobile import ACCELERATORS
from edgeport.export.verdict import interval_words
from edgeport.runtime.manifest import KIT_MARKER, WEB_MARKER, FileEntry, Manifest, Verdict


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table's lines: the header, its rule, a line per row."""
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(row) + " |" for row in rows)]


def phone_table(manifest: Manifest) -> list[str]:
    """The phone copies (.ort, batch 1) and onnxruntime's verdict for each phone accelerator."""
    phones = manifest.mobile
    if not phones:
        return []
    header = ["File", "From", "Size (KB)", "Agreement with source", *(title for title, _ in ACCELERATORS.values())]
    rows = []
    for name, entry in phones.items():
        if entry.error is not None:
            rows.append([f"`{name}`", f"`{entry.source}`", "—", f"**not made**: {entry.error}",
                         *("—" for _ in ACCELERATORS)])
            continue
        verdicts = []
        for key in ACCELERATORS:
            v = entry.accelerators[key]
            plural = "s" if v.partitions != 1 else ""
            where = f"{v.supported_nodes}/{v.nodes} nodes, {v.partitions} partition{plural}"
            verdicts.append(f"**{v.verdict}** ({where}; as exported: {entry.as_exported[key]})")
        agreement = f"{100 * entry.agreement_with_source:.2f} %" + ("" if entry.passed else " **FAIL**")
        rows.append([f"`{name}`", f"`{entry.source}`", f"{entry.bytes / 1024:,.1f}", agreement, *verdicts])
    return ["## Phone accelerators", "",
            "Each ONNX file has a phone copy in ONNX Runtime's format with its batch fixed to 1, which NNAPI and "
            "CoreML need. Verdicts are onnxruntime's mobile usability checker's: YES when one partition holds more "
            "than 75 % of the nodes, MAYBE for a weaker split, NO otherwise; \"as exported\" is the same check on the "
            "dynamic-batch file. Agreement: top class of the copy against its source on the validation images.", "",
            *markdown_table(header, rows), ""]


def micro_table(folder: Path, manifest: Manifest) -> list[str]:
    """The microcontroller's files as TensorFlow Lite Micro runs them, and the firmware kit."""
    micro = {name: entry for name, entry in manifest.files.items() if entry.micro is not None}
    if not micro:
        return []
    header = ["File", "Accuracy in TFLM", "Accuracy change (95 %)", "Agreement (95 %)",
              "Arena on a Cortex-M4 / this machine (bytes)", "Flash (KB)", "Cortex-M4 program (KB)",
              "Instructions per picture (QEMU)", "Operators", "LiteRT reference / XNNPACK agree",
              "TFLM per picture (this machine)"]
    rows = []
    for name, entry in micro.items():
        v, m = entry.validation, entry.micro
        verdict = " **FAIL**" if v.verdict is Verdict.FAIL else ""
        rows.append([f"`{name}`{' (recommended)' if name == manifest.recommended.micro else ''}",
                     f"{100 * v.accuracy:.2f} %{verdict}",
                     f"{100 * v.accuracy_change:+.2f} pt{interval_words(v.accuracy_change_interval, 'pt', 'bracket')}",
                     f"{100 * v.agreement:.2f} %{interval_words(v.agreement_interval, '%', 'bracket')}",
                     f"{m.m4.arena_bytes:,} / {m.arena_bytes:,}" if m.m4 else f"(not built) / {m.arena_bytes:,}",
                     f"{m.flash_bytes / 1024:,.1f}",
                     f"{(m.m4.text_bytes + m.m4.data_bytes) / 1024:,.1f}" if m.m4 else "",
                     f"{m.m4.instructions:,}" if m.m4 else "", ", ".join(op[3:] for op in m.ops),
                     f"{100 * m.reference_agreement:.2f} % / {100 * m.xnnpack_agreement:.2f} %",
                     f"{m.host_us:,.0f} µs"])
    kit = kit_note(folder, manifest) + _npu_table(micro)
    return ["## On microcontrollers", "",
            "Full-integer files for one picture per call, validated in TensorFlow Lite Micro's own interpreter (its "
            "reference kernels) against the Keras model: these figures are TFLM's, not the host engines'. Arena: the "
            "smallest tensor arena the file ran in, found by bisection on a Cortex-M4 with CMSIS-NN's kernels "
            "(built with arm-none-eabi-gcc, run under QEMU's mps2-an386; the kit declares it, plus a margin) and on "
            "this 64-bit machine. Flash: the model array. Cortex-M4 program: text and data of the whole program "
            "(TFLM, CMSIS-NN, the model). Instructions: QEMU's count for one picture, an emulator's figure, not a "
            "board's time. The last two columns compare LiteRT's kernels with TFLM's answers, and TFLM's time here is "
            "for comparing files, not a board's." + "".join(f" {name}: not built on the Cortex-M4 ({e.micro.m4_error})."
                                                           for name, e in micro.items() if e.micro.m4_error), "",
            *markdown_table(header, rows), "", *kit]


def _npu_table(micro: dict[str, FileEntry]) -> list[str]:
    """Vela's summary of each micro file compiled for an Ethos-U NPU (or why it could not be)."""
    rows = []
    for name, entry in micro.items():
        npu = entry.micro.npu
        if npu is None and entry.micro.npu_error:
            rows.append([f"`{name}`", "—", f"**not compiled**: {entry.micro.npu_error}", *("—" for _ in range(4))])
        elif npu is not None:
            rows.append([f"`{name}`", f"{npu.accelerator} at {npu.clock_hz / 1e6:.0f} MHz",
                         f"{npu.npu_operators} ({100 * npu.npu_share:.1f} %); CPU: {npu.cpu_operators}"
                         f"{' (' + ', '.join(npu.cpu_fallbacks) + ')' if npu.cpu_fallbacks else ''}",
                         f"{npu.sram_bytes / 1024:,.2f}", f"{npu.bytes / 1024:,.2f} ({npu.flash_bytes / 1024:,.2f})",
                         f"{npu.inference_ms:.3f}", f"`{npu.file}` ({npu.bytes / 1024:,.1f} KB)"])
    if not rows:
        return []
    header = ["File", "NPU", "Operators on the NPU", "SRAM (KiB)", "Flash (KiB): the file (Vela's weights and commands)",
              "Inference (ms)", "Compiled file"]
    return ["Arm Ethos-U, compiled by Vela: Vela's estimates at the configuration's clock (the compiled file runs "
            "only on the board, with the Ethos-U driver; the TFLM-validated file beside it is what the figures "
            "above are for).", "",
            *markdown_table(header, rows), ""]


def kit_note(folder: Path, manifest: Manifest) -> list[str]:
    """Which file the firmware kit in micro/ was generated from, when it is one of these files."""
    try:
        kit = json.loads((folder / "micro" / KIT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kit = None
    if not isinstance(kit, dict) and not (folder / "micro").is_dir():
        return []
    name = kit.get("model") if isinstance(kit, dict) else None  # a kit without its marker: an older edgeport's
    entry = manifest.files.get(name) if isinstance(name, str) else None
    if entry is not None and entry.micro is not None and entry.sha256 == kit.get("sha256"):
        return [f"Firmware kit: `micro/` holds `{name}` as C++ sources (`model_data.cc`, `model_ops.h`, "
                    f"`model_settings.h`, golden vectors and `main.cc`); its README says how to build it into a TFLM "
                    f"project.", ""]
    return ["Firmware kit: `micro/` was generated from another file; export with `--micro` again.", ""]


def web_note(folder: Path, manifest: Manifest) -> list[str]:
    """Which file the page in web/ (written by `edgeport web`) runs, if there is one for these files."""
    marker = folder / "web" / WEB_MARKER
    try:
        page = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entry = manifest.files.get(page.get("model"))
    if entry is None or entry.sha256 != page.get("sha256"):
        return ["## In the browser", "", f"`web/` holds a page for another file ({page.get('model')}); "
                "run `edgeport web` again to make one for these files.", ""]
    return ["## In the browser", "",
            f"`web/index.html` runs `{page['model']}` ({entry.bytes / 1024:,.1f} KB) with onnxruntime-web, with the "
            f"same picture rules as the Python runtime and nothing fetched from outside the folder. Serve it with "
            f"`edgeport web {folder.name} --out {folder.name}/web --serve` and open http://127.0.0.1:8000/.", ""]
