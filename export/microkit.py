"""The firmware kit: a folder of C++ sources for TensorFlow Lite Micro, every byte generated from a validated file.

    micro/model_data.h, model_data.cc   the .tflite file as an aligned byte array
    micro/model_ops.h                   a MicroMutableOpResolver with exactly the file's operators
    micro/model_settings.h              arena size, input shape, quantization, the pixel encoding, class names
    micro/model_test_vectors.h          a few pictures with TFLM's exact outputs for them
    micro/main.cc                       runs those pictures and prints PASS or FAIL, to check a port on the board
    micro/README.md                     the figures, and how to add the kit to a project

The golden outputs come from TFLM's interpreter on this machine; the pixel encoding is the runtime's own
(TFLitePredictor), written as a table or, where it is one, as a subtraction.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from edgeport import __version__
from edgeport.export import tflm_tree
from edgeport.export.micro import (ARENA_MARGIN, ARENA_MARGIN_MIN, declared_arena, kit_arena, tflm_predictor,
                                   typed_kernels)
from edgeport.export.verdict import interval_words
from edgeport.runtime.manifest import KIT_MARKER, FileEntry, Manifest, sha256_file
from edgeport.runtime.tflite_predictor import TFLitePredictor

KIT_NAME = "micro"
# Golden pictures: at most this many, and at most this many pixel bytes in all (flash on the board).
TEST_VECTORS, TEST_VECTOR_BYTES = 4, 32 * 1024
# The golden pictures are chosen among this many validation images: those whose top output code is not the
# type's largest (a saturated output hides most arithmetic errors) and nearest a class boundary (where an
# arithmetic error most easily changes the answer), of different classes first.
GOLDEN_POOL = 64
BYTES_PER_LINE = 16
# Beside the golden pictures, at most this many of the first validation pictures are run and one checksum of
# their codes is compared (in what TEST_VECTOR_BYTES leaves).
CHECKSUM_PICTURES = 32
# How far main.cc lets an output code be from the golden one: none, as TFLM's int8 and int16 kernels are exact
# integer arithmetic (the seed MLP, a CNN and MobileNetV3Small gave the same codes with reference and CMSIS-NN
# kernels).
CODE_TOLERANCE = 0
_C_TYPES = {"int8": "int8_t", "int16": "int16_t", "uint8": "uint8_t"}


def write_kit(folder: str | os.PathLike, manifest: Manifest, name: str, images: np.ndarray,
              predictor: TFLitePredictor | None = None) -> Path:
    """Write folder/micro for the micro file name of manifest, with golden vectors chosen among the first images.

    predictor: the file's predictor on TFLM that proved it (export's, micro.prove); None: one is made here.

    The kit is written beside, then swapped in whole: an earlier kit is replaced, never mixed with this one.

    Returns:
        The kit's folder.

    Raises:
        ValueError: name is not a microcontroller's file that runs in TFLM, or its bytes are not the manifest's.
    """
    folder = Path(folder)
    entry = manifest.files.get(name)
    if entry is None or entry.micro is None or not entry.micro.runs:
        raise ValueError(f"{name} is not a microcontroller's file that runs in TFLM: export with --micro")
    path = folder / name
    if sha256_file(path) != entry.sha256:
        raise ValueError(f"{path} is not the file its manifest validated (sha256 differs): re-run 'edgeport export'")
    typed = tflm_tree.known_kernels(typed_kernels(path))
    selection = tflm_tree.select(entry.micro.ops, typed)
    sources = kit_sources(path, entry, images, predictor or tflm_predictor(path, entry.micro.arena_bytes), typed)
    staging = Path(tempfile.mkdtemp(prefix=f".{KIT_NAME}-", dir=folder))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp's 0700 would outlive the rename: the kit is a folder like the others
    try:
        for file_name, text in sources.items():
            (staging / file_name).write_text(text, encoding="utf-8")
        tflm_tree.write_build_files(selection, staging)
        tflm_tree.copy_selection(selection, staging / "tflm")
        (staging / KIT_MARKER).write_text(json.dumps({"model": name, "sha256": entry.sha256}) + "\n",
                                          encoding="utf-8")
        _swap_in(staging, folder / KIT_NAME)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder / KIT_NAME


def _swap_in(staging: Path, kit: Path) -> None:
    """Replace kit by staging: the old kit is moved aside first, then removed."""
    old = None
    if kit.is_dir() and not kit.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{KIT_NAME}-old-", dir=kit.parent))
        os.replace(kit, old / KIT_NAME)
    elif kit.exists() or kit.is_symlink():
        raise FileExistsError(f"{kit} exists and is not a kit folder: move it away")
    os.replace(staging, kit)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def kit_sources(path: Path, entry: FileEntry, images: np.ndarray, predictor: TFLitePredictor,
                typed: dict[str, str] | None = None) -> dict[str, str]:
    """The kit's generated files, by name, as text; the golden outputs are the codes TFLM's engine gives (predictor:
    the file on the TFLM engine); typed: the one-type registrations to use, by Add name."""
    content = path.read_bytes()
    tensors = predictor.describe()
    picture_bytes = int(np.prod(predictor.image_shape))
    count = max(1, min(TEST_VECTORS, TEST_VECTOR_BYTES // picture_bytes))
    pool = np.asarray(images[:GOLDEN_POOL], np.uint8).reshape(-1, *predictor.image_shape)
    codes = predictor.engine.run(predictor.encode(pool))
    indices = golden_indices(codes, count)
    pixels, outputs = pool[indices], codes[indices]
    checked = min(CHECKSUM_PICTURES, len(pool), (TEST_VECTOR_BYTES - count * picture_bytes) // picture_bytes)
    facts = {"file": path.name, "sha256": entry.sha256, "version": __version__}
    npu = entry.micro.npu
    sources = {
        "model_data.h": data_header(facts, npu is not None),
        "model_data.cc": data_source(facts, content),
        "model_ops.h": ops_header(facts, entry.micro.ops + (["AddEthosU"] if npu else []), typed or {}),
        "model_settings.h": _settings_header(facts, entry, predictor, tensors),
        "model_test_vectors.h": _vectors_header(facts, pixels, outputs, tensors["output"]["dtype"], indices,
                                                _checksum_part(pool[:checked], codes_checksum(codes[:checked]))),
        "main.cc": _main_source(facts, npu is not None),
        "README.md": _readme(facts, entry, predictor, count),
    }
    if npu is not None:
        sources["model_vela_data.cc"] = data_source(facts, (path.parent / npu.file).read_bytes(), "g_model_vela_data",
                                                     f"{npu.file}, compiled by Vela for {npu.accelerator}")
    return sources


def _banner(facts: dict) -> str:
    return (f"// Generated by edgeport {facts['version']} from {facts['file']}\n"
            f"// (sha256 {facts['sha256']}). Do not edit: export again instead.\n")


def data_header(facts: dict, npu: bool) -> str:
    vela = ("// The same model compiled by Vela for the Ethos-U NPU (model_vela_data.cc; link one of the two).\n"
            "extern const unsigned char g_model_vela_data[];\nextern const unsigned int g_model_vela_data_len;\n\n"
            if npu else "")
    return (_banner(facts) + "#ifndef EDGEPORT_MODEL_DATA_H_\n#define EDGEPORT_MODEL_DATA_H_\n\n"
            "// The model, as the flatbuffer TFLM reads in place (tflite::GetModel(g_model_data)).\n"
            "extern const unsigned char g_model_data[];\nextern const unsigned int g_model_data_len;\n\n"
            + vela + "#endif  // EDGEPORT_MODEL_DATA_H_\n")


def data_source(facts: dict, content: bytes, symbol: str = "g_model_data", what: str = "") -> str:
    lines = [", ".join(f"0x{b:02x}" for b in content[i : i + BYTES_PER_LINE])
             for i in range(0, len(content), BYTES_PER_LINE)]
    return (_banner(facts) + (f"// This file: {what}.\n" if what else "") + '#include "model_data.h"\n\n'
            "// 16-byte aligned: TFLM reads the flatbuffer's tensors in place.\n"
            f"alignas(16) const unsigned char {symbol}[] = {{\n    " + ",\n    ".join(lines) + "\n};\n"
            f"const unsigned int {symbol}_len = {len(content)};\n"
            f"#ifdef __GNUC__\nstatic_assert(__alignof__({symbol}) >= 16,\n"
            f"              \"TFLM reads the model in place: keep it 16-byte aligned\");\n"
            "#endif\n")


def ops_header(facts: dict, ops: list[str], typed: dict[str, str]) -> str:
    def call(op: str) -> str:
        text = f"  resolver.{op}({'tflite::' + typed[op] + '()' if op in typed else ''});\n"
        return f"#ifdef EDGEPORT_ETHOS_U\n{text}#endif\n" if op in tflm_tree.BOARD_ONLY_OPS else text

    calls = "".join(map(call, ops))
    return (_banner(facts) + "#ifndef EDGEPORT_MODEL_OPS_H_\n#define EDGEPORT_MODEL_OPS_H_\n\n"
            '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\n\n'
            "// Exactly the operators the model uses, read from its flatbuffer (the list TFLM's\n"
            "// generate_micro_mutable_op_resolver_from_model.py makes). An operator whose every use has one type gets\n"
            "// that type's kernel (Register_FULLY_CONNECTED_INT8...): CMSIS-NN then links only that type's code, the\n"
            "// reference kernels take it as the general one"
            + ("; AddEthosU runs the part Vela compiled for the Ethos-U NPU.\n" if "AddEthosU" in ops
               else ". An Ethos-U kit (export --npu) also registers AddEthosU().\n") +
            f"constexpr int kNumberOperators = {len(ops)};\n\n"
            "inline tflite::MicroMutableOpResolver<kNumberOperators> get_resolver() {\n"
            "  tflite::MicroMutableOpResolver<kNumberOperators> resolver;\n"
            f"{calls}  return resolver;\n}}\n\n#endif  // EDGEPORT_MODEL_OPS_H_\n")


def _c_string(text: str) -> str:
    """text as a C string literal: quotes, backslashes and '?' escaped (so no trigraph such as ??/ forms in any
    C or C++ mode), everything outside printable ASCII as octal escapes of its UTF-8 bytes (a name
    read from a non-UTF-8 folder name: its own bytes)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("?", "\\?")
    return '"' + "".join(c if 32 <= ord(c) < 127 else "".join(f"\\{b:03o}" for b in c.encode("utf-8", "surrogateescape"))
                         for c in escaped) + '"'


def _pixel_encoding(predictor: TFLitePredictor, input_type: str) -> str:
    """PixelToInput: the runtime's encoding of a uint8 pixel (preprocessing, then the input's quantization),
    as integer C++: a subtraction where it is one, else a table per channel."""
    channels = predictor.image_shape[2]
    values = np.broadcast_to(np.arange(256, dtype=np.uint8)[:, None, None, None], (256, *predictor.image_shape))
    table = predictor.encode(np.ascontiguousarray(values)).reshape(256, -1, channels)[:, 0, :].T  # (channels, 256)
    offsets = table.astype(np.int64) - np.arange(256)
    if np.all(offsets == offsets[:, :1]):
        steps = ", ".join(str(int(o)) for o in offsets[:, 0])
        return (f"// The model's input for a pixel value (0..255) of a channel: pixel + kPixelOffset[channel].\n"
                f"constexpr int kPixelOffset[kImageChannels] = {{{steps}}};\n"
                f"inline {input_type} PixelToInput(uint8_t pixel, int channel) {{\n"
                f"  return static_cast<{input_type}>(pixel + kPixelOffset[channel]);\n}}\n")
    rows = ",\n    ".join("{" + ", ".join(str(int(v)) for v in row) + "}" for row in table)
    return ("// The model's input for a pixel value (0..255) of a channel: the preprocessing and the input's\n"
            "// quantization, rounded as the runtime rounds them.\n"
            f"constexpr {input_type} kPixelToInput[kImageChannels][256] = {{\n    {rows}\n}};\n"
            f"inline {input_type} PixelToInput(uint8_t pixel, int channel) {{ return kPixelToInput[channel][pixel]; }}\n")


def _settings_header(facts: dict, entry: FileEntry, predictor: TFLitePredictor, tensors: dict) -> str:
    height, width, channels = predictor.image_shape
    source, output = tensors["input"], tensors["output"]
    input_type, output_type = _C_TYPES[source["dtype"]], _C_TYPES[output["dtype"]]
    names = ",\n    ".join(_c_string(n) for n in predictor.class_names)
    arena = entry.micro.arena_bytes
    pre = entry.info.preprocessing.to_json()
    return (_banner(facts) + "#ifndef EDGEPORT_MODEL_SETTINGS_H_\n#define EDGEPORT_MODEL_SETTINGS_H_\n\n"
            "#include <cstdint>\n\n"
            + _arena_comment(entry.micro) + _four_bit_comment(entry) +
            f"constexpr int kTensorArenaSize = {declared_arena(entry.micro)};\n"
            f"// A 64-bit machine (make host) needs more: its pointers and TFLM's structs are larger. main.cc takes this "
            f"there.\nconstexpr int kHostTensorArenaSize = {kit_arena(entry.micro.arena_bytes)};\n\n"
            f"constexpr int kImageHeight = {height};\nconstexpr int kImageWidth = {width};\n"
            f"constexpr int kImageChannels = {channels};\n"
            f"constexpr int kInputSize = kImageHeight * kImageWidth * kImageChannels;  // pixels, row by row, "
            f"channels last\n"
            f"constexpr int kNumClasses = {predictor.num_classes};\n\n"
            f"using InputType = {input_type};\nusing OutputType = {output_type};\n"
            f"constexpr float kInputScale = {source['quantization']['scale']!r}f;\n"
            f"constexpr int kInputZeroPoint = {source['quantization']['zero_point']};\n"
            f"constexpr float kOutputScale = {output['quantization']['scale']!r}f;\n"
            f"constexpr int kOutputZeroPoint = {output['quantization']['zero_point']};\n"
            f"// The model's output is {entry.info.output}: DequantizeOutput(code); the class is the largest code.\n"
            "inline float DequantizeOutput(OutputType code) {\n"
            "  return (static_cast<int>(code) - kOutputZeroPoint) * kOutputScale;\n}\n"
            "inline int ArgMax(const OutputType* codes) {  // the first of equal codes, as numpy's argmax\n"
            "  int best = 0;\n  for (int c = 1; c < kNumClasses; ++c) {\n    if (codes[c] > codes[best]) best = c;\n"
            "  }\n  return best;\n}\n\n"
            f"// Preprocessing the model was trained with: input = pixel * {pre['scale']} + {pre['offset']}.\n"
            + _pixel_encoding(predictor, input_type) + "\n"
            f"// Pictures are fitted to {width}x{height} by the rule '{entry.info.fit}' on a '{entry.info.background}' "
            f"background,\n// as edgeport's runtime fits them (see README.md).\n\n"
            f"constexpr const char* kClassNames[kNumClasses] = {{\n    {names}\n}};\n\n"
            "#endif  // EDGEPORT_MODEL_SETTINGS_H_\n")


def _arena_comment(m) -> str:
    """Where kTensorArenaSize comes from: the Cortex-M4's bisection when the export ran it, else the host's."""
    margin = f"this adds a margin of\n// {ARENA_MARGIN:.0%} (at least {ARENA_MARGIN_MIN} bytes)."
    if m.m4 is not None:
        return (f"// The smallest arena the model ran in on a Cortex-M4 (CMSIS-NN's kernels, under QEMU's mps2-an386) "
                f"was\n// {m.m4.arena_bytes} bytes (on the 64-bit host: {m.arena_bytes}); {margin} Other kernels "
                f"(the reference ones) or\n// another target can need more: check with your build.\n")
    return (f"// The smallest arena TFLM ran the model in on a 64-bit host was {m.arena_bytes} bytes; {margin} It "
            f"was not\n// measured on a 32-bit target ({m.m4_error or 'an older export'}): check with your build.\n")


def _four_bit_comment(entry: FileEntry) -> str:
    """For packed 4-bit weights: why the two arenas differ, and that the declared one needs CMSIS-NN."""
    if entry.quantization != "int4":
        return ""
    return ("// Its weights are packed 4-bit: TFLM's reference kernels unpack them into the arena (the host's figure),\n"
            "// CMSIS-NN's native 4-bit kernels read them packed. kTensorArenaSize is CMSIS-NN's: build with it.\n")


def golden_indices(codes: np.ndarray, count: int) -> list[int]:
    """count rows of the output codes (one per picture) to keep as golden vectors. Unsaturated ones (the top code
    below the type's largest) first, nearest a class boundary first (the smallest gap between the two top codes,
    but not a tie), one per class while classes last; then the others in order."""
    top = np.iinfo(codes.dtype).max if np.issubdtype(codes.dtype, np.integer) else np.inf
    ordered = np.sort(codes.astype(np.int64), axis=1)
    gaps = ordered[:, -1] - ordered[:, -2]
    candidates = sorted((i for i in range(len(codes)) if codes[i].max() < top and gaps[i] > 0),
                        key=lambda i: (gaps[i], i))
    chosen, classes = [], set()
    for i in candidates:  # one of each class first
        if int(codes[i].argmax()) not in classes and len(chosen) < count:
            chosen.append(i)
            classes.add(int(codes[i].argmax()))
    for i in [*candidates, *range(len(codes))]:
        if len(chosen) == count:
            break
        if i not in chosen:
            chosen.append(i)
    return chosen


def _vectors_header(facts: dict, pixels: np.ndarray, outputs: np.ndarray, output_dtype: str,
                    indices: list[int], checksum_part: str) -> str:
    count = len(pixels)

    def rows(array) -> str:
        return ",\n    ".join("{" + ", ".join(str(int(v)) for v in row.reshape(-1)) + "}" for row in array)

    return (_banner(facts) + "#ifndef EDGEPORT_MODEL_TEST_VECTORS_H_\n#define EDGEPORT_MODEL_TEST_VECTORS_H_\n\n"
            '#include <cstdint>\n\n#include "model_settings.h"\n\n'
            f"// {count} validation picture{'s' if count > 1 else ''} (uint8 pixels) and TFLM's exact output codes "
            f"for each on the exporting\n// machine: a port that runs them to other codes computes differently. They "
            f"are chosen with their top\n// code below its largest value (a saturated output hides arithmetic "
            f"errors), nearest a class boundary\n// (the smallest gap between the two top codes), of different "
            f"classes.\n"
            f"constexpr int kNumTestVectors = {count};\n"
            f"// How far an output code may be from these and still pass: {CODE_TOLERANCE}, TFLM's int8 arithmetic is "
            f"exact.\n"
            f"constexpr int kCodeTolerance = {CODE_TOLERANCE};\n"
            f"constexpr int kTestIndices[kNumTestVectors] = {{{', '.join(map(str, indices))}}};  "
            f"// in the validation images\n"
            f"constexpr uint8_t kTestPixels[kNumTestVectors][kInputSize] = {{\n    {rows(pixels)}\n}};\n"
            f"constexpr {_C_TYPES[output_dtype]} kTestOutputs[kNumTestVectors][kNumClasses] = {{\n    {rows(outputs)}\n}};\n"
            f"constexpr int kTestClasses[kNumTestVectors] = {{{', '.join(str(int(o.argmax())) for o in outputs)}}};\n\n"
            + checksum_part + "\n#endif  // EDGEPORT_MODEL_TEST_VECTORS_H_\n")


def codes_checksum(codes: np.ndarray) -> int:
    """FNV-1a (32-bit) over output codes, picture by picture, each code as the 4 little-endian bytes of its
    int32 value: main.cc computes the same."""
    checksum = 0x811C9DC5
    for code in np.asarray(codes, np.int64).reshape(-1):
        value = int(code) & 0xFFFFFFFF
        for shift in (0, 8, 16, 24):
            checksum = ((checksum ^ ((value >> shift) & 0xFF)) * 0x01000193) & 0xFFFFFFFF
    return checksum


def _checksum_part(pixels: np.ndarray, checksum: int) -> str:
    """The checksum pictures (the first validation images) and the checksum of TFLM's codes for them, appended
    to model_test_vectors.h; none when the golden pictures leave no room."""
    rows = ",\n    ".join("{" + ", ".join(str(int(v)) for v in row.reshape(-1)) + "}" for row in pixels)
    arrays = (f"constexpr uint8_t kChecksumPixels[EDGEPORT_CHECKSUM_PICTURES][kInputSize] = {{\n    {rows}\n}};\n"
              f"constexpr uint32_t kChecksumOfCodes = 0x{checksum:08x}u;\n" if len(pixels) else "")
    return (f"// The first {len(pixels)} validation pictures, and FNV-1a (32-bit) over TFLM's output codes for all of "
            f"them, each code as the\n// 4 little-endian bytes of its int32 value: a wider check than the golden "
            f"pictures, for little flash.\n#define EDGEPORT_CHECKSUM_PICTURES {len(pixels)}\n{arrays}")


def _main_source(facts: dict, npu: bool) -> str:
    model = ("// Built with -DEDGEPORT_ETHOS_U (and model_vela_data.cc), it runs the Vela-compiled model on the NPU.\n"
             "#ifdef EDGEPORT_ETHOS_U\n#define EDGEPORT_MODEL g_model_vela_data\n#else\n"
             "#define EDGEPORT_MODEL g_model_data\n#endif\n" if npu else "#define EDGEPORT_MODEL g_model_data\n")
    body = (tflm_tree.KIT_FILES / "main.cc.in").read_text(encoding="utf-8").split("\n", 1)[1]  # past its own note
    return _banner(facts) + model + body


def _four_bit_words(entry: FileEntry) -> str:
    if entry.quantization != "int4":
        return ""
    m = entry.micro
    return (f"""
**The weights are packed 4-bit (one scale per tensor), so the kit requires CMSIS-NN's kernels.** TFLM's
reference kernels unpack each 4-bit tensor into the arena before they run it: they need the host's
{m.arena_bytes:,} bytes (`kHostTensorArenaSize`, what `make host` uses). CMSIS-NN's native 4-bit kernels
read the weights packed{f", in {m.m4.arena_bytes:,} bytes on the Cortex-M4" if m.m4 else ""}: `kTensorArenaSize` is
theirs. Build for Cortex-M with `OPTIMIZED_KERNEL_DIR=cmsis_nn` (what `make cortex-m4` does).
""")


def _readme(facts: dict, entry: FileEntry, predictor: TFLitePredictor, count: int) -> str:
    v, m = entry.validation, entry.micro
    height, width, channels = predictor.image_shape
    interval = v.accuracy_change_interval or [v.accuracy_change, v.accuracy_change]
    arena = declared_arena(m)
    return f"""# Firmware kit for {facts['file']}

Generated by edgeport {facts['version']} from `{facts['file']}` (sha256 `{facts['sha256']}`), the file its
manifest validated in TensorFlow Lite Micro. Every figure below was measured by TFLM's own interpreter
(its reference kernels) on the exporting machine.

| figure | value |
|---|---|
| flash: the model array (`model_data.cc`) | {m.flash_bytes:,} bytes ({m.flash_bytes / 1024:.1f} KiB); TFLM's code is extra |
| tensor arena, smallest TFLM ran in (64-bit host, by bisection) | {m.arena_bytes:,} bytes |
{_m4_rows(m)}
| tensor arena the kit declares (`kTensorArenaSize`, +{ARENA_MARGIN:.0%}, at least {ARENA_MARGIN_MIN} bytes) | {arena:,} bytes |
| input | {height}x{width}x{channels} {predictor.describe()['input']['dtype']}, one picture per call |
| operators (`model_ops.h`) | {', '.join(op[3:] for op in m.ops)} |
| accuracy in TFLM on the {sum(map(sum, v.confusion_matrix)):,} validation images | {100 * v.accuracy:.2f} % (Keras {100 * v.reference_accuracy:.2f} %) |
| accuracy change against Keras (95 % interval) | {100 * v.accuracy_change:+.2f} pt ({interval_words(interval, 'pt', 'plain')}) |
| answers equal to Keras's | {100 * v.agreement:.2f} % |
| answers equal between TFLM and LiteRT's reference kernels / XNNPACK | {100 * (m.reference_agreement or 0):.2f} % / {100 * (m.xnnpack_agreement or 0):.2f} % |
| time per picture in TFLM on the exporting machine (relative only) | {m.host_us:,.0f} µs |

`kTensorArenaSize` comes from the Cortex-M4 build's bisection when the export ran it (each size a
run under QEMU), else from the 64-bit host's. `main.cc` prints TFLM's `arena_used_bytes()`: it counts
TFLM's own allocations but not all the alignment padding the planner leaves, so it can read below the
smallest arena that works: size the arena with `kTensorArenaSize`, not with it.
{_four_bit_words(entry)}
## Files

- `model_data.h`, `model_data.cc`: the model as a 16-byte aligned array (`g_model_data`, `g_model_data_len`).
- `model_ops.h`: `get_resolver()`, a `MicroMutableOpResolver` with exactly the model's operators.
- `model_settings.h`: the arena size, input shape and type, input and output scale and zero point,
  `PixelToInput(pixel, channel)` (the model's preprocessing and input quantization as integer
  arithmetic on a uint8 pixel), `DequantizeOutput(code)`, `ArgMax(codes)` and the class names.
- `model_test_vectors.h`: {count} validation picture{'s' if count > 1 else ''} with TFLM's exact output codes,
  `kCodeTolerance` ({CODE_TOLERANCE}): how far a code may differ and still pass, and (where the flash budget of the
  test pictures, {TEST_VECTOR_BYTES // 1024} KiB, leaves room) up to {CHECKSUM_PICTURES} more validation pictures with one
  checksum of TFLM's codes for them.
- `main.cc`: checks the model array's alignment and schema version, runs those pictures and prints `PASS`,
  or how many codes differ and whether the checksum does: run it first on a new board.
- `Makefile`, `sources.mk`, `platform/`: the build below; `tflm/`: the TensorFlow Lite Micro, flatbuffers,
  gemmlowp, ruy and CMSIS-NN sources this model links, at the commits in `tflm/README.md`, with their licences.

## Building it

Nothing is downloaded: every source is in this folder.

- `make host` builds `main.cc` for this machine with TFLM's reference kernels (g++) and runs it.
- `make cortex-m4` builds it for an Arm Cortex-M4 with CMSIS-NN's kernels (Debian: `gcc-arm-none-eabi`,
  `libnewlib-arm-none-eabi`, `libstdc++-arm-none-eabi-dev`; no C++ library is linked), with start-up code
  and a memory map for QEMU's `mps2-an386` board in `platform/`, and prints the program's size (text and
  data are flash, data and bss are RAM).
- `make run-qemu` runs that program under `qemu-system-arm` (Debian: `qemu-system-arm`) and prints the
  golden-picture verdict, the arena used and the emulated instructions per picture (QEMU's count with
  `-icount`: an emulator's figure, not a board's time).

## Adding it to a project

1. Copy `main.cc` (or your own code using the headers), `model_data.cc` and the headers into the project.
2. Build TFLM's sources in `tflm/` as `sources.mk` lists them (`CM4_SOURCES` with CMSIS-NN's kernels for
   Cortex-M, `HOST_SOURCES` with the reference kernels elsewhere), or use the TFLM your SDK ships at the
   commit in `tflm/README.md`; keep `platform/` out of it, it is the emulator's.
3. On Cortex-M, TFLM prints through a callback: `main.cc` registers `EdgeportLog`, which writes to stdout.
   Point it (or newlib's `_write`) at your UART.
4. Fill the input with `PixelToInput` from a {width}x{height} picture fitted as edgeport's runtime fits it
   ({entry.info.fit} on a {entry.info.background} background), invoke, and take `ArgMax` of the output codes.

The golden outputs are the reference kernels'. CMSIS-NN's kernels are written to give the same int8
results, and `main.cc` expects every code to be within `kCodeTolerance` ({CODE_TOLERANCE}) of them: this kit's own
`make cortex-m4` build checks it. A differing code means the build computes differently (another kernel,
another TFLM): check it before trusting the board's answers.
""" + _npu_readme(m.npu)


def _m4_rows(m) -> str:
    """The README's rows for the Cortex-M4 build the export ran, or why it did not."""
    if m.m4 is None:
        return f"| on a Cortex-M4 | not measured: {m.m4_error or 'an older export'} |"
    m4 = m.m4
    return (f"| tensor arena, smallest on a Cortex-M4 (CMSIS-NN, QEMU's mps2-an386, by bisection) | "
            f"{m4.arena_bytes:,} bytes (TFLM's `arena_used_bytes()` says {m4.arena_used_bytes:,}) |\n"
            f"| the Cortex-M4 program (TFLM, CMSIS-NN, the model, start-up; `arm-none-eabi-size`) | text "
            f"{m4.text_bytes:,} B, data {m4.data_bytes:,} B, bss {m4.bss_bytes:,} B |\n"
            f"| instructions per picture on the Cortex-M4 (QEMU's count: an emulator's figure, not a board's time) | "
            f"{m4.instructions:,} |")


def _npu_readme(npu) -> str:
    """The kit README's part on the Vela-compiled file, when there is one."""
    if npu is None:
        return ""
    fallbacks = ", ".join(npu.cpu_fallbacks) or "none"
    return f"""
## On an Arm Ethos-U NPU

`model_vela_data.cc` holds `{npu.file}`: the same model compiled by Vela {npu.vela_version or ''} for
{npu.accelerator} ({npu.system_config}, {npu.memory_mode}). It runs only on the board, with the Ethos-U
driver (`AddEthosU()` is in the resolver); build `main.cc` with `-DEDGEPORT_ETHOS_U` and link
`model_vela_data.cc` instead of `model_data.cc`. Vela's estimates, not measurements:

| figure | value |
|---|---|
| operators on the NPU | {npu.npu_operators} ({100 * npu.npu_share:.1f} %); on the CPU: {npu.cpu_operators} ({fallbacks}) |
| SRAM | {npu.sram_bytes / 1024:,.2f} KiB |
| flash: the model array (`model_vela_data.cc`) | {npu.bytes:,} bytes ({npu.bytes / 1024:,.1f} KiB), the whole `{npu.file}` the firmware links; Vela's weights and command stream are {npu.flash_bytes / 1024:,.2f} KiB of it |
| inference | {npu.inference_ms:.3f} ms at {npu.clock_hz / 1e6:.0f} MHz ({npu.cycles:,} cycles) |

The golden outputs are TFLM's on the CPU file. Vela's operators are specified to compute TFLM's int8
results exactly, so `main.cc` holds the NPU to the same `kCodeTolerance` ({CODE_TOLERANCE}): a differing code is a fault
to look into.
"""
