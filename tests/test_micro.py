"""Microcontrollers: the micro files run in TensorFlow Lite Micro's own interpreter, their figures are TFLM's, and
the firmware kit's C++ compiles to the validated bytes and TFLM's outputs.

The seed model's micro file comes from the session's `--micro` export (the accuracy bars, on a trained model);
the conv net is a seconds-trained model on quadrant pictures (the mechanics).
"""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgeport import runtime
from edgeport.export.micro import kit_arena
from edgeport.runtime.manifest import sha256_file
from tests.conftest import assert_within_bars, edgeport, fit_quadrants, seen

MICRO = "model_micro_int8.tflite"
KIT = "model_micro_w4.tflite"  # the seed's kit: its packed 4-bit file is within budget and the smaller
TFLM = "from tflite_micro.python.tflite_micro import runtime as tflm\n"

# Runs a file in TFLM with an arena of argv[2] bytes on a zero input, in its own process (too small an arena
# may crash TFLM rather than fail).
RUN_WITH_ARENA = (
    "import sys, numpy as np\n" + TFLM +
    "engine = tflm.Interpreter.from_bytes(open(sys.argv[1], 'rb').read(), arena_size=int(sys.argv[2]))\n"
    "details = engine.get_input_details(0)\n"
    "engine.set_input(np.zeros(details['shape'], details['dtype']), 0)\n"
    "engine.invoke()\n"
)


def tflm_outputs(path, inputs):
    """TFLM's raw output codes for encoded inputs, one call per image, from this test's own loop."""
    from tflite_micro.python.tflite_micro import runtime as tflm

    engine = tflm.Interpreter.from_bytes(path.read_bytes(), arena_size=1 << 20)
    outputs = []
    for image in inputs:
        engine.set_input(image[None], 0)
        engine.invoke()
        outputs.append(engine.get_output(0)[0].copy())
    return np.stack(outputs)


def quantized_pixels(pixels, quantization, dtype):
    """Pixels x / 255 quantized with the input's scale and zero point, as the file's tensors define them."""
    codes = np.round(pixels.astype(np.float64) / 255.0 / quantization["scale"]) + quantization["zero_point"]
    info = np.iinfo(dtype)
    return np.clip(codes, info.min, info.max).astype(dtype)


def float_tensors(path):
    """Names of the floating-point tensors in a .tflite file, walking every subgraph of its flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    floats = {schema.TensorType.FLOAT32, schema.TensorType.FLOAT16, schema.TensorType.FLOAT64,
              schema.TensorType.BFLOAT16}
    return [t.name for graph in model.subgraphs for t in graph.tensors if t.type in floats]


def test_the_seed_micro_file_is_validated_in_tflm_within_the_int8_bars(exported, test_set):
    images, labels = test_set
    manifest = runtime.read_manifest(exported)
    entry = manifest.files[MICRO]
    assert entry.tensors["input"]["shape"] == [1, 28, 28] and entry.tensors["input"]["dtype"] == "int8"
    assert entry.tensors["output"]["dtype"] == "int8" and entry.integer_only is True
    assert entry.validation.kernels == "TFLM reference kernels"
    assert manifest.files["model_int8.tflite"].validation.kernels == "LiteRT default kernels (XNNPACK)"
    # TFLM run here, by its own interpreter, on every test image: the bars of DESIGN.md hold, and the manifest's
    # figures are TFLM's own (the very images whose class changed) on the images that settled it (the first look
    # of the sequential validation that settled it).
    codes = tflm_outputs(exported / MICRO, quantized_pixels(images, entry.tensors["input"]["quantization"], np.int8))
    out = entry.tensors["output"]["quantization"]
    probabilities = (codes.astype(np.float32) - out["zero_point"]) * out["scale"]
    reference = np.load(exported / "reference_probs.npy")
    assert_within_bars("model_int8.tflite", probabilities, reference, labels)  # int8's bar, on every image
    chosen = seen(entry.validation, len(labels))
    assert entry.validation.images == len(chosen) < len(labels)  # settled early: it is not the recommended file
    changed = sorted(chosen[probabilities[chosen].argmax(1) != reference[chosen].argmax(1)].tolist())
    assert entry.validation.changed.indices == changed
    agreement = np.mean(probabilities[chosen].argmax(1) == reference[chosen].argmax(1))
    change = np.mean(probabilities[chosen].argmax(1) == labels[chosen]) - np.mean(
        reference[chosen].argmax(1) == labels[chosen])
    assert entry.validation.agreement == pytest.approx(agreement) and entry.validation.accuracy_change == \
        pytest.approx(change)
    # How far LiteRT's own kernels are from TFLM's, as recorded, on those images.
    host = runtime.load(exported / MICRO).predict(images[chosen])
    ours = probabilities[chosen]
    assert entry.micro.xnnpack_agreement == pytest.approx(np.mean(host.argmax(1) == ours.argmax(1)), abs=1e-6)
    assert entry.micro.xnnpack_identical == pytest.approx(np.mean(np.all(host == ours, axis=1)), abs=1e-6)
    assert 0.99 <= entry.micro.reference_agreement <= 1.0 and entry.micro.host_us > 0
    # Flash is the file; the MLP's operators; the micro file competes only with micro files.
    assert entry.micro.flash_bytes == (exported / MICRO).stat().st_size == entry.bytes
    assert entry.micro.ops == ["AddReshape", "AddFullyConnected", "AddSoftmax"]
    assert manifest.recommended.micro == KIT and manifest.files[KIT].bytes < entry.bytes
    assert manifest.files[manifest.recommended.overall].micro is None
    assert manifest.skipped["model_micro_16x8.tflite"] == f"{MICRO} is within budget and no larger"


def test_the_kit_folder_has_the_mode_of_the_exports_other_folders(exported):
    import stat

    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((exported / "micro").stat().st_mode) == 0o777 & ~umask  # was mkdtemp's 0700


def test_the_arena_is_the_smallest_tflm_runs_in(exported):
    entry = runtime.read_manifest(exported).files[MICRO]
    arena = entry.micro.arena_bytes
    assert arena % 16 == 0 and arena == entry.micro.arena["total"]
    fits = subprocess.run([sys.executable, "-c", RUN_WITH_ARENA, exported / MICRO, str(arena)], capture_output=True)
    short = subprocess.run([sys.executable, "-c", RUN_WITH_ARENA, exported / MICRO, str(arena - 16)],
                           capture_output=True)
    assert fits.returncode == 0, fits.stderr[-500:]
    assert short.returncode != 0  # an error, or a crash (a signal): why it is measured in a child


def custom_ops(path):
    """The custom operators' codes of a .tflite file."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    return [c.customCode.decode() for c in model.operatorCodes if c.customCode]


def test_every_file_called_integer_only_holds_no_float_tensor(exported):
    manifest = runtime.read_manifest(exported)
    integer = [name for name, entry in manifest.files.items() if entry.integer_only and name.endswith(".tflite")]
    assert MICRO in integer and "model_int8.tflite" in integer
    for name in integer:
        assert float_tensors(exported / name) == [], name
    assert float_tensors(exported / "model_fp32.tflite")  # the walk finds them where they are
    assert not manifest.files["model_fp32.tflite"].integer_only


def test_the_firmware_kit_compiles_to_the_validated_bytes_and_tflms_outputs(exported, test_set, tmp_path):
    kit = exported / "micro"
    assert sorted(p.name for p in kit.iterdir()) == [".edgeport-kit", "Makefile", "README.md", "main.cc",
                                                     "model_data.cc", "model_data.h", "model_ops.h",
                                                     "model_settings.h", "model_test_vectors.h", "platform",
                                                     "sources.mk", "tflm", "unity"]
    entry = runtime.read_manifest(exported).files[KIT]
    # The marker says which file the kit holds (the report reads it, not the kit's banner).
    assert json.loads((kit / ".edgeport-kit").read_text()) == {"model": KIT, "sha256": entry.sha256}
    # A program of this test's own, built with the system's C++ compiler from the kit's sources: it prints the
    # array, then each golden picture as PixelToInput encodes it, then the golden output codes.
    (tmp_path / "check.cc").write_text(
        '#include <cstdio>\n#include "model_data.h"\n#include "model_settings.h"\n#include "model_test_vectors.h"\n'
        "int main() {\n"
        '  printf("%u %d %d\\n", g_model_data_len, kNumTestVectors, kTensorArenaSize);\n'
        '  for (int v = 0; v < kNumTestVectors; ++v) printf("%d ", kTestIndices[v]);\n  printf("\\n");\n'
        '  for (unsigned i = 0; i < g_model_data_len; ++i) printf("%d ", g_model_data[i]);\n  printf("\\n");\n'
        "  for (int v = 0; v < kNumTestVectors; ++v) {\n"
        '    for (int i = 0; i < kInputSize; ++i) printf("%d ", (int)PixelToInput(kTestPixels[v][i], i % kImageChannels));\n'
        '    printf("\\n");\n'
        '    for (int c = 0; c < kNumClasses; ++c) printf("%d ", (int)kTestOutputs[v][c]);\n    printf("\\n");\n'
        '    printf("%d %s\\n", kTestClasses[v], kClassNames[kTestClasses[v]]);\n  }\n}\n')
    compiler = shutil.which("g++") or shutil.which("c++")
    assert compiler, "a C++ compiler is needed to check the firmware kit"
    build = subprocess.run([compiler, "-std=c++17", "-Wall", "-Wextra", "-Werror", f"-I{kit}", str(tmp_path / "check.cc"),
                            str(kit / "model_data.cc"), "-o", str(tmp_path / "check")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    lines = subprocess.run([tmp_path / "check"], capture_output=True, text=True, check=True).stdout.splitlines()
    length, count, arena = map(int, lines[0].split())
    indices = [int(i) for i in lines[1].split()]
    content = (exported / KIT).read_bytes()
    assert length == len(content) and bytes(int(b) for b in lines[2].split()) == content
    # The session's export ran with --no-emulator: the kit declares the host's arena plus the margin (the
    # Cortex-M4's, when the export measures it: tests/test_firmware.py).
    assert entry.micro.m4 is None and arena == entry.micro.kit_arena_bytes == kit_arena(entry.micro.arena_bytes)
    assert count == 4 and len(set(indices)) == 4
    images, _ = test_set
    quantization = entry.tensors["input"]["quantization"]
    classes = set()
    for v, index in enumerate(indices):
        encoded = np.array(lines[3 + 3 * v].split(), np.int8).reshape(1, 28, 28)
        golden = np.array(lines[4 + 3 * v].split(), np.int64)
        klass, name = lines[5 + 3 * v].split(" ", 1)
        # The golden pictures are the validation images the header names; the C++ encoding is the input tensor's
        # quantization of x / 255.
        np.testing.assert_array_equal(encoded[0], quantized_pixels(images[index], quantization, np.int8))
        np.testing.assert_array_equal(golden, tflm_outputs(exported / KIT, encoded)[0])
        assert int(klass) == golden.argmax() and name == runtime.CLASS_NAMES[int(klass)]
        # Not saturated (3 of the first 4 were at 127 and -128: a wrong kernel could give the same codes), and of
        # different classes.
        assert golden.max() < 127 and int(klass) not in classes
        classes.add(int(klass))
    # Near a class boundary: each has the smallest gap between its two top codes (not a tie) among the unsaturated
    # pictures of its class in the first 64.
    pool = np.stack([quantized_pixels(images[i], quantization, np.int8) for i in range(64)])
    codes = tflm_outputs(exported / KIT, pool).astype(np.int64)
    ordered = np.sort(codes, axis=1)
    gaps = ordered[:, -1] - ordered[:, -2]
    for index in indices:
        rivals = [i for i in range(64) if codes[i].argmax() == codes[index].argmax() and codes[i].max() < 127
                  and gaps[i] > 0]
        assert gaps[index] == min(gaps[i] for i in rivals) > 0
    ops = re.findall(r"resolver\.(Add\w+)\((?:tflite::Register_\w+\(\))?\);", (kit / "model_ops.h").read_text())
    assert ops == entry.micro.ops and f"kNumberOperators = {len(ops)};" in (kit / "model_ops.h").read_text()
    readme = (kit / "README.md").read_text()
    assert f"{entry.micro.arena_bytes:,} bytes" in readme and f"{len(content):,} bytes" in readme


def test_a_conv_net_gets_int8_and_16x8_micro_files_that_tflm_runs(quadrants, tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    model = fit_quadrants(keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(4, activation="softmax"),
    ]), quadrants, epochs=20)
    model.save(tmp_path / "conv.keras")
    out = tmp_path / "out"
    result = edgeport("export", tmp_path / "conv.keras", "--data", quadrants["npz"], "--out", out,
                      "--formats", "micro-int8,micro-16x8", "--board", "cortex-m4", "--npu", "ethos-u55-128",
                      "--no-emulator")
    manifest = runtime.read_manifest(out)
    assert sorted(manifest.files) == ["model_micro_16x8.tflite", "model_micro_int8.tflite"]
    for name, dtype in (("model_micro_int8.tflite", "int8"), ("model_micro_16x8.tflite", "int16")):
        entry = manifest.files[name]
        assert entry.tensors["input"]["dtype"] == entry.tensors["output"]["dtype"] == dtype, name
        assert entry.tensors["input"]["shape"] == [1, 8, 8, 1] and entry.integer_only and float_tensors(out / name) == []
        assert entry.validation.kernels == "TFLM reference kernels" and entry.micro.runs
        assert set(entry.micro.ops) == {"AddConv2D", "AddDepthwiseConv2D", "AddMaxPool2D", "AddReshape",
                                        "AddFullyConnected", "AddSoftmax"}, name
        # --no-emulator: no Cortex-M4 build, said so; the kit's arena is then the host's, plus the margin.
        assert entry.micro.m4 is None and entry.micro.m4_error == "not built: --no-emulator"
        assert entry.micro.kit_arena_bytes == kit_arena(entry.micro.arena_bytes)
        # TFLM, run here, answers as the manifest says on the validation pictures.
        codes = tflm_outputs(out / name, quantized_pixels(quadrants["x_test"], entry.tensors["input"]["quantization"],
                                                          np.dtype(dtype)))
        reference = np.load(out / "reference_probs.npy")
        assert entry.validation.changed.indices == np.flatnonzero(codes.argmax(1) != reference.argmax(1)).tolist()
        # The runtime runs a one-image file on any number of pictures.
        host = runtime.load(out / name).predict(quadrants["x_test"])
        assert host.shape == (200, 4) and np.mean(host.argmax(1) == codes.argmax(1)) >= 0.98
    # The 16x8 file is larger; the kit is the recommended (smaller) file's, which fits the board.
    assert manifest.recommended.micro == "model_micro_int8.tflite"
    assert manifest.recommended.board.to_json() == {"name": "cortex-m4", "ram_bytes": 256 * 1024,
                                                    "flash_bytes": 1024 * 1024}
    assert "model_micro_int8.tflite" in (out / "micro" / "model_data.h").read_text()
    assert "was not\n// measured on a 32-bit target (not built: --no-emulator)" in (out / "micro" / "model_settings.h").read_text()
    assert "For microcontrollers on cortex-m4: model_micro_int8.tflite" in result.stdout
    # Vela compiled each micro file for the Ethos-U55: one ETHOS_U custom operator holds the NPU's part, and the
    # kit's resolver registers it.
    for name, entry in manifest.files.items():
        npu = entry.micro.npu
        compiled = out / npu.file
        assert npu.file == name.replace(".tflite", ".vela.tflite") and sha256_file(compiled) == npu.sha256
        assert "ethos-u" in custom_ops(compiled) and custom_ops(out / name) == []
        assert npu.accelerator == "ethos-u55-128" and npu.clock_hz == 500_000_000 and npu.inference_ms > 0
        assert npu.npu_operators + npu.cpu_operators >= 1 and 0 < npu.npu_share <= 1 and npu.sram_bytes > 0
        with pytest.raises(runtime.ModelFileError, match=f"{npu.file} was compiled by Vela for an Arm Ethos-U NPU and "
                                                         f"runs only on the board, with the Ethos-U driver: run {name}"):
            runtime.load(compiled)
    ops = (out / "micro" / "model_ops.h").read_text()
    assert "AddEthosU runs the part Vela compiled" in ops and "add AddEthosU()" not in ops  # no stale advice
    assert "resolver.AddEthosU();" in ops and f"kNumberOperators = {len(manifest.files['model_micro_int8.tflite'].micro.ops) + 1};" in ops
    assert "model_micro_int8.vela.tflite, compiled by Vela" in (out / "micro" / "model_vela_data.cc").read_text()
    # Flash is the whole compiled file the firmware links, not Vela's smaller weights-and-commands figure.
    npu = manifest.files["model_micro_int8.tflite"].micro.npu
    assert npu.bytes == (out / npu.file).stat().st_size > npu.flash_bytes
    assert f"| flash: the model array (`model_vela_data.cc`) | {npu.bytes:,} bytes" in (out / "micro" / "README.md").read_text()
    assert "ethos-u55-128 (Vela's estimate)" in result.stdout


def test_a_model_tflm_cannot_run_is_refused_with_tflms_reason(tmp_path):
    """TFLM has no GELU kernel: the micro file of a GELU model is measured, and the reason is TFLM's own."""
    import keras

    from edgeport import export
    from edgeport.export.common import frozen_function
    from edgeport.export.micro import measure

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(8, activation="gelu"),
                              keras.layers.Dense(4, activation="softmax")])
    pixels = np.random.default_rng(0).integers(0, 256, (50, 8, 8, 1), dtype=np.uint8)
    path = export.to_tflite(model, tmp_path / "gelu.tflite", "int8", pixels, frozen=frozen_function(model, 1))
    record = measure(path)
    assert record.runs is False and "GELU" in record.reason and "\n" not in record.reason
    assert "AddGelu" in record.ops


@pytest.mark.parametrize("op, method", [("CONV_2D", "AddConv2D"), ("DEPTHWISE_CONV_2D", "AddDepthwiseConv2D"),
                                        ("FULLY_CONNECTED", "AddFullyConnected"), ("BATCH_MATMUL", "AddBatchMatMul"),
                                        ("UNIDIRECTIONAL_SEQUENCE_LSTM", "AddUnidirectionalSequenceLSTM"),
                                        ("L2_NORMALIZATION", "AddL2Normalization"), ("RESIZE_BILINEAR",
                                                                                     "AddResizeBilinear")])
def test_operators_get_tflms_resolver_names(op, method):
    """The method names of TFLM's micro_mutable_op_resolver.h."""
    from edgeport.export.micro import resolver_name

    assert resolver_name(op) == method


def test_a_board_takes_the_smallest_micro_file_that_fits_and_says_how_far_the_closest_misses(exported):
    from edgeport.export.pipeline import _micro_miss
    from edgeport.export.plan import ExportPlan, board_for
    from edgeport.export.recommend import recommend
    from edgeport.runtime.manifest import Board

    files = runtime.read_manifest(exported).files
    entry = files[MICRO]
    arena, flash = entry.micro.arena_bytes, entry.micro.flash_bytes  # the host's: the session's export has no m4
    declared = -(-(arena + max(1024, arena // 10)) // 16) * 16  # the kit's arena: +10 %, at least 1 KiB, 16-aligned
    ram = declared + 28 * 28  # and the uint8 picture the firmware fills it from
    fits = Board("exact", ram, flash)
    assert recommend(files, 0.5, board=fits).micro == MICRO
    short = Board("short", ram - 1, flash)
    assert recommend(files, 0.5, board=short).micro is None
    plan = ExportPlan.from_formats("micro-int8", board=board_for(ram="4KiB", flash="100KiB"))
    assert _micro_miss(files, plan) == (
        f"no microcontroller's file fits the board given: the closest, {MICRO}, needs RAM {ram / 1024:,.1f} KiB "
        f"({(ram - 4096) / 1024:,.1f} KiB over 4.0 KiB) and flash {flash / 1024:,.1f} KiB "
        f"({(flash - 102400) / 1024:,.1f} KiB over 100.0 KiB)")


@pytest.mark.parametrize("flags, message", [
    (("--board", "cortex-m4"), "a board (--board, --ram, --flash) is for a microcontroller's file: add --micro"),
    (("--micro", "--ram", "12x"), "--ram must be a size such as 256KiB or 1MiB; got '12x'"),
    (("--micro", "--board", "pdp11"), "invalid choice: 'pdp11'"),
])
def test_board_flags_are_checked_before_anything_loads(flags, message, tmp_path):
    result = edgeport("export", tmp_path / "missing.keras", *flags, check=False)
    assert result.returncode == 2 and message in result.stderr


def test_sizes_read_as_board_vendors_write_them():
    from edgeport.export.plan import BOARDS, board_for, parse_bytes

    assert parse_bytes("256KiB", "--ram") == parse_bytes("256kb", "--ram") == 262144
    assert parse_bytes("1MiB", "--flash") == parse_bytes("1 MB", "--flash") == 1048576 and parse_bytes("4096", "x") == 4096
    board = board_for("cortex-m7", ram="384KiB")
    assert (board.ram_bytes, board.flash_bytes) == (384 * 1024, BOARDS["cortex-m7"].flash_bytes)
    assert board_for(flash="2MiB").ram_bytes is None


def test_the_micro_rungs_named_are_the_ones_built():
    """--formats micro-int8 --micro built model_micro_16x8.tflite too; --micro alone adds the three micro rungs."""
    from edgeport.export.plan import ExportPlan

    def keys(formats, micro=True):
        return [t.key for t in ExportPlan.from_formats(formats, micro=micro).targets]

    assert keys("micro-int8") == ["micro-int8"] and keys("micro-16x8,fp32") == ["fp32", "micro-16x8"]
    assert keys("fp32") == ["fp32", "micro-int8", "micro-16x8", "micro-w4"] and keys("micro-int8", micro=False) == ["micro-int8"]


def test_a_converter_refusal_repeated_per_operator_is_said_once():
    """TFLiteConverter's 16x8 mode refuses MobileNetV3's HARD_SWISH once per operator (eleven times there)."""
    from edgeport.export.common import converter_error

    refusal = "Quantization to 16x8-bit not yet supported for op: 'HARD_SWISH'. "
    assert converter_error(ValueError(refusal * 11 + "\n  See the docs.")) == refusal + "See the docs."


def test_a_micro_file_runs_on_the_tflm_engine_with_no_litert_interpreter_built(exported, test_set, monkeypatch):
    """The TFLM predictor is the runtime's TFLitePredictor on a TFLM engine: no LiteRT interpreter is made for it,
    and its answers are the manifest's (its TFLM validation) and the golden vectors' of the kit."""
    from ai_edge_litert import interpreter as litert

    from edgeport.export.micro import Tflm, tflm_predictor
    from edgeport.runtime.tflite_predictor import TFLitePredictor

    built = []
    original = litert.Interpreter.__init__
    monkeypatch.setattr(litert.Interpreter, "__init__", lambda self, *a, **k: (built.append(1), original(self, *a, **k))[1])
    entry = runtime.read_manifest(exported).files[KIT]
    predictor = tflm_predictor(exported / KIT, entry.micro.arena_bytes)
    images, labels = test_set
    probabilities = predictor.predict(images[:500])
    assert built == [] and type(predictor) is TFLitePredictor and isinstance(predictor.engine, Tflm)
    assert predictor.kernels == "TFLM reference kernels" and predictor.describe() == entry.tensors
    # The manifest's confusion matrix was counted from TFLM's answers on the validation images (the test set).
    expected = np.asarray(entry.validation.confusion_matrix)
    ours = np.zeros_like(expected)
    np.add.at(ours, (labels[:500], probabilities.argmax(1)), 1)
    assert (ours <= expected).all() and ours.sum() == 500
    # The kit's golden output codes are the TFLM engine's for the test pictures the kit names.
    kit = (exported / "micro" / "model_test_vectors.h").read_text()
    outputs = kit[kit.index("kTestOutputs"):]
    indices = [int(i) for i in re.search(r"kTestIndices\[kNumTestVectors\] = \{([^}]*)\}", kit).group(1).split(",")]
    for codes in predictor.engine.run(predictor.encode(images[indices])):
        assert "{" + ", ".join(str(int(c)) for c in codes) + "}" in outputs


def test_the_third_party_private_names_are_those_their_adapters_were_checked_against(exported, test_set):
    """LiteRT's native calls and Keras's conv function are read in one adapter module each; a new version of
    either must be checked on purpose (then CHECKED_VERSION is raised), not found out by a user."""
    import inspect
    from importlib import metadata

    from keras.src.backend.tensorflow import nn

    from edgeport.export import keras_adapter
    from edgeport.runtime import litert_native
    from edgeport.runtime.engines import LiteRT

    from edgeport import ray_adapter, signing_adapter

    assert metadata.version("ai-edge-litert") == litert_native.CHECKED_VERSION
    assert metadata.version("keras") == keras_adapter.CHECKED_VERSION
    assert metadata.version("model-signing") == signing_adapter.CHECKED_VERSION
    assert metadata.version("ray") == ray_adapter.CHECKED_VERSION
    engine = LiteRT((exported / "model_int8.tflite").read_bytes())
    assert litert_native.calls(engine._interpreter)  # the fast path is the one in use
    batch = (test_set[0][:1].astype(np.int16) - 128).astype(np.int8)
    fast = engine.run(batch).copy()
    engine._native = False  # the public calls give the same codes
    assert np.array_equal(engine.run(batch), fast)
    assert list(inspect.signature(nn.conv).parameters) == ["inputs", "kernel", "strides", "padding", "data_format",
                                                           "dilation_rate"]
    import keras

    head = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, name="head")])
    assert keras_adapter.producer(head.outputs[0]).name == "head"
    from ray._private.authentication import authentication_token_setup  # what ray_adapter calls

    assert callable(authentication_token_setup.maybe_enable_token_auth_if_token_available)


def test_the_4_bit_micro_rung_came_in_as_one_table_entry_and_tflm_runs_its_packed_weights(quadrants, tmp_path):
    """micro-w4 (rungs.py's entry and builder; litert.py's int8-activation option): 4-bit weights, one scale per
    tensor, int8 activations and integer input and output, built by --micro, proven in TFLM."""
    import keras

    from edgeport.export.plan import ExportPlan
    from edgeport.runtime import tflite_file

    keras.utils.set_random_seed(0)
    model = fit_quadrants(keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                            keras.layers.Dense(64, activation="relu"),
                                            keras.layers.Dense(4, activation="softmax")]), quadrants, epochs=20)
    model.save(tmp_path / "m.keras")
    out = tmp_path / "out"
    edgeport("export", tmp_path / "m.keras", "--data", quadrants["npz"], "--out", out, "--formats",
             "micro-int8,micro-w4", "--no-emulator", check=False)  # exit 1 when the 4-bit file misses its bar: it is written anyway
    manifest = runtime.read_manifest(out)
    w4, int8 = manifest.files["model_micro_w4.tflite"], manifest.files["model_micro_int8.tflite"]
    assert w4.quantization == "int4" and w4.micro.runs and w4.validation.kernels == "TFLM reference kernels"
    assert w4.validation.bar.min_agreement == 0.97  # the 4-bit bar
    assert w4.tensors["input"]["dtype"] == w4.tensors["output"]["dtype"] == "int8" and w4.integer_only
    model_t, schema = tflite_file.objects(out / "model_micro_w4.tflite"), tflite_file.schema()
    packed = [t for t in model_t.subgraphs[0].tensors if t.type == schema.TensorType.INT4]
    assert len(packed) == 2 and all(len(t.quantization.scale) == 1 for t in packed)  # one scale per weight tensor
    assert w4.bytes < int8.bytes
    # TFLM's answers are the manifest's: the images it changed against Keras.
    codes = tflm_outputs(out / "model_micro_w4.tflite",
                         quantized_pixels(quadrants["x_test"], w4.tensors["input"]["quantization"], np.dtype("int8")))
    reference = np.load(out / "reference_probs.npy")
    assert w4.validation.changed.indices == np.flatnonzero(codes.argmax(1) != reference.argmax(1)).tolist()
    # --micro builds it (the whole ladder does not).
    assert "micro-w4" in [t.key for t in ExportPlan.from_formats(None, micro=True).targets]
    assert "micro-w4" not in [t.key for t in ExportPlan.from_formats(None).targets]


def test_int16_activations_on_the_layers_around_an_outlier_put_a_micro_int8_file_within_its_bar(quadrants, tmp_path):
    """An MLP whose hidden tensor two layers read (cross-layer equalisation takes pairs whose first output one
    layer reads) with one hidden unit scaled 1000x and its readers' row scaled back: the float function is
    unchanged, but one int8 scale for the hidden tensor leaves the other units a level or two. In TFLM the int8
    file agrees with Keras on about a fifth of the tuning pictures; the search keeps int16 activations on layers
    around the unit, and the file, still integer in and out, passes in TFLM."""
    import keras

    from edgeport.runtime import tflite_file

    keras.utils.set_random_seed(0)
    pictures = keras.Input((8, 8, 1))
    hidden = keras.layers.Dense(16, activation="relu", name="writer")(keras.layers.Flatten()(pictures))
    both = keras.layers.Add()([keras.layers.Dense(16, activation="relu", name="left")(hidden),
                               keras.layers.Dense(16, activation="relu", name="right")(hidden)])
    model = fit_quadrants(keras.Model(pictures, keras.layers.Dense(4, activation="softmax")(both)), quadrants)
    (w, b) = model.get_layer("writer").get_weights()
    # The median of the units that fire, by how often (its readers' weights, scaled down, round away in int8
    # whatever the activations' width: a unit the answers hang on would be lost either way).
    active = ((quadrants["x_train"].reshape(-1, 64) / 255 @ w + b) > 0).mean(0)
    alive = np.flatnonzero(active > 0)
    unit = int(alive[np.argsort(active[alive])[len(alive) // 2]])
    w[:, unit] *= 1000
    b[unit] *= 1000
    model.get_layer("writer").set_weights([w, b])
    for reader in ("left", "right"):
        kernel, bias = model.get_layer(reader).get_weights()
        kernel[unit] /= 1000
        model.get_layer(reader).set_weights([kernel, bias])
    model.save(tmp_path / "outlier.keras")
    out = tmp_path / "out"
    edgeport("export", tmp_path / "outlier.keras", "--data", quadrants["npz"], "--out", out, "--formats",
             "micro-int8", "--no-emulator")
    entry = runtime.read_manifest(out).files["model_micro_int8.tflite"]
    # As few as meet the bar, among the three around the unit, the writer first (TensorFlow scopes: "writer_1").
    kept = {name.split("/")[-1].rsplit("_", 1)[0] for name in entry.int16_layers}
    assert "writer" in kept and kept <= {"writer", "left", "right"} and entry.equalized is None
    # LiteRT's file, of its own ranges: no rule of ranged's is recorded for it, whatever ranged had kept before.
    assert entry.activation_ranges is None, entry.search
    plain, *candidates = [c for c in entry.search if c["candidate"].endswith("in TFLM")]
    chosen = next(c for c in candidates if c["kept"] == entry.int16_layers)
    assert plain["agreement"] < 0.9 and chosen["agreement"] >= 0.985
    assert entry.validation.passed and entry.validation.kernels == "TFLM reference kernels"
    # Integer in and out and inside, int16 tensors, QUANTIZE between the widths; TFLM, run here, agrees with Keras.
    assert entry.tensors["input"]["dtype"] == entry.tensors["output"]["dtype"] == "int8" and entry.integer_only
    assert float_tensors(out / "model_micro_int8.tflite") == []
    schema, content = tflite_file.schema(), tflite_file.objects(out / "model_micro_int8.tflite")
    assert any(t.type == schema.TensorType.INT16 for t in content.subgraphs[0].tensors)
    assert "AddQuantize" in entry.micro.ops
    codes = tflm_outputs(out / "model_micro_int8.tflite",
                         quantized_pixels(quadrants["x_test"], entry.tensors["input"]["quantization"], np.int8))
    keras_classes = model.predict(quadrants["x_test"] / 255, verbose=0).argmax(1)
    assert np.mean(codes.argmax(1) == keras_classes) >= 0.985
