"""The quantization ladder: every rung built by the real tools, the budget's recommendation, the
sensitivity probes, --integer-only, --strict and the exit statuses.

Two models: the seed model (session fixture), and the same model with one outlier activation
channel: one hidden ReLU unit scaled up about 1000x over the typical unit and its outgoing
weights scaled down as much, so the float function is unchanged (ReLU is positively
homogeneous) while per-tensor int8 activations lose every other unit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from edgeport import runtime
from tests.conftest import edgeport

KIB = 1024
EVERY_RUNG = "fp32,fp16,dynamic,int8,onnx,onnx-int8,w4,onnx-w4,onnx-dynamic,16x8,onnx-int16,mixed,onnx-mixed"
INTEGER_ONLY = {"model_int8.tflite": True, "model_16x8.tflite": True, "model_int8.onnx": True,
                "model_int16.onnx": True, "model_fp32.tflite": False, "model.onnx": False,
                "model_dynamic.tflite": False, "model_w4.tflite": False, "model_w4.onnx": False,
                "model_dynamic.onnx": False, "model_fp16.tflite": False}


@pytest.fixture(scope="module")
def outlier(exported, fashion, tmp_path_factory):
    """The seed model with one outlier channel, exported up every rung (unit = median-active hidden unit)."""
    import keras

    folder = tmp_path_factory.mktemp("outlier")
    model = keras.models.load_model(exported / "model.keras")
    x = fashion.splits["train"].images[:2000].reshape(-1, 784).astype("float32") / 255
    first, second = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    k = _plant_outlier(first, second, np.asarray(first(x)))
    model.save(folder / "model.keras")
    hidden = np.asarray(first(x)).max(0)
    ratio = float(hidden[k] / np.median(hidden[hidden > 0]))
    assert 500 < ratio < 2000  # "about 1000x the others"
    result = edgeport("export", folder / "model.keras", "--formats", EVERY_RUNG, "--search", "thorough", "--out", folder)
    return folder, runtime.read_manifest(folder), result, ratio


def _plant_outlier(writer, reader, hidden: np.ndarray) -> int:
    """Make the median-active unit of writer's (ReLU) output 1000x the others' range and undo it in reader,
    so the float function stays the same; returns the unit."""
    top = hidden.max(0)
    alive = np.flatnonzero(top > 0)
    k = int(alive[np.argsort(hidden.mean(0)[alive])[len(alive) // 2]])
    factor = 1000 * np.median(top[alive]) / top[k]
    (w1, b1), (w2, b2) = writer.get_weights(), reader.get_weights()
    w1[:, k] *= factor
    b1[k] *= factor
    w2[k, :] /= factor
    writer.set_weights([w1, b1])
    reader.set_weights([w2, b2])
    return k


def _bare(path, images, one_by_one: bool = False):
    """Probabilities from the bare engine, with the file's preprocessing and (de)quantization done by hand;
    one_by_one: an ONNX file run one image per call, as a phone runs it."""
    x = images.reshape(len(images), 28, 28).astype(np.float32) / 255.0
    if path.suffix == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        if one_by_one:
            return np.concatenate([session.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])
        return session.run(None, {name: x})[0]
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inp["index"], [len(x), 28, 28])
    interpreter.allocate_tensors()
    scale, zero = inp["quantization"]
    if scale:
        info = np.iinfo(inp["dtype"])
        x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(inp["dtype"])
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    y = interpreter.get_tensor(out["index"])
    scale, zero = out["quantization"]
    return (y.astype(np.float32) - zero) * scale if scale else y


def test_seed_recommendation_is_small_and_within_budget(exported):
    manifest = runtime.read_manifest(exported)
    chosen = manifest.recommended
    assert chosen.budget_pt == 0.5 and chosen.integer_only is False
    best = manifest.files[chosen.overall]
    # A quantized file, within the size bar; the 4-bit files cost one class over twice the budget on this model
    # (Pullover -2.8 pt, Dress -2.2 pt, each interval wholly beyond -1 pt), so they are not recommended.
    assert best.quantization != "none" and best.bytes <= 0.40 * manifest.files["model_fp32.tflite"].bytes + 16 * KIB
    assert best.validation.worst_class_interval[0] <= best.validation.worst_class_change
    assert best.validation.worst_class_interval[1] >= -0.01
    assert best.validation.accuracy_change >= -0.005
    assert best.validation.agreement >= (0.97 if best.quantization == "int4" else 0.985)
    assert chosen.objective == "balanced"
    for fmt in ("tflite", "onnx"):
        entry = manifest.files[getattr(chosen, fmt)]
        assert entry.format == fmt and entry.validation.passed
        # nothing smaller in that format is within budget and at most twice as slow as its fastest file, beyond
        # the timing's noise (the low end of a median's interval against twice the high end of the fastest's)
        timed = [e for e in manifest.files.values() if e.format == fmt and e.validation.passed and e.latency_us
                 and e.micro is None]
        limit = 2 * min(timed, key=lambda e: e.latency_us).latency_interval_us[1]
        assert entry.latency_interval_us[0] <= limit
        assert all(e.bytes >= entry.bytes or e.latency_interval_us[0] > limit for e in timed)
    # Rungs that could not win were skipped, and said so.
    for name, why in manifest.skipped.items():
        assert name not in manifest.files and "within budget" in why


def test_recommended_figures_match_the_bare_engines(exported, test_set):
    images, labels = test_set
    manifest = runtime.read_manifest(exported)
    reference = np.load(exported / "reference_probs.npy").argmax(1)
    for fmt in ("tflite", "onnx"):
        name = getattr(manifest.recommended, fmt)
        predicted = _bare(exported / name, images).argmax(1)
        figures = manifest.files[name].validation
        assert np.mean(predicted == labels) == pytest.approx(figures.accuracy, abs=1e-9)
        assert np.mean(predicted == reference) == pytest.approx(figures.agreement, abs=1e-9)


def test_every_rung_is_a_real_file_of_its_kind(outlier, test_set):
    folder, manifest, _, _ = outlier
    images = test_set[0][:300]
    assert set(manifest.files) == {f"model{s}" for s in (
        "_fp32.tflite", "_fp16.tflite", "_dynamic.tflite", "_int8.tflite", ".onnx", "_int8.onnx", "_w4.tflite",
        "_w4.onnx", "_dynamic.onnx", "_16x8.tflite", "_int16.onnx", "_mixed.tflite", "_mixed.onnx")}
    for name, entry in manifest.files.items():
        # The runtime runs every dtype: int8 and int16 I/O, float I/O with int8 or int4 inside, com.microsoft ops.
        predictor = runtime.load(folder / name)
        assert predictor.quantization == entry.quantization
        # Dynamic quantization scales activations by the whole batch's range: the runtime runs it one image a call.
        dynamic_onnx = name == "model_dynamic.onnx"
        assert predictor.batch_dependent is dynamic_onnx and entry.validation.batch == (1 if dynamic_onnx else "any")
        ours, bare = predictor.predict(images), _bare(folder / name, images, one_by_one=dynamic_onnx)
        integer_input = entry.tensors["input"]["quantization"] is not None
        # Integer inputs: a pixel on a rounding tie may land on the next code, moving an output a step or two.
        np.testing.assert_allclose(ours, bare, atol=1e-3 if integer_input else 1e-6, err_msg=name)
        assert np.mean(ours.argmax(1) == bare.argmax(1)) >= (0.99 if integer_input else 1.0), name
        if name in INTEGER_ONLY:
            assert entry.integer_only is INTEGER_ONLY[name], name
    tensors = {n: e.tensors for n, e in manifest.files.items()}
    assert tensors["model_16x8.tflite"]["input"]["dtype"] == "int16"
    assert tensors["model_16x8.tflite"]["output"]["dtype"] == "int16"
    assert tensors["model_int8.tflite"]["output"]["dtype"] == "int8"
    import onnx

    ops = {n: {node.op_type for node in onnx.load(str(folder / n)).graph.node} for n in manifest.files
           if n.endswith(".onnx")}
    assert "MatMulNBits" in ops["model_w4.onnx"]
    assert "DynamicQuantizeLinear" in ops["model_dynamic.onnx"] or "MatMulInteger" in ops["model_dynamic.onnx"]
    domains = {node.domain for node in onnx.load(str(folder / "model_int16.onnx")).graph.node
               if node.op_type == "QuantizeLinear"}
    assert domains == {"com.microsoft"}  # 16-bit Q/DQ below opset 21
    # 4-bit files are about half the 8-bit ones.
    sizes = {n: e.bytes for n, e in manifest.files.items()}
    assert sizes["model_w4.tflite"] < 0.6 * sizes["model_int8.tflite"]
    assert sizes["model_w4.onnx"] < 0.7 * sizes["model_int8.onnx"]


def test_an_outlier_channel_breaks_int8_as_trained_and_the_ladder_recovers(outlier):
    import keras

    folder, manifest, result, _ = outlier
    files = manifest.files
    dense = [layer.name for layer in keras.models.load_model(folder / "model.keras").layers
             if isinstance(layer, keras.layers.Dense)]
    for name in ("model_int8.tflite", "model_int8.onnx"):
        # Per-tensor int8 activations collapse on the model as trained; cross-layer equalisation gives the
        # outlier unit its neighbours' range (the function unchanged), and that file is kept.
        trained, equalised = [entry for entry in files[name].search
                              if entry.get("candidate") in ("as trained", "cross-layer equalisation")]
        assert trained["candidate"] == "as trained" and trained["agreement"] < 0.5, name
        assert equalised["agreement"] >= 0.985 and files[name].equalized == ["→".join(dense)], name
        assert files[name].validation.agreement >= 0.985, name
    assert files["model_16x8.tflite"].validation.passed  # int16 activations keep it too
    from edgeport.export.recommend import within_budget

    chosen = manifest.recommended
    for fmt in ("tflite", "onnx"):  # each format has a file within budget smaller than float16
        small = [n for n, e in files.items() if e.format == fmt and within_budget(e, 0.5)
                 and e.bytes <= 150 * KIB and e.bytes < files["model_fp16.tflite"].bytes and e.validation.passed]
        assert small, fmt
    assert files[chosen.smallest].bytes <= 150 * KIB and within_budget(files[chosen.overall], 0.5)
    assert result.returncode == 0 and f"Recommended within 0.5 pt: {chosen.overall}" in result.stdout


def test_the_onnx_calibration_search_tries_uint8_weights_when_7_bit_ones_miss(outlier, tmp_path):
    """A quick search's int8 ONNX candidates come cheapest and fastest first: minmax calibration with 7-bit int8
    weights, then with uint8 ones, then entropy and percentile with 7-bit weights, until one is within budget on
    the tuning images, else the best agreement is kept. The outlier collapses minmax on the model as trained. A
    thorough search (the fixture's) tries every pair."""
    import itertools
    import shutil

    from edgeport.export.onnx_quant import CALIBRATION_METHODS, WEIGHT_TYPES

    folder, manifest, _, _ = outlier

    def tried(entry):
        return [c for c in entry.search if "plan" in c]

    def pairs(entry):
        return [(c["plan"]["method"], c["plan"]["weights"]) for c in tried(entry)]

    assert sorted(pairs(manifest.files["model_int8.onnx"])) == sorted(itertools.product(CALIBRATION_METHODS,
                                                                                         WEIGHT_TYPES))
    shutil.copy(folder / "model.keras", tmp_path / "model.keras")
    edgeport("export", tmp_path / "model.keras", "--formats", "onnx,onnx-int8", "--out", tmp_path)
    entry = runtime.read_manifest(tmp_path).files["model_int8.onnx"]
    quick = [("minmax", "7-bit int8"), ("minmax", "uint8"), ("entropy", "7-bit int8"), ("percentile", "7-bit int8")]
    candidates = tried(entry)
    assert 2 <= len(candidates) and pairs(entry) == quick[:len(candidates)]
    assert candidates[0]["agreement"] < 0.5 and candidates[1]["agreement"] < 0.5  # minmax, either weights
    last = candidates[-1]
    within = last["agreement"] >= 0.985 and last["accuracy_change"] >= -0.005
    chosen = last if within else max(candidates, key=lambda c: c["agreement"])
    assert (entry.calibration_method, entry.weight_type) == (chosen["plan"]["method"], chosen["plan"]["weights"])
    assert len(candidates) == 4 or within


def test_sensitivity_probes_find_the_outlier(outlier):
    _, manifest, _, _ = outlier
    # A thorough search probes every int8 file, within budget or not.
    probes = manifest.files["model_int8.onnx"].layers
    assert sorted(p["layer"] for p in probes) == sorted(p["layer"] for p in manifest.files["model_int8.tflite"].layers)
    assert len(probes) == 2
    # Both layers touch the outlier activation (one writes it, one reads it): each probe collapses.
    assert max(p["sqnr_db"] for p in probes) < 10
    assert probes == sorted(probes, key=lambda p: p["sqnr_db"])  # most sensitive first
    mixed = manifest.files["model_mixed.onnx"]
    assert mixed.float_layers == [probes[0]["layer"]] or mixed.float_layers[0] == mixed.layers[0]["layer"]
    # The w4 search kept the most sensitive layer at 8 bits only if 4 bits everywhere missed the bar.
    w4 = manifest.files["model_w4.tflite"]
    first = w4.search[0]
    assert first["kept"] == []
    assert (w4.wide_layers == []) == (first["agreement"] >= 0.97 and first["accuracy_change"] >= -0.005)


def test_a_quick_search_that_cannot_afford_its_probes_scores_its_first_file_on_500_tuning_images(outlier, fashion,
                                                                                                    tmp_path):
    """When a quick search's probes would not fit in its budget, it keeps its first file (every layer narrow)
    whatever that file's figures say: it scores it on the first 500 tuning images, not all 2,000 (ResNet50V2's
    4-bit TFLite file took 35 s for them). When the probes fit, it scores the file on all of them, then ranks."""
    import shutil

    from edgeport.export.common import Quantization
    from edgeport.export.ladder import Tuning, greedy
    from edgeport.export.plan import ExportPlan

    folder = outlier[0]
    train = fashion.splits["train"]
    images, labels = train.images[:2000], train.labels[:2000]
    source = folder / "model_fp32.tflite"
    # The float file's own answers, moved one class over on every fifth image: it agrees on exactly 80 %.
    reference = runtime.load(source, verify=False).predict(images)
    reference[::5] = np.roll(reference[::5], 1, axis=1)
    tuning = Tuning(images, labels, reference, ExportPlan())
    ranked, lines = [], []

    def build(kept):
        shutil.copyfile(source, tmp_path / "candidate.tflite")
        return tmp_path / "candidate.tflite"

    def rank():
        ranked.append(True)
        return []

    def search(budget):
        return greedy(rank, build, Quantization.INT8, tuning, start=0, bisect=True, say=lines.append,
                      what="candidate.tflite: layers kept in float", probe_budget=budget)

    declined = search((1000, 0.0))
    assert declined["kept"] == () and not ranked
    assert [(c["images"], c["agreement"]) for c in declined["search"]] == [(500, 0.8)]
    assert len(lines) == 1 and "missed the budget on 500 tuning images" in lines[0]
    afforded = search((1, 1e9))
    assert [(c["images"], c["agreement"]) for c in afforded["search"]] == [(2000, 0.8)]
    assert ranked == [True]  # it missed on all of them, so the layers are ranked


def test_the_time_left_counts_a_quick_searchs_probes_only_when_it_will_afford_them(tmp_path):
    """The estimate of the time left prices a searched rung as its search will run: with its layer probes when
    one probe per weighted layer, each timed like the rung's first file, fits in the quick search's budget;
    without them when not (the 4-bit rungs of ResNet50V2 and EfficientNetB0 declined theirs, and the estimate
    half-way counted them). A thorough search always probes; a rung without probes costs the same at any pace."""
    import keras

    from edgeport.export.ladder import QUICK_PROBE_SECONDS, Sources
    from edgeport.export.modelfacts import model_info
    from edgeport.export.rungs import RUNGS, expected_cost

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.DepthwiseConv2D(3),
                              keras.layers.ReLU(), keras.layers.Flatten(), keras.layers.Dense(8),
                              keras.layers.Dense(3, activation="softmax")])
    info = model_info(model)
    quick = Sources(model, tmp_path / "quick", 17, info)
    thorough = Sources(model, tmp_path / "thorough", 17, info, search="thorough")
    assert quick.weighted_layers() == 4  # the two convolutions and the two dense layers
    rungs = {rung.key: rung for rung in RUNGS}
    for key in ("w4", "onnx-w4", "mixed", "onnx-mixed"):
        rung = rungs[key]
        first = rung.cost - rung.probes_cost
        assert 0 < first < rung.cost
        affordable = QUICK_PROBE_SECONDS / (4 * first)  # seconds per unit of cost at which 4 probes take the budget
        assert expected_cost(rung, quick, 0.9 * affordable) == rung.cost
        assert expected_cost(rung, quick, 1.1 * affordable) == first
        assert expected_cost(rung, thorough, 1.1 * affordable) == rung.cost
    for key in ("fp32", "int8", "onnx-int8", "onnx-dynamic"):
        assert expected_cost(rungs[key], quick, 100.0) == rungs[key].cost == expected_cost(rungs[key], quick, 0.01)


def test_the_time_left_expects_a_standard_rung_to_fail_where_its_kind_failed_in_the_other_format(exported, tmp_path):
    """The estimate leaves out the further ONNX rungs that int8 ONNX, still to come, will skip when it passes; once
    the int8 TFLite file missed its budget, int8 ONNX is not expected to pass either (on EfficientNetB0 both
    failed, and the rungs left out took a quarter of the export). The same for an additional rung of 8 bits or more
    to come; a 4-bit one is not expected to pass."""
    import keras

    from edgeport.export.ladder import Sources
    from edgeport.export.modelfacts import model_info
    from edgeport.export.plan import ExportPlan
    from edgeport.export.rungs import RUNGS, expected_to_skip

    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    sources, plan = Sources(model, tmp_path, 17, model_info(model)), ExportPlan()
    rungs = {rung.key: rung for rung in RUNGS}
    passed = runtime.read_manifest(exported).files["model_int8.tflite"]
    failed = replace(passed, validation=replace(passed.validation, accuracy_change=-0.05))
    pending = [rungs["onnx-int8"]]
    for key in ("onnx-dynamic", "onnx-int16"):
        assert expected_to_skip(rungs[key], {"model_int8.tflite": passed}, pending, plan, sources)
        assert not expected_to_skip(rungs[key], {"model_int8.tflite": failed}, pending, plan, sources)
        assert not expected_to_skip(rungs[key], {"model_int8.tflite": passed}, [], plan, sources)
    assert not expected_to_skip(rungs["onnx-w4"], {"model_int8.tflite": passed}, pending, plan, sources)  # narrower
    # An additional rung to come counts as a standard one: a dynamic-range ONNX file that passes skips int16 ONNX.
    dynamic = runtime.read_manifest(exported).files["model_dynamic.tflite"]
    missed = replace(dynamic, validation=replace(dynamic.validation, accuracy_change=-0.05))
    assert expected_to_skip(rungs["onnx-int16"], {"model_dynamic.tflite": dynamic}, [rungs["onnx-dynamic"]], plan,
                            sources)
    assert not expected_to_skip(rungs["onnx-int16"], {"model_dynamic.tflite": missed}, [rungs["onnx-dynamic"]], plan,
                                sources)
    assert not expected_to_skip(rungs["onnx-dynamic"], {}, [rungs["onnx-w4"]], plan, sources)  # 4 bits: not expected


def test_the_time_left_goes_at_the_ladders_wall_clock_pace(tmp_path):
    """A rung's own seconds leave out what the wall clock counts (its validation competing with the next build for
    the cores, waits for verdicts): the estimate goes at the ladder's wall-clock seconds per unit of cost of the
    rungs decided. Here the first rung's line comes 30 s into the ladder and says 3 s of its own, while the second
    builds and the third is to come: 30 s per unit, for two units."""
    import re
    import time

    import keras

    from edgeport.export.ladder import Sources
    from edgeport.export.modelfacts import model_info
    from edgeport.export.pipeline import _Progress
    from edgeport.export.plan import ExportPlan

    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    plan = ExportPlan.from_formats("fp32,fp16,dynamic")
    assert [target.cost for target in plan.targets] == [1, 1, 1]
    sources, lines = Sources(model, tmp_path, 17, model_info(model)), []
    start = time.perf_counter() - 30
    progress = _Progress(plan, sources, {}, 1000, lines.append, start)
    progress.started(0)
    progress.started(1)
    progress.done(0, plan.targets[0], 3.0, "a converter's reason")
    # Each second the machine takes between start and the line adds two to the estimate (pace times two units).
    said = re.fullmatch(rf"{re.escape(plan.targets[0].filename)} +FAILED to build: a converter's reason "
                        rf"\(3\.0 s; about (\d+) s left\)", lines[0])
    assert len(lines) == 1 and said and 60 <= int(said.group(1)) <= 64, lines


@pytest.fixture(scope="module")
def deep_outlier(fashion, tmp_path_factory):
    """A three-layer MLP, briefly trained, whose second hidden layer holds the outlier channel."""
    import keras

    folder = tmp_path_factory.mktemp("deep_outlier")
    keras.utils.set_random_seed(0)
    train = fashion.splits["train"]
    x, y = train.images[:12000, :, :, 0].astype("float32") / 255, train.labels[:12000]
    model = keras.Sequential([keras.Input((28, 28), name="images"), keras.layers.Flatten(),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    first, second, third = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    _plant_outlier(second, third, np.asarray(second(first(x.reshape(-1, 784)))))
    model.save(folder / "model.keras")
    edgeport("export", folder / "model.keras", "--formats", "onnx-int8,onnx-mixed", "--out", folder)
    return runtime.read_manifest(folder).files


def test_probes_rank_the_layers_around_the_outlier_first_and_mixed_keeps_them(deep_outlier):
    files = deep_outlier
    # A quick search (the default) probes only where it can change the outcome: the int8 file cannot
    # change; the mixed file, whose every-layer-int8 candidate missed, probes its three layers.
    assert files["model_int8.onnx"].layers is None
    probes = files["model_mixed.onnx"].layers
    assert files["model_mixed.onnx"].search[0]["kept"] == []
    # Probes carry their layer's place in the graph: 0 is upstream, 1 writes the outlier, 2 reads it.
    assert sorted(p["order"] for p in probes) == [0, 1, 2]
    sqnr = {p["order"]: p["sqnr_db"] for p in probes}
    names = {p["order"]: p["layer"] for p in probes}
    # The layer that writes the outlier channel and the one that reads it share the quantized tensor:
    # both collapse; the first layer, upstream of it, costs little.
    assert {p["order"] for p in probes[:2]} == {1, 2}
    assert max(sqnr[1], sqnr[2]) < 10 < 20 < sqnr[0]
    # The int8 file as trained collapses too; cross-layer equalisation of both pairs of the chain (Dense, ReLU,
    # Dense) gives the outlier channel its neighbours' range, and that file is kept.
    int8 = files["model_int8.onnx"]
    trained, equalised = [entry for entry in int8.search if "candidate" in entry]
    assert trained["agreement"] < 0.5 < 0.985 <= equalised["agreement"]
    assert len(int8.equalized) == 2 and int8.validation.agreement >= 0.985
    mixed = files["model_mixed.onnx"]
    assert sorted(mixed.float_layers) == sorted([names[1], names[2]])
    assert mixed.validation.passed and mixed.validation.agreement >= 0.985


@pytest.fixture(scope="module")
def branched_outlier(outlier, tmp_path_factory):
    """The outlier model with its hidden layer read by two heads (each half of the output layer, added): the same
    function, but no pair that equalisation may rescale, so int8 stays broken."""
    import keras

    folder = tmp_path_factory.mktemp("branched")
    source = keras.models.load_model(outlier[0] / "model.keras")
    first, second = [layer for layer in source.layers if isinstance(layer, keras.layers.Dense)]
    image = keras.Input(source.input_shape[1:])
    hidden = keras.layers.Dense(first.units, activation="relu")
    heads = [keras.layers.Dense(second.units) for _ in range(2)]
    flat = hidden(keras.layers.Flatten()(image))
    model = keras.Model(image, keras.layers.Activation("softmax")(keras.layers.Add()([head(flat) for head in heads])))
    hidden.set_weights(first.get_weights())
    for head in heads:
        head.set_weights([w / 2 for w in second.get_weights()])
    model.save(folder / "model.keras")
    return folder


def test_integer_only_strict_and_exit_statuses(branched_outlier, tmp_path):
    from edgeport.export.equalize import weighted_pairs

    model = branched_outlier / "model.keras"
    import keras

    assert weighted_pairs(keras.models.load_model(model)) == []
    # The integer rungs and the float files: enough to show the choice is among integer-only files.
    integer = edgeport("export", model, "--integer-only", "--formats", "fp32,onnx,int8,onnx-int8,16x8,onnx-int16",
                       "--out", tmp_path / "integer")
    manifest = runtime.read_manifest(tmp_path / "integer")
    chosen = manifest.recommended
    assert chosen.integer_only is True
    for fmt in ("tflite", "onnx"):
        name = getattr(chosen, fmt)
        if name is not None:
            assert manifest.files[name].integer_only is True
        else:  # every integer file of the format misses a bar (int16 ONNX: one class, by more than 1 pt)
            assert all(not e.validation.passed for e in manifest.files.values() if e.format == fmt and e.integer_only)
    assert chosen.overall in ("model_16x8.tflite", "model_int16.onnx"), integer.stdout
    assert "(integer only)" in integer.stdout
    # --strict: a recommendation exists (float32), but int8 missed its bar.
    strict = edgeport("export", model, "--strict", "--formats", "int8,fp32", "--out", tmp_path / "strict", check=False)
    assert strict.returncode == 1
    assert "model_int8.tflite: agreement" in strict.stderr
    assert (tmp_path / "strict" / "model_int8.tflite").is_file()  # the failing file is written all the same
    # Nothing within budget: exit 1, naming the closest miss.
    none = edgeport("export", model, "--formats", "int8,onnx-int8", "--out", tmp_path / "none", check=False)
    assert none.returncode == 1
    first = none.stderr.splitlines()[0]
    assert first.startswith("edgeport export: error: no file is within the budget of 0.5 pt; the closest was model_int8")
    # Without --strict, a missed bar alongside a recommendation is exit 0, and said.
    loose = edgeport("export", model, "--formats", "int8,fp32", "--out", tmp_path / "loose")
    assert "missed their bars: model_int8.tflite" in loose.stdout
    bad = edgeport("export", model, "--budget", "-1", "--out", tmp_path / "bad", check=False)
    assert bad.returncode == 2 and "--budget" in bad.stderr


def test_a_new_rung_is_one_entry_and_one_function(quadrants, tmp_path):
    """A rung made outside the table (its entry and its builder, nothing else) goes through the real pipeline:
    built, validated against its quantization's bar, described, and its build record kept in the manifest."""
    import keras

    from edgeport import export
    from edgeport.export.rungs import RUNGS, TFLITE_CONVERTER, Built, Rung, modes_of
    from edgeport.export.tflite import to_tflite
    from tests.conftest import fit_quadrants

    calls = []

    def float16_by_hand(job, rung, path):
        calls.append(rung.key)
        to_tflite(job.model, path, rung.quantization, None, job.info, frozen=job.sources.frozen())
        return Built(search=[{"candidate": "float16", "why": "the only one"}])

    rung = Rung("half", "model_half.tflite", "tflite", export.Quantization.FLOAT16, float16_by_hand, TFLITE_CONVERTER)
    model = fit_quadrants(keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                            keras.layers.Dense(4, activation="softmax")]), quadrants)
    model.save(tmp_path / "m.keras")
    data = runtime.load_dataset(str(quadrants["npz"]), (8, 8, 1))
    manifest = export.export_all(tmp_path / "m.keras", tmp_path / "out", data,
                                 export.ExportPlan(targets=(rung,), ladder=False))
    entry = manifest.files["model_half.tflite"]
    assert calls == ["half"] and entry.search == [{"candidate": "float16", "why": "the only one"}]
    # Its quantization's bar, and the per-class bar of the default budget (twice 0.5 pt).
    assert entry.quantization == "float16" and entry.validation.bar == replace(
        export.BARS[export.Quantization.FLOAT16], max_class_drop=0.01)
    assert entry.validation.verdict.value == "pass" and manifest.recommended.overall == "model_half.tflite"
    assert runtime.load(tmp_path / "out" / "model_half.tflite").quantization == "float16"
    # The table is the one list: the CLI's formats, and what each converter accepts.
    assert export.ALL_FORMATS == tuple(r.key for r in RUNGS) and len(set(export.ALL_FORMATS)) == len(RUNGS)
    assert [m.value for m in modes_of(TFLITE_CONVERTER)] == ["none", "float16", "dynamic", "int8", "int16"]
    with pytest.raises(ValueError, match="TFLiteConverter quantization must be one of none, float16, dynamic, int8, "
                                         "int16; got 'int4'"):
        to_tflite(model, tmp_path / "x.tflite", "int4")
