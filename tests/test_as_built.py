"""Models as people build them: heads, layers and precisions from the Keras tutorials, exported with no
flags to guess, and int8 files that every TFLite engine accepts.

Tiny untrained (or seconds-trained) models: the mechanics, not the accuracy bars.
"""

import json

import numpy as np
import pytest
from PIL import Image

from edgeport import export, runtime
from edgeport.runtime.errors import ModelFileError
from edgeport.runtime.images import DARK, FRAME, RESIZE, Fitting, fit_images
from edgeport.runtime.modelinfo import Preprocessing
from tests.conftest import edgeport, fit, fit_quadrants as _fit, quadrant_pictures as _quadrants

PIXELS = np.random.default_rng(0).integers(0, 256, (200, 8, 8, 1), dtype=np.uint8)


def _tflite_ops(path):
    """[(operator name, [input tensors], [output tensors])] of a .tflite file, and its graph."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    graph = model.subgraphs[0]

    def code(op):
        opcode = model.operatorCodes[op.opcodeIndex]
        return max(opcode.builtinCode, opcode.deprecatedBuiltinCode)

    return [(names[code(op)], list(op.inputs), list(op.outputs)) for op in graph.operators], graph


def _params(graph, index):
    q = graph.tensors[index].quantization
    return float(q.scale[0]), int(q.zeroPoint[0])


def test_logits_far_above_zero_give_an_int8_file_every_engine_accepts(tmp_path):
    """Every calibration top logit above ln 256 used to put the logits' zero point below -128 (-626 here):
    XNNPACK refused the file and the export aborted."""
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1))
    logits = keras.layers.Dense(10, bias_initializer=keras.initializers.Constant(20.0))(keras.layers.Flatten()(image))
    model = keras.Model(image, keras.layers.Softmax()(logits))
    path = export.to_tflite(model, tmp_path / "shifted.tflite", "int8", PIXELS)

    ops, graph = _tflite_ops(path)
    for _, inputs, outputs in ops:
        for index in [*inputs, *outputs]:
            if index >= 0 and graph.tensors[index].quantization is not None \
                    and graph.tensors[index].quantization.zeroPoint is not None:
                assert all(-128 <= z <= 127 for z in graph.tensors[index].quantization.zeroPoint), index
    softmax = next(inputs for name, inputs, _ in ops if name == "SOFTMAX")
    scale, zero = _params(graph, softmax[0])
    assert zero == -128 and scale * 255 < 25  # narrowed to start at 0, not the calibrated span around 20
    probabilities = runtime.load(path, verify=False).predict(PIXELS)  # XNNPACK prepares it
    expected = model.predict(PIXELS / 255.0, verbose=0)
    assert np.mean(probabilities.argmax(1) == expected.argmax(1)) >= 0.9
    np.testing.assert_allclose(probabilities.sum(1), 1, atol=0.02)


def test_logits_flattened_before_softmax_keep_the_reshape_rule(tmp_path):
    """MobileNetV3's head: Conv2D -> Flatten (a RESHAPE) -> Softmax. Narrowing only the RESHAPE's output broke
    TFLite's rule that RESHAPE keeps its input's quantization (Vela refuses such files) and distorted the
    probabilities; the narrowed parameters now start at the convolution."""
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(image)
    x = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
    x = keras.layers.Conv2D(10, 1, kernel_initializer=keras.initializers.RandomNormal(stddev=20.0))(x)
    model = keras.Model(image, keras.layers.Activation("softmax")(keras.layers.Flatten()(x)))
    narrowed = export.to_tflite(model, tmp_path / "narrowed.tflite", "int8", PIXELS)
    plain = export.to_tflite(model, tmp_path / "plain.tflite", "int8", PIXELS, logit_floor=False)

    ops, graph = _tflite_ops(narrowed)
    reshapes = [(inputs[0], outputs[0]) for name, inputs, outputs in ops if name == "RESHAPE"]
    assert reshapes
    for source, result in reshapes:
        assert _params(graph, source) == _params(graph, result)
    softmax = next(inputs[0] for name, inputs, _ in ops if name == "SOFTMAX")
    plain_ops, plain_graph = _tflite_ops(plain)
    plain_softmax = next(inputs[0] for name, inputs, _ in plain_ops if name == "SOFTMAX")
    assert _params(graph, softmax)[0] < 0.8 * _params(plain_graph, plain_softmax)[0]  # it was narrowed

    expected = model.predict(PIXELS / 255.0, verbose=0)
    probabilities = runtime.load(narrowed, verify=False).predict(PIXELS)
    assert np.mean(probabilities.argmax(1) == expected.argmax(1)) >= 0.95
    assert abs(probabilities.max(1).mean() - expected.max(1).mean()) < 0.01


ERF_LAYER_PY = '''
import keras


@keras.saving.register_keras_serializable(package="edgeport_as_built")
class Erf(keras.layers.Layer):
    def call(self, x):
        return keras.ops.erf(x)
'''


def test_a_rung_that_fails_is_recorded_and_the_others_are_published(quadrants, tmp_path):
    """TFLite has no builtin for tf.Erf: every TFLite rung fails, each with that one-line reason, and the ONNX
    files are still validated, published and recommended (exit 0). The model's exact GELU (Erfc, which
    tf2onnx had no handler for) converts to ONNX."""
    import keras

    layers = tmp_path / "layers.py"
    layers.write_text(ERF_LAYER_PY)
    namespace = {}
    exec(compile(ERF_LAYER_PY, str(layers), "exec"), namespace)
    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1))
    x = keras.layers.Dense(16, activation="gelu")(keras.layers.Flatten()(image))
    x = namespace["Erf"]()(x)
    model = _fit(keras.Model(image, keras.layers.Dense(4, activation="softmax")(x)), quadrants)
    model.save(tmp_path / "erf.keras")

    out = tmp_path / "out"
    result = edgeport("export", tmp_path / "erf.keras", "--data", quadrants["npz"], "--out", out,
                      "--custom-objects", layers, "--formats", "fp32,int8,onnx")
    manifest = runtime.read_manifest(out)
    assert sorted(manifest.failed) == ["model_fp32.tflite", "model_int8.tflite"]
    for why in manifest.failed.values():
        assert why.startswith("TFLite conversion (none) of model") and "'tf.Erf' op is neither a custom op nor " \
            "a flex op" in why and "\n" not in why and ".py:" not in why  # no quoted source lines
    assert sorted(manifest.files) == ["model.onnx"]
    assert manifest.recommended.overall == manifest.recommended.onnx == "model.onnx"
    assert manifest.recommended.tflite is None
    assert sorted(p.name for p in out.glob("*.tflite")) == []
    assert "failed to build (reasons in the manifest): model_fp32.tflite, model_int8.tflite" in result.stdout
    assert "model_int8.tflite      FAILED to build: TFLite conversion" in result.stdout
    expected = model.predict(quadrants["x_test"] / 255.0, verbose=0)
    np.testing.assert_allclose(runtime.load(out / "model.onnx").predict(quadrants["x_test"]), expected, atol=1e-5)

    only_tflite = edgeport("export", tmp_path / "erf.keras", "--data", quadrants["npz"], "--out", tmp_path / "none",
                           "--custom-objects", layers, "--formats", "fp32", check=False)
    assert only_tflite.returncode == 1
    assert only_tflite.stderr.splitlines()[0].startswith(
        "edgeport export: error: no file is within the budget of 0.5 pt; no file was built")


def _augmentation():
    import keras

    return keras.Sequential([keras.layers.RandomContrast(0.1), keras.layers.RandomRotation(0.02),
                             keras.layers.RandomZoom(0.05)], name="data_augmentation")  # no flip: quadrants are classes


def test_the_tutorial_model_with_augmentation_inside_exports_with_no_flags(quadrants, tmp_path):
    """TensorFlow's "Image classification" tutorial: augmentation, then Rescaling(1/255), then the network,
    logits out. Its Rescaling was missed (only a first layer counted), the model was fed x / 255 twice."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), _augmentation(), keras.layers.Rescaling(1 / 255, name="scale"),
                              keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.Flatten(),
                              keras.layers.Dense(4)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    fit(model, quadrants["x_train"], quadrants["y_train"], epochs=15)
    model.save(tmp_path / "tutorial.keras")
    edgeport("export", tmp_path / "tutorial.keras", "--data", quadrants["npz"], "--formats", "fp32,onnx")
    manifest = runtime.read_manifest(tmp_path)
    assert manifest.info.preprocessing == Preprocessing.raw() and manifest.info.output == "logits"
    assert manifest.source.preprocessing_found == "the model's Rescaling layer 'scale' scales raw pixels itself"
    expected = runtime.softmax(model.predict(quadrants["x_test"].astype("float32"), verbose=0))
    assert manifest.source.accuracy > 0.9
    for name in ("model_fp32.tflite", "model.onnx"):
        np.testing.assert_allclose(runtime.load(tmp_path / name).predict(quadrants["x_test"]), expected, atol=1e-5)

    (tmp_path / "legacy").mkdir()
    model.save(tmp_path / "legacy" / "tutorial.h5")  # Keras 2's HDF5, as older tutorials save
    edgeport("export", tmp_path / "legacy" / "tutorial.h5", "--data", quadrants["npz"], "--formats", "onnx")
    legacy = runtime.read_manifest(tmp_path / "legacy")
    assert legacy.info.preprocessing == Preprocessing.raw() and legacy.source.file == "tutorial.h5"
    np.testing.assert_allclose(runtime.load(tmp_path / "legacy" / "model.onnx").predict(quadrants["x_test"]), expected,
                               atol=1e-5)


def test_preprocessing_is_read_past_resizing_nested_models_and_in_keras_applications():
    import keras

    from edgeport.export.preprocessing import find_preprocessing

    image = keras.Input((None, None, 3))
    x = keras.layers.Resizing(32, 32)(image)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(_augmentation()(x))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(x))
    resized = keras.Model(image, keras.layers.Dense(3)(x))
    assert find_preprocessing(resized)[0] == Preprocessing.raw()

    tf_mode, torch_mode = Preprocessing((1 / 127.5,), (-1.0,)), Preprocessing.from_mean_std(
        (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    for build, expected in ((keras.applications.MobileNetV2, tf_mode), (keras.applications.DenseNet121, torch_mode)):
        base = build(weights=None, include_top=False, input_shape=(32, 32, 3), **(
            {"alpha": 0.35} if build is keras.applications.MobileNetV2 else {}))
        image = keras.Input((32, 32, 3))
        features = keras.layers.GlobalAveragePooling2D()(base(_augmentation()(image)))
        preprocessing, why = find_preprocessing(keras.Model(image, keras.layers.Dense(3)(features)))
        assert preprocessing == expected and why.startswith(f"keras.applications {base.name} takes preprocess_input")
        # preprocess_input called inside the model: it takes raw pixels
        inside = keras.Model(image, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(
            base(keras.applications.resnet_v2.preprocess_input(image)))))
        assert find_preprocessing(inside)[0] == Preprocessing.raw()
    assert find_preprocessing(base)[0] == torch_mode  # the application itself, not nested


def test_one_sigmoid_unit_is_a_two_class_classifier_named_by_the_data(quadrants, tmp_path):
    """Keras's binary tutorials: Dense(1, sigmoid) gives p of the second class. The files give (1 - p, p) with
    the data's two class names, and score lists both classes by default (--top 3 was refused)."""
    import keras
    import pyarrow.parquet as pq

    binary = {"x_train": quadrants["x_train"], "y_train": (quadrants["y_train"] >= 2).astype(np.int64)}
    x_test, y_test = quadrants["x_test"], (quadrants["y_test"] >= 2).astype(np.int64)
    np.savez(tmp_path / "binary.npz", x_train=binary["x_train"], y_train=binary["y_train"], x_test=x_test,
             y_test=y_test, class_names=np.array(["top", "bottom"]))
    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1))
    hidden = keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(image))
    model = keras.Model(image, keras.layers.Dense(1, activation="sigmoid", name="is_bottom")(hidden))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    fit(model, binary["x_train"] / 255, binary["y_train"], epochs=20)
    model.save(tmp_path / "binary.keras")

    edgeport("export", tmp_path / "binary.keras", "--data", tmp_path / "binary.npz", "--formats", "fp32,int8,onnx")
    manifest = runtime.read_manifest(tmp_path)
    assert manifest.info.class_names == ("top", "bottom") and manifest.source.output == "is_bottom"
    p = model.predict(x_test / 255, verbose=0)[:, 0]
    expected = np.stack([1 - p, p], axis=1)
    assert manifest.source.accuracy == pytest.approx(np.mean((p > 0.5) == y_test))
    for name in ("model_fp32.tflite", "model.onnx"):
        np.testing.assert_allclose(runtime.load(tmp_path / name).predict(x_test), expected, atol=1e-5)
    assert manifest.files["model_int8.tflite"].validation.agreement >= 0.95

    edgeport("score", tmp_path / "model.onnx", tmp_path / "binary.npz", "--out", tmp_path / "rows.parquet")
    rows = pq.read_table(tmp_path / "rows.parquet").to_pylist()
    assert len(rows) == len(y_test) and all(len(row["top_class_indices"]) == 2 for row in rows)
    assert [row["class_name"] for row in rows[:20]] == [("top", "bottom")[int(q > 0.5)] for q in p[:20]]


def test_a_logit_unit_and_a_multi_label_head(tmp_path):
    """Dense(1) without an activation (BinaryCrossentropy(from_logits=True)) is a logit: its files give
    (1 - sigmoid(z), sigmoid(z)). Several sigmoid units are a multi-label head: refused in one line."""
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1))
    flat = keras.layers.Flatten()(image)
    keras.Model(image, keras.layers.Dense(1)(flat)).save(tmp_path / "logit.keras")
    model = export.load_keras_model(tmp_path / "logit.keras")
    path = export.to_onnx(model, tmp_path / "logit.onnx")
    z = keras.models.load_model(tmp_path / "logit.keras").predict(PIXELS / 255, verbose=0)[:, 0]
    positive = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(runtime.load(path, verify=False).predict(PIXELS), np.stack([1 - positive, positive], 1),
                               atol=1e-5)

    keras.Model(image, keras.layers.Dense(3, activation="sigmoid", name="tags")(flat)).save(tmp_path / "tags.keras")
    with pytest.raises(ModelFileError) as refused:
        export.load_keras_model(tmp_path / "tags.keras")
    assert str(refused.value) == (f"{tmp_path / 'tags.keras'}: output 'tags' is 3 independent sigmoid scores, a "
                                  f"multi-label head; edgeport exports classifiers that give each image one class "
                                  f"(softmax or logits, or one sigmoid unit for two classes)")


def test_a_mixed_float16_model_exports_in_float32(quadrants, tmp_path):
    """Keras's mixed-precision guide: mixed_float16 layers, a float32 softmax. TFLite conversion failed on the
    half-precision casts (a 33,000-character line) and the ONNX file computed in float16."""
    import keras

    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        image = keras.Input((8, 8, 1))
        x = keras.layers.Conv2D(8, 3, activation="relu")(image)
        x = keras.layers.Dense(4)(keras.layers.Flatten()(x))
        model = keras.Model(image, keras.layers.Activation("softmax", dtype="float32")(x))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    _fit(model, quadrants, epochs=10)
    model.save(tmp_path / "mixed.keras")
    loaded = export.load_keras_model(tmp_path / "mixed.keras")
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    assert not any(w.dtype != "float32" for w in loaded.weights)

    edgeport("export", tmp_path / "mixed.keras", "--data", quadrants["npz"], "--formats", "fp32,onnx", "--strict")
    manifest = runtime.read_manifest(tmp_path)
    float16 = model.predict(quadrants["x_test"] / 255, verbose=0)  # the model as trained: float16 inside
    for name in ("model_fp32.tflite", "model.onnx"):
        assert manifest.files[name].validation.max_abs_diff <= 1e-5  # against the float32 reference
        probabilities = runtime.load(tmp_path / name).predict(quadrants["x_test"])
        assert np.mean(probabilities.argmax(1) == float16.argmax(1)) >= 0.99
        np.testing.assert_allclose(probabilities, float16, atol=5e-3)


def test_a_model_of_any_input_size_exports_at_the_size_given(quadrants, tmp_path):
    """A None x None input with Resizing inside has no shape to convert: the refusal names --input-size, and
    with it the files take that size."""
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((None, None, 1))
    x = keras.layers.Rescaling(1 / 255)(keras.layers.Resizing(8, 8)(image))
    x = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(x))
    model = keras.Model(image, keras.layers.Dense(4, activation="softmax")(x), name="any_size")
    _fit(model, quadrants, scale=1)
    model.save(tmp_path / "any.keras")

    refused = edgeport("export", tmp_path / "any.keras", "--data", quadrants["npz"], check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "edgeport export: error: model 'any_size' takes images of any size (None, None, None, 1): give the size "
        "to export at with --input-size HxW (export.load_keras_model(..., input_size=(H, W)))")
    bad = edgeport("export", tmp_path / "any.keras", "--input-size", "8x", check=False)
    assert bad.returncode == 2 and "expected HxW, two whole numbers" in bad.stderr
    edgeport("export", tmp_path / "any.keras", "--data", quadrants["npz"], "--input-size", "8x8", "--formats",
             "fp32,onnx")
    manifest = runtime.read_manifest(tmp_path)
    assert manifest.source.input_shape == [None, 8, 8, 1] and manifest.source.accuracy > 0.9
    expected = model.predict(quadrants["x_test"].astype("float32"), verbose=0)
    for name in ("model_fp32.tflite", "model.onnx"):
        predictor = runtime.load(tmp_path / name)
        assert tuple(predictor.input_shape[1:]) == (8, 8, 1)
        np.testing.assert_allclose(predictor.predict(quadrants["x_test"]), expected, atol=1e-5)


def test_a_max_difference_miss_is_advice_while_every_answer_holds(tmp_path):
    """A float file whose probabilities differ by more than its max-difference bar while its answers agree
    (ConvNeXtTiny's float16 file: 5.16e-3 against 5e-3, 100 % agreement) passes with that said as advice;
    with an answer changed past the agreement bar, the difference is a failure again."""
    import keras

    from edgeport.export.validate import validate_file

    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1))
    model = keras.Model(image, keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(image)))
    path = export.to_onnx(model, tmp_path / "model.onnx")
    probabilities = runtime.load(path, verify=False).predict(PIXELS)
    top = np.sort(probabilities, axis=1)
    reference = probabilities.copy()
    clear = np.flatnonzero(top[:, -1] - top[:, -2] > 0.05)  # answers a shift of 0.008 cannot change
    order = probabilities.argsort(axis=1)
    reference[clear, order[clear, -1]] -= 0.008
    reference[clear, order[clear, -2]] += 0.008
    labels = probabilities.argmax(1)

    held = validate_file(path, PIXELS, labels, reference, "float16")
    assert held.passed and held.failures == [] and held.agreement == 1.0
    assert held.advisories == ["model.onnx: max abs probability difference 8.00e-03 > 5e-03 (advisory: agreement "
                               "and accuracy meet their bars)"]
    changed = reference.copy()
    changed[clear[0]] = np.roll(changed[clear[0]], 1)  # one answer of 200 differs: 99.5 % < 99.9 %
    missed = validate_file(path, PIXELS, labels, changed, "float16")
    assert not missed.passed and missed.advisories is None
    assert any("max abs probability difference" in failure for failure in missed.failures)


def _stroke_on_transparency(ink: int, path):
    """A 40x40 picture: a bar of `ink` grey, opaque, on a fully transparent ground whose hidden colour is the
    opposite of the ink; the bar sits in the left half."""
    picture = np.zeros((40, 40, 4), np.uint8)
    picture[..., :3] = 255 - ink
    picture[8:32, 6:14, :3] = ink
    picture[8:32, 6:14, 3] = 255
    Image.fromarray(picture, "RGBA").save(path)
    return path


def test_transparent_pictures_are_laid_on_the_models_background(tmp_path):
    """A light digit on a transparent ground, for a model trained on light objects on black, is laid on black
    (on white it came out as a dark digit, then inverted: 3 of 18 right); dark ink is laid on white and
    inverted as before; a mixed-background model lays both on white."""
    light = _stroke_on_transparency(255, tmp_path / "light.png")
    dark = _stroke_on_transparency(0, tmp_path / "dark.png")
    for path in (light, dark):
        framed = runtime.read_picture(path, (28, 28, 1), "dark")
        assert framed.inverted is (path == dark)
        pixels = framed.pixels[..., 0]
        assert pixels[14, 14] > 200 and pixels[0, 0] < 10  # a light bar, centred, on black
    on_white = runtime.read_picture(light, (40, 40, 1), "mixed").pixels[..., 0]
    assert on_white[20, 10] == 255 and on_white[20, 30] == 255  # light ink on white: nothing to see
    resized = runtime.read_picture(light, (20, 20, 1), Fitting(RESIZE, DARK)).pixels[..., 0]
    assert resized[10, 5] > 200 and resized[10, 15] < 10  # laid on black, not framed: still on the left


def _bright_square_pictures(root, count: int, seed: int):
    """Class folders of 16x16 grey pictures: a bright 8x8 square in the class's quadrant on a dim ground."""
    images, labels = _quadrants(count, seed, size=16)
    images = np.where(images > 120, images, images // 8).astype(np.uint8)  # a dark ground: 0..10
    names = ["top left", "top right", "bottom left", "bottom right"]
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[..., 0]).save(folder / f"{i}.png")


def _squares_model(data, path):
    """A Dense classifier fitted for seconds on data's training pictures (the squares), saved at path."""
    import keras

    _, train = data.calibration
    keras.utils.set_random_seed(0)
    image = keras.Input(data.image_shape)
    model = keras.Model(image, keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(image)))
    _fit(model, {"x_train": train.images, "y_train": train.labels}, epochs=40)
    model.save(path)
    return model


def test_the_picture_rule_is_the_one_the_model_scores_better_on(tmp_path):
    """Dark-background pictures got Fashion-MNIST's frame rule whatever the model was trained on. A model
    trained on the pictures resized (as Keras loads them) loses the square's position to framing: export
    finds that resizing fits and records it in the files; --fit frame still forces the frame."""
    _bright_square_pictures(tmp_path / "data" / "train", 200, 1)
    _bright_square_pictures(tmp_path / "data" / "test", 100, 2)
    resized = runtime.load_dataset(tmp_path / "data", (8, 8, 1), fit="resize")
    assert resized.background == "dark" and resized.fit == "resize"
    model = _squares_model(resized, tmp_path / "squares.keras")

    result = edgeport("export", tmp_path / "squares.keras", "--data", tmp_path / "data", "--out", tmp_path / "out",
                      "--formats", "fp32")
    manifest = runtime.read_manifest(tmp_path / "out")
    assert manifest.data.fit == "resize" and manifest.info.fit == "resize"
    assert manifest.data.fit_found.startswith("the Keras model's accuracy on the validation pictures fitted by "
                                              "each rule: frame 0.")
    assert "Pictures: fitted by 'resize' (frame 0." in result.stdout and manifest.source.accuracy > 0.9
    predictor = runtime.load(tmp_path / "out" / "model_fp32.tflite")
    assert predictor.fitting == Fitting(RESIZE, DARK)
    picture = next((tmp_path / "data" / "test" / "bottom right").iterdir())
    assert predictor.predict_one(runtime.read_picture(picture, (8, 8, 1), predictor.fitting).pixels).class_name \
        == "bottom right"

    # Pictures the rules leave alike: rescaled copies of them are the evidence (test below).
    same = export.choose_fit(model, [resized, resized])
    assert same is not resized and same.fit == "resize" and "rescaled to other sizes" in same.fit_found
    framed = edgeport("export", tmp_path / "squares.keras", "--data", tmp_path / "data", "--out", tmp_path / "framed",
                      "--formats", "fp32", "--fit", "frame", check=False)
    assert framed.returncode == 1 and "no better than chance" in framed.stderr  # the square's position is lost


def test_pictures_already_at_the_models_size_get_their_rule_from_rescaled_copies(tmp_path):
    """Validation pictures at the model's size are alike under both rules, and the frame rule was kept without a
    word: a model trained on them met larger pictures framed, the square's position lost. Rescaled copies of
    the validation pictures are the evidence now; predict fits an array of another size by the same rule, and
    a light-background picture is inverted for this dark-background model although it is resized."""
    _bright_square_pictures(tmp_path / "data" / "train", 200, 1)
    _bright_square_pictures(tmp_path / "data" / "test", 300, 2)
    data = runtime.load_dataset(tmp_path / "data", (16, 16, 1))
    model = _squares_model(data, tmp_path / "squares.keras")

    result = edgeport("export", tmp_path / "squares.keras", "--data", tmp_path / "data", "--out", tmp_path / "out",
                      "--formats", "fp32")
    manifest = runtime.read_manifest(tmp_path / "out")
    assert manifest.data.fit == "resize" and manifest.info.fit == "resize"
    assert "by each rule (the validation pictures are all at the model's size): frame 0." in manifest.data.fit_found
    line = next(line for line in result.stdout.splitlines() if line.startswith("Pictures:"))
    frame, resize = (float(line.split(f"{rule} ")[1][:6]) for rule in ("frame", "resize"))
    # A clear difference is settled by the first 100 of the 300 pictures; rules that score alike take them all.
    assert resize > frame + 0.2 and "on 100 validation pictures rescaled to other sizes" in line, line
    alike = export.choose_fit(model, [data, data])
    assert "on 300 validation pictures rescaled" in alike.fit_found and alike.fit == data.fit
    predictor = runtime.load(tmp_path / "out" / "model_fp32.tflite")
    # A 40x40 copy of a bottom-right picture: resized it is still bottom right; framed it is all square.
    _, test = data.validation
    corner = test.images[test.labels == data.class_names.index("bottom right")][0]
    Image.fromarray(corner[..., 0]).resize((40, 40), Image.Resampling.BILINEAR).save(tmp_path / "big.png")
    answer = edgeport("predict", tmp_path / "out" / "model_fp32.tflite", tmp_path / "big.png", "--json")
    assert json.loads(answer.stdout)[0]["class_name"] == "bottom right"
    framed = runtime.read_picture(tmp_path / "big.png", (16, 16, 1), Fitting(FRAME, DARK)).pixels
    assert framed.mean() > 2 * runtime.read_picture(tmp_path / "big.png", (16, 16, 1), predictor.fitting).pixels.mean()
    # predict takes an array of another size as evaluate does: fitted by the model's rule, not refused.
    arrays = np.stack([np.asarray(Image.fromarray(p[..., 0]).resize((24, 20))) for p in test.images[:10]])
    np.save(tmp_path / "other.npy", arrays)
    rows = json.loads(edgeport("predict", tmp_path / "out" / "model_fp32.tflite", tmp_path / "other.npy",
                               "--json").stdout)
    expected = predictor.predict(fit_images(arrays[..., None], (16, 16, 1), predictor.fitting)).argmax(1)
    assert [row["label"] for row in rows] == expected.tolist() and np.mean(expected == test.labels[:10]) >= 0.8
    # Dark squares on white: inverted for this model (light objects on black), though resized, not framed.
    light = Image.fromarray(255 - corner[..., 0]).resize((32, 32))
    light.save(tmp_path / "light.png")
    picture = runtime.read_picture(tmp_path / "light.png", (16, 16, 1), predictor.fitting)
    assert picture.inverted and picture.pixels[12, 12, 0] > 150 and picture.pixels[2, 2, 0] < 40
    assert predictor.predict_one(picture.pixels).class_name == "bottom right"


def test_convnext_blocks_convert_to_both_formats(tmp_path):
    """ConvNeXt's block: a depthwise Conv2D(groups=channels), which Keras runs as an XLA function tf2onnx could
    not convert ("No Op registered for StatefulPartitionedCall"), then LayerNormalization and exact GELU
    (Erfc, which tf2onnx had no handler for)."""
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(8, 3, padding="same")(image)
    x = keras.layers.Conv2D(8, 7, padding="same", groups=8)(x)
    x = keras.layers.Activation("gelu")(keras.layers.LayerNormalization(epsilon=1e-6)(x))
    model = keras.Model(image, keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x)))
    expected = model.predict(PIXELS / 255.0, verbose=0)
    for path in (export.to_onnx(model, tmp_path / "block.onnx"), export.to_tflite(model, tmp_path / "block.tflite")):
        np.testing.assert_allclose(runtime.load(path, verify=False).predict(PIXELS), expected, atol=1e-5)


def test_a_lambda_layer_is_refused_in_one_line_and_runs_only_with_unsafe_code(tmp_path):
    """Keras's refusal was cut mid-word and named safe_mode=False, which no flag gives: the file's own config is
    read first, nested models too, and --unsafe-code runs the code with one warning; commands that run exported
    files (--trust) take no such flag."""
    import keras

    inner = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Lambda(lambda x: x * 2.0, name="double")])
    image = keras.Input((8, 8, 1))
    outputs = keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(inner(image)))
    data = _quadrant_npz(tmp_path)
    _fit(keras.Model(image, outputs), np.load(data)).save(tmp_path / "lambda.keras")
    refused = edgeport("export", tmp_path / "lambda.keras", "--data", data, "--out", tmp_path / "out", check=False)
    assert refused.returncode == 1 and refused.stderr.strip().splitlines() == [
        f"edgeport export: error: {tmp_path / 'lambda.keras'}: its Lambda layer 'double' carries Python code that "
        f"loading the model would run (Keras refuses it by default): refused; if you made the model or trust whoever "
        f"did, pass --unsafe-code"]
    assert not (tmp_path / "out").exists()
    allowed = edgeport("export", tmp_path / "lambda.keras", "--data", data, "--out", tmp_path / "out", "--formats",
                       "fp32", "--unsafe-code")
    assert allowed.stderr.strip().splitlines() == [
        "edgeport export: warning: running the Python code of lambda.keras's Lambda layer 'double', as "
        "--unsafe-code allows"]
    assert runtime.read_manifest(tmp_path / "out").files["model_fp32.tflite"].validation.passed
    device = edgeport("predict", tmp_path / "out" / "model_fp32.tflite", data, "--unsafe-code", check=False)
    assert device.returncode == 2 and "unrecognized arguments: --unsafe-code" in device.stderr


def _quadrant_npz(folder):
    (x_train, y_train), (x_test, y_test) = _quadrants(200, 1), _quadrants(100, 2)
    np.savez(folder / "quadrants.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return folder / "quadrants.npz"


def test_a_model_at_chance_for_its_batchnorm_statistics_is_told_so(quadrants, tmp_path):
    """A BatchNorm model fitted briefly at the default momentum scores at chance in inference mode and was blamed
    on the preprocessing or the labels; in training mode (batch statistics) it scores well, and the line says so.
    Here the features BatchNorm takes carry a large common offset, which its batch statistics remove and its
    moving statistics, left at their start (as a few steps at momentum 0.99 leave them), do not."""
    import keras

    keras.utils.set_random_seed(0)
    dense, norm = keras.layers.Dense(16), keras.layers.BatchNormalization()
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), dense, norm,
                              keras.layers.ReLU(), keras.layers.Dense(4, activation="softmax")])
    _fit(model, quadrants, epochs=30, scale=1)
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, bias + 1e5])
    gamma, beta, mean, variance = norm.get_weights()
    norm.set_weights([gamma, beta, np.zeros_like(mean), np.ones_like(variance)])
    model.save(tmp_path / "bn.keras")
    result = edgeport("export", tmp_path / "bn.keras", "--data", quadrants["npz"], "--out", tmp_path / "out",
                      "--scale", "1", "--offset", "0", check=False)
    [line] = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "no better than chance (0.2500 for 4 classes): in training mode, each batch " \
                                       "normalised by its own statistics, it scores 1.0000 on the same images" in line
    assert "moving mean and variance of its 1 BatchNormalization layer do not match the data" in line
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_each_rung_line_says_how_long_the_rest_of_the_ladder_should_take(quadrants, tmp_path):
    """Every rung's line but the last built says the time left, from the rungs done so far (their costs at the
    ladder's wall-clock pace), leaving out rungs the files built so far will skip."""
    import re

    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")])
    _fit(model, quadrants, epochs=20).save(tmp_path / "m.keras")
    result = edgeport("export", tmp_path / "m.keras", "--data", quadrants["npz"], "--out", tmp_path / "out")
    lines = [line for line in result.stdout.splitlines() if line.startswith("model")]
    built = [line for line in lines if " skipped: " not in line]
    left = [re.search(r"\(\d+\.\d s; about (\d+(\.\d)?) s left\)$", line) for line in built]
    assert all(left[:-1]) and left[-1] is None and re.search(r"\(\d+\.\d s\)$", built[-1]), built
    assert any(" skipped: " in line for line in lines)  # skipped rungs: counted out of the estimate, no line of time
