#!/usr/bin/env python3
"""Regenerate this folder: TensorFlow Lite Micro's sources, as TFLM's own create_tflm_tree.py lays them out, with
the third-party code TFLM's Makefile pins, and files.json, which says which sources each operator needs.

    python third_party/tflm/regenerate.py [--mirrors DIR]

Each upstream repository is read at its pinned commit (PINS below): from DIR/<owner>+<name>/repo when --mirrors
names a folder of git mirrors, else cloned from GitHub. Needs git, make, patch, g++ and arm-none-eabi-g++.

Steps:
1. Lay out a TFLM checkout with the downloads its Makefile expects (flatbuffers with TFLM's patch, gemmlowp, ruy,
   CMSIS-NN, CMSIS), then run create_tflm_tree.py twice: reference kernels for the host, and CMSIS-NN kernels for
   cortex_m_generic/cortex-m4. The union of both trees, less CMSIS-Core (the kit's start-up code needs none of
   it) and the signal library's sources, is copied here.
2. Compile every source for both kernel sets with the kit's flags, and follow each object's undefined symbols to
   the objects that define them, as a linker does with an archive. files.json keeps, per kernel set, the sources
   the interpreter needs (base) and the sources each operator's registration and parser pull in, and every
   source's headers (from the compiler's -MMD), so a kit copies only what its model links; and the sources a kit
   may compile as one translation unit (TFLM's framework and the kernels that compile with it, checked by
   compiling them together).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# owner/name: (commit, destination under TFLM's downloads folder, or "" for TFLM itself). The third-party commits
# are the ones TFLM's Makefile and download scripts pin at the TFLM commit.
PINS = {
    "tensorflow/tflite-micro": ("90b983c2b3f1480642e040bbd2ddb37b998f3424", ""),
    "google/flatbuffers": ("v25.9.23", "flatbuffers"),
    "google/gemmlowp": ("719139ce755a0f31cbf1c37f7f98adcc7fc9f425", "gemmlowp"),
    "google/ruy": ("d37128311b445e758136b8602d1bbd2a755e115d", "ruy"),
    "ARM-software/CMSIS-NN": ("4ab83cc3cc98fb85ed6dafb55e8ca02f1628dcae", "cmsis_nn"),
    "ARM-software/CMSIS_6": ("5782d6f8057906d360f4b95ec08a2354afe5c9b9", "cmsis"),
    "ARM-software/Cortex_DFP": ("c2c70a97a20fb355815e2ead3d4a40e35a4a3cdf", "cmsis/Cortex_DFP"),
    "mborgerding/kissfft": ("v130", "kissfft"),  # the signal library's FFT
}
DOWNLOADS = "tensorflow/lite/micro/tools/make/downloads"
# What no kit builds: CMSIS-Core (the kit brings its own start-up code), and the sources of the signal library
# and its FFT (no image model's operator; their headers stay, as TFLM's micro_ops.h includes them).
DROPPED = re.compile(r"^(third_party/cmsis/|(signal|third_party/kissfft)/.*\.(cc|c)$)")
LICENSES = {"LICENSE": "LICENSE", "third_party/flatbuffers/LICENSE": "flatbuffers/LICENSE",
            "third_party/kissfft/COPYING": "kissfft/COPYING",
            "third_party/gemmlowp/LICENSE": "gemmlowp/LICENSE", "third_party/ruy/LICENSE": "ruy/LICENSE",
            "third_party/cmsis_nn/LICENSE": "cmsis_nn/LICENSE"}
KERNELS = "tensorflow/lite/micro/kernels/"
MAKE_OPTIONS = {"host": "", "cortex-m4": ("TARGET=cortex_m_generic TARGET_ARCH=cortex-m4 OPTIMIZED_KERNEL_DIR=cmsis_nn "
                                          "TARGET_TOOLCHAIN_ROOT=/usr/bin/")}
FLAGS = json.loads((HERE.parent.parent / "export" / "kit" / "flags.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, help="a folder of git mirrors, <owner>+<name>/repo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tflm-") as scratch:
        scratch = Path(scratch)
        checkout = lay_out(scratch / "tflm", args.mirrors)
        trees = {kind: make_tree(checkout, scratch / kind, options) for kind, options in MAKE_OPTIONS.items()}
        files = sorted({f for tree in trees.values() for f in tree if not DROPPED.match(f)})
        for old in HERE.iterdir():
            if old.name != "regenerate.py":
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        for name in files:
            source = next(tree[name] for tree in trees.values() if name in tree)
            (HERE / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, HERE / name)
        for source, target in LICENSES.items():
            (HERE / "licenses" / target).parent.mkdir(parents=True, exist_ok=True)
            found = HERE / source if (HERE / source).exists() else checkout / DOWNLOADS / source.split("/", 1)[1]
            shutil.copyfile(found, HERE / "licenses" / target)
        manifest = {"pins": {repo: commit for repo, (commit, _) in PINS.items()},
                    "kernel_sets": {kind: link_sets(kind, files, scratch / f"objects-{kind}") for kind in MAKE_OPTIONS}}
        (HERE / "files.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    size = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    (HERE / "README.md").write_text(readme(len(files), size))
    print(f"{len(files)} files, {size / 1e6:.1f} MB in {HERE}")
    return 0


def readme(count: int, size: int) -> str:
    rows = "\n".join(f"| [{repo}](https://github.com/{repo}) | `{commit}` | {destination or '(the tree itself)'} |"
                     for repo, (commit, destination) in PINS.items())
    return f"""# TensorFlow Lite Micro, vendored

The sources a firmware kit (`edgeport export --micro`) builds: TensorFlow Lite Micro with the third-party
code its Makefile pins, laid out by TFLM's own `create_tflm_tree.py`. {count} files, {size / 1e6:.1f} MB. Written by
`regenerate.py` (see its docstring); do not edit by hand. A kit copies only the files its model links
(`files.json`). The licences are in `licenses/`: Apache-2.0 for TFLM, flatbuffers, gemmlowp, ruy and CMSIS-NN.

| repository | commit | where TFLM's Makefile puts it |
|---|---|---|
{rows}

The TFLM commit is the newest this project could fetch (2026-08-20); the `tflite-micro` wheel it pins was
built from a later one (8f6596d). The kit tests check that this tree's kernels give the wheel's output codes.
Left out: CMSIS-Core and Cortex_DFP (the kit's emulator start-up code needs neither; a board's SDK brings its
own), and the sources of the signal library and kissfft: TFLM's `micro_ops.h` includes their headers, which are
here (kissfft is BSD-licensed), but no image model links them.
"""


def lay_out(checkout: Path, mirrors: Path | None) -> Path:
    """TFLM at its pin, with every download its Makefile expects already in place (so it fetches nothing)."""
    for repo, (commit, destination) in PINS.items():
        target = checkout / DOWNLOADS / destination if destination else checkout
        target.mkdir(parents=True, exist_ok=True)
        git_dir = mirrors / repo.replace("/", "+") / "repo" if mirrors else None
        if git_dir is None or not git_dir.is_dir():
            git_dir = checkout.parent / "clones" / repo.replace("/", "+")
            if not git_dir.exists():
                subprocess.run(["git", "clone", "--quiet", "--bare", f"https://github.com/{repo}", git_dir], check=True)
        archive = subprocess.run(["git", "-C", git_dir, "archive", commit], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", target], input=archive, check=True)
    downloads = checkout / DOWNLOADS
    (downloads / "pigweed").mkdir(exist_ok=True)  # TFLM's tests only
    for build_file in [*downloads.glob("flatbuffers/**/BUILD"), *downloads.glob("flatbuffers/**/BUILD.bazel")]:
        build_file.unlink()
    for folder, patch in (("flatbuffers", checkout / "tensorflow/lite/micro/tools/make/flatbuffers.patch"),
                          ("kissfft", checkout / "third_party/kissfft/kissfft.patch")):
        subprocess.run(["patch", "--quiet", "-p1", "-d", downloads / folder, "-i", patch], check=True)
    return checkout


def make_tree(checkout: Path, output: Path, options: str) -> dict[str, Path]:
    """create_tflm_tree.py's tree for these Makefile options: each file by its path in the tree."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # it imports PIL
    subprocess.run([sys.executable, "tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py", output,
                    f"--makefile_options={options}"], cwd=checkout, env=env, check=True)
    return {p.relative_to(output).as_posix(): p for p in output.rglob("*") if p.is_file()}


def link_sets(kind: str, files: list[str], objects: Path) -> dict:
    """The sources of one kernel set: those the interpreter needs, those each registration and parser pulls in,
    and each source's headers beyond main.cc's."""
    flags = FLAGS[kind]
    sources = [f for f in files if f.endswith((".cc", ".c")) and included(f, kind)]
    compiler = {"host": ("g++", "gcc"), "cortex-m4": ("arm-none-eabi-g++", "arm-none-eabi-gcc")}[kind]
    objects.mkdir(parents=True)

    command = {cxx: [compiler[cxx == "c"], *flags["common"], *flags[cxx], *[f"-I{HERE / d}" for d in flags["include"]]]
               for cxx in ("cxx", "c")}

    def compile_one(source: str) -> tuple[str, list[str]]:
        path = HERE / source if source != "probe.cc" else objects / source
        flags_of = command["cxx" if source.endswith(".cc") else "c"]
        target = objects / (source.replace("/", "__") + ".o")
        subprocess.run([*flags_of, "-MMD", "-MF", f"{target}.d", "-c", path, "-o", target], check=True)
        deps = Path(f"{target}.d").read_text()
        headers = sorted(Path(h).resolve().relative_to(HERE).as_posix()
                         for h in deps.replace("\\\n", " ").split(":", 1)[1].split()[1:]
                         if Path(h).resolve().is_relative_to(HERE))
        return source, headers

    (objects / "probe.cc").write_text(PROBE)
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        headers = dict(pool.map(compile_one, [*sources, "probe.cc"]))
    together = unity_sources(sorted(s for s in sources if s.endswith(".cc")), command["cxx"], objects)
    symbols = {source: read_symbols(objects / (source.replace("/", "__") + ".o"), kind) for source in sources}
    main_needs = read_symbols(objects / "probe.cc.o", kind)[1]
    base = closure(main_needs, symbols, set())
    roots = {}
    resolver = (HERE / "tensorflow/lite/micro/micro_mutable_op_resolver.h").read_text()
    for add, body in re.findall(r"TfLiteStatus (Add\w+)\((.*?)\n  }", resolver, re.S):
        for name in re.findall(r"\b((?:Register|Parse)_?\w+)\(", body):
            roots.setdefault(name, closure(symbols_named(name, symbols), symbols, base))
    # The kernels of one type (Register_FULLY_CONNECTED_INT8...): CMSIS-NN defines them, the reference kernels
    # alias them inline to the general registration, which is then what they link.
    typed = {m for header in (HERE / "tensorflow/lite/micro/kernels").glob("*.h")
             for m in re.findall(r"\bRegister_\w+?_INT(?:4|8|16)(?:_INT16)?(?=\(\))", header.read_text())}
    for name in sorted(typed):
        general = re.sub(r"_INT(?:4|8|16)(?:_INT16)?$", "", name)
        roots.setdefault(name, closure(symbols_named(name, symbols) or symbols_named(general, symbols), symbols, base))
    adds = {add: sorted(set(re.findall(r"\b((?:Register|Parse)_?\w+)\(", body)))
            for add, body in re.findall(r"TfLiteStatus (Add\w+)\((.*?)\n  }", resolver, re.S)}
    main_headers = headers.pop("probe.cc")
    headers = {source: sorted(set(found) - set(main_headers)) for source, found in headers.items()}
    return {"sources": sources, "main_headers": main_headers, "base": sorted(base),
            "roots": {k: sorted(v) for k, v in sorted(roots.items())},
            "adds": adds, "headers": headers, "unity": together}


def unity_sources(sources: list[str], command: list[str], objects: Path) -> list[str]:
    """The C++ sources a kit may compile as one translation unit: TFLM's framework (every source outside its
    kernels folder: all of it must go) and the kernels that go with it. Kernels repeat names (kInputTensor, Eval,
    headers without include guards): each round compiles the unit, and drops the kernels the errors come from (the
    unit's line that included them), until it compiles; then it is built whole once."""
    chosen = list(sources)
    while True:
        text = "".join(f'#include "{source}"\n' for source in chosen)
        unit = objects / "unity.cc"
        unit.write_text(text)
        result = subprocess.run([*command, "-fsyntax-only", "-fmax-errors=0", unit], capture_output=True, text=True)
        if result.returncode == 0:
            break
        lines = {int(n) for n in re.findall(rf"{re.escape(str(unit))}:(\d+)", result.stderr)}
        culprits = {chosen[n - 1] for n in lines if chosen[n - 1].startswith(KERNELS)}
        if not culprits:
            raise RuntimeError(f"TFLM's framework does not compile as one unit:\n{result.stderr[-3000:]}")
        chosen = [source for source in chosen if source not in culprits]
    subprocess.run([*command, "-c", unit, "-o", objects / "unity.o"], check=True)
    return chosen


def included(source: str, kind: str) -> bool:
    """Whether a source belongs to a kernel set: the host runs the reference kernels and TFLM's generic platform
    files; the Cortex-M4 runs CMSIS-NN's kernels where there is one, and prints through cortex_m_generic's
    callback."""
    kernel = re.match(r"tensorflow/lite/micro/kernels/(cmsis_nn/)?(\w+\.cc)$", source)
    if kernel and kernel.group(1) is None and (HERE / KERNELS / "cmsis_nn" / kernel.group(2)).exists():
        return kind == "host"
    if source.startswith("tensorflow/lite/micro/kernels/cmsis_nn/") or source.startswith("third_party/cmsis_nn/"):
        return kind == "cortex-m4"
    if source == "tensorflow/lite/micro/debug_log.cc":
        return kind == "host"
    if source.startswith("tensorflow/lite/micro/cortex_m_generic/"):
        return kind == "cortex-m4" and source.endswith("debug_log.cc")
    return True


def read_symbols(obj: Path, kind: str) -> tuple[set[str], set[str]]:
    """An object's defined and undefined symbols (demangled)."""
    nm = {"host": "nm", "cortex-m4": "arm-none-eabi-nm"}[kind]
    defined, undefined = set(), set()
    for line in subprocess.run([nm, "-C", obj], check=True, capture_output=True, text=True).stdout.splitlines():
        parts = line.split(None, 2) if not line.startswith(" ") else ["", *line.split(None, 1)]
        if len(parts) < 3:
            continue
        (undefined if parts[1] == "U" else defined).add(parts[2])
    return defined, undefined


def symbols_named(name: str, symbols: dict) -> set[str]:
    return {s for defined, _ in symbols.values() for s in defined if re.search(rf"\b{name}\(", s)}


def closure(wanted: set[str], symbols: dict, have: set[str]) -> set[str]:
    """The sources whose objects a linker pulls from the archive for the wanted symbols, beyond have."""
    chosen, defined = set(), {s for source in have for s in symbols[source][0]}
    queue = list(wanted)
    while queue:
        symbol = queue.pop()
        if symbol in defined:
            continue
        for source, (provides, needs) in symbols.items():
            if symbol in provides and source not in chosen and source not in have:
                chosen.add(source)
                defined |= provides
                queue.extend(needs)
                break
    return chosen


# The interpreter as a kit's main.cc uses it, with no operator.
PROBE = r'''
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/system_setup.h"
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#include "tensorflow/lite/schema/schema_generated.h"
alignas(16) static uint8_t arena[1024];
int main() {
  tflite::InitializeTarget();
  static tflite::MicroMutableOpResolver<1> resolver;
  static tflite::MicroInterpreter interpreter(tflite::GetModel(arena), resolver, arena, sizeof(arena));
  MicroPrintf("%d", static_cast<int>(interpreter.arena_used_bytes()));
  return interpreter.AllocateTensors() == kTfLiteOk && interpreter.Invoke() == kTfLiteOk;
}
'''

if __name__ == "__main__":
    sys.exit(main())
