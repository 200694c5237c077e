"""The TensorFlow Lite Micro sources a firmware kit builds, taken from the vendored tree (third_party/tflm).

The tree holds TFLM, flatbuffers, gemmlowp, ruy and CMSIS-NN at pinned commits, and files.json, which says for
each kernel set (the host's reference kernels, the Cortex-M4's CMSIS-NN kernels) the sources the interpreter
links, those each operator's registration and parser pull in, and each source's headers. A kit copies the
union of what its operators need for both kernel sets, nothing else, with every file's time set to the tree's
commit, so the kit's bytes and times are the same on every export and shared objects stay valid.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

KERNEL_SETS = {"host": "HOST", "cortex-m4": "CM4"}  # a kernel set: its prefix in sources.mk
KIT_FILES = Path(__file__).resolve().parent / "kit"  # the kit's Makefile, its flags and the emulator's platform
# Operators a kit registers that no kit build links: the Ethos-U operator needs the NPU's driver and a board.
BOARD_ONLY_OPS = {"AddEthosU"}
# Every kit file's modification time (2026-08-20, the TFLM commit's date): the same bytes and times on every export.
FILE_TIME = 1787244441


def tree() -> Path:
    """The vendored tree: beside the package in a wheel (edgeport/tflm), at the repository's top in a checkout."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "tflm", here / "third_party" / "tflm"):
        if (candidate / "files.json").is_file():
            return candidate
    raise FileNotFoundError(f"TFLM's vendored sources are missing (looked in {here / 'tflm'} and "
                            f"{here / 'third_party' / 'tflm'}): reinstall edgeport")


@functools.cache
def index() -> dict:
    return json.loads((tree() / "files.json").read_text(encoding="utf-8"))


@functools.cache
def flags() -> dict:
    return json.loads((KIT_FILES / "flags.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Selection:
    """What a kit copies from the tree: the sources each kernel set compiles, and every file (sources, headers,
    licences) by its path in the tree."""
    sources: dict[str, list[str]]
    files: list[str]


def known_kernels(kernels: dict[str, str]) -> dict[str, str]:
    """Of typed registrations by Add name (micro.typed_kernels), those every kernel set of the tree has."""
    sets = index()["kernel_sets"].values()
    return {op: name for op, name in kernels.items() if all(name in kernel_set["roots"] for kernel_set in sets)}


def select(ops: list[str], typed: dict[str, str] | None = None) -> Selection:
    """The sources and headers that a program registering ops (MicroMutableOpResolver's Add names) links, with
    the typed registration that typed names for an op (known_kernels) instead of its general one.

    Raises:
        ValueError: an operator the vendored TFLM does not have.
    """
    sources, files = {}, set()
    for kind in KERNEL_SETS:
        kernel_set = index()["kernel_sets"][kind]
        chosen = set(kernel_set["base"])
        for op in ops:
            if op in BOARD_ONLY_OPS:
                continue
            if op not in kernel_set["adds"]:
                raise ValueError(f"the kit's TFLM ({index()['pins']['tensorflow/tflite-micro'][:7]}) has no {op}, "
                                 f"which the tflite-micro package ran: the .tflite file is proven, but no kit can "
                                 f"be written for it")
            registration = (typed or {}).get(op)
            for root in [registration] if registration else kernel_set["adds"][op]:
                chosen |= set(kernel_set["roots"].get(root, []))
        sources[kind] = sorted(chosen)
        files |= chosen | set(kernel_set["main_headers"])
        for source in chosen:
            files |= set(kernel_set["headers"][source])
    licences = sorted(p.relative_to(tree()).as_posix() for p in (tree() / "licenses").rglob("*") if p.is_file())
    return Selection(sources, sorted(files | set(licences) | {"README.md"}))


def key() -> str:
    """The objects' key: the TFLM commit and the flags (objects built with another pin or flags are not reused)."""
    text = json.dumps([index()["pins"], flags()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def unity(kind: str, sources: list[str]) -> tuple[list[str], list[str]]:
    """Of a kernel set's sources, those built as one translation unit (TFLM's framework and the kernels that
    compile with it: regenerate.py compiled all of them as one, files.json's "unity"), and the others, built one
    by one (kernels that repeat another's names, and CMSIS-NN's C)."""
    allowed = set(index()["kernel_sets"][kind]["unity"])
    together = [s for s in sources if s in allowed]
    return together, [s for s in sources if s not in allowed]


def unity_files(selection: Selection) -> dict[str, str]:
    """The kit's unity files, by name: unity/<kernel set>-<digest>.cc, one #include per source. The digest names
    the list, so a shared object is never another list's."""
    files = {}
    for kind in KERNEL_SETS:
        text = "".join(f'#include "{source}"\n' for source in unity(kind, selection.sources[kind])[0])
        files[f"unity/{kind}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.cc"] = (
            "// Generated by edgeport: TFLM's sources this model links that compile together, as one file (they parse\n"
            "// TFLM's flatbuffer schema once, not once each).\n" + text)
    return files


def sources_mk(selection: Selection) -> str:
    """sources.mk: the kit Makefile's variables (the sources per kernel set, their flags and include folders)."""
    lines = ["# Generated by edgeport: TFLM's sources this model links, and the flags they are built with.",
             f"TFLM_KEY := {key()}"]
    units = list(unity_files(selection))
    for kind, prefix in KERNEL_SETS.items():
        kind_flags = flags()[kind]
        lines += [f"{prefix}_FLAGS := {' '.join(kind_flags['common'])}",
                  f"{prefix}_CXXFLAGS := {' '.join(kind_flags['cxx'])}",
                  f"{prefix}_CFLAGS := {' '.join(kind_flags['c'])}",
                  f"{prefix}_INCLUDES := {' '.join(kind_flags['include'])}",
                  f"{prefix}_UNITY := {next(u for u in units if u.startswith(f'unity/{kind}-'))}",
                  f"{prefix}_SOURCES := \\\n  " + " \\\n  ".join(unity(kind, selection.sources[kind])[1])]
    return "\n".join(lines) + "\n"


def write_build_files(selection: Selection, folder: Path) -> None:
    """Write a kit's build files into folder: sources.mk, the unity files (at FILE_TIME: their objects may be
    shared), the Makefile and the emulated board's platform."""
    (folder / "sources.mk").write_text(sources_mk(selection), encoding="utf-8")
    for name, content in kit_platform().items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes(content)
    for name, text in unity_files(selection).items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
        os.utime(folder / name, (FILE_TIME, FILE_TIME))


def kit_platform() -> dict[str, bytes]:
    """The kit's own build files: the Makefile and the emulated board's start-up code and memory map."""
    return {name: (KIT_FILES / name).read_bytes()
            for name in ("Makefile", "platform/startup.c", "platform/mps2_an386.ld")}


def copy_selection(selection: Selection, destination: Path) -> None:
    """Copy the selected files of the tree under destination (the kit's tflm/ folder)."""
    root = tree()
    for name in selection.files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, target)
        os.utime(target, (FILE_TIME, FILE_TIME))
