"""Every model people ship: Normalization, keras.applications, two outputs, custom layers, SavedModel.

The models are built here and fitted for a second on the generated pictures of test_your_data
(four classes of 32x32 colour patterns): real data, real converters, through the command line.
"""

import json
import shutil
import textwrap

import numpy as np
import pytest
from PIL import Image

from edgeport import export, runtime
from edgeport.runtime.errors import DataError, ModelFileError
from edgeport.runtime.modelinfo import Preprocessing
from tests.conftest import edgeport, fit
from tests.test_your_data import CLASSES, _pictures

# A module a user would keep beside their model: a layer class registered with Keras.
LAYERS_PY = '''
import keras


@keras.saving.register_keras_serializable(package="edgeport_tests")
class Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2.0
'''


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The pictures as an .npz (train and test) and as a folder of class folders."""
    root = tmp_path_factory.mktemp("models")
    (x_train, y_train), (x_test, y_test) = _pictures(60, 1), _pictures(30, 2)
    np.savez(root / "data.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             class_names=np.array(CLASSES))
    return {"root": root, "npz": root / "data.npz", "x_train": x_train, "y_train": y_train,
            "x_test": x_test, "y_test": y_test}


@pytest.fixture(scope="module")
def two_heads(data):
    """A .keras model with Rescaling + adapted Normalization, a registered custom layer and two outputs
    (a box regressor and the classifier), the file that defines the layer, and the model as a SavedModel."""
    import keras

    root = data["root"]
    (root / "layers.py").write_text(textwrap.dedent(LAYERS_PY))
    namespace = {}
    exec(compile(LAYERS_PY, str(root / "layers.py"), "exec"), namespace)
    keras.utils.set_random_seed(0)
    normalization = keras.layers.Normalization()
    normalization.adapt(data["x_train"][:100].astype("float32") / 255)
    image = keras.Input((32, 32, 3))
    x = namespace["Doubler"]()(normalization(keras.layers.Rescaling(1 / 255)(image)))
    x = keras.layers.Conv2D(16, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 3, activation="relu")(x)
    x = keras.layers.GlobalMaxPooling2D()(x)
    corners = keras.layers.Reshape((2, 2), name="box")(keras.layers.Dense(4)(x))  # two (x, y) corners
    model = keras.Model(image, [corners, keras.layers.Dense(len(CLASSES), activation="softmax", name="classes")(x)],
                        name="two_heads")
    model.compile("adam", loss={"box": "mse", "classes": "sparse_categorical_crossentropy"})
    fit(model, data["x_train"], {"box": np.zeros((len(data["y_train"]), 2, 2), np.float32),
                                 "classes": data["y_train"]}, epochs=8)
    folder = root / "two"
    folder.mkdir()
    model.save(folder / "two.keras")
    model.export(str(folder / "saved"), verbose=False)
    probabilities = model.predict(data["x_test"], verbose=0)[1]
    _forget_doubler()
    return {"folder": folder, "keras": folder / "two.keras", "saved": folder / "saved", "layers": root / "layers.py",
            "probabilities": probabilities}


def _forget_doubler():
    """Forget the custom class, as a fresh process that never imported layers.py would."""
    import keras

    keras.saving.get_custom_objects().pop("edgeport_tests>Doubler", None)


def _error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _agrees_with_keras(folder, names, probabilities, images, atol=1e-5):
    for name in names:
        predicted = runtime.load(folder / name).predict(images)
        np.testing.assert_allclose(predicted, probabilities, atol=atol, err_msg=name)


@pytest.mark.parametrize("statistics", ["adapted per channel", "adapted whole", "adapted per pixel", "set"])
def test_normalization_exports_with_its_statistics_as_constants(statistics, tmp_path):
    import keras

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (32, 12, 12, 3), dtype=np.uint8)
    if statistics == "set":
        normalization = keras.layers.Normalization(mean=[100.0, 120.0, 140.0], variance=[900.0, 1600.0, 2500.0])
    else:
        normalization = keras.layers.Normalization(axis={"adapted per channel": -1, "adapted whole": None,
                                                         "adapted per pixel": (1, 2, 3)}[statistics])
        normalization.adapt(pixels.astype("float32"))
    model = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Rescaling(1.0), normalization,
                              keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    info = export.model_info(model, preprocessing=runtime.Preprocessing.raw())
    onnx_path = export.to_onnx(model, tmp_path / "model.onnx", info=info)
    tflite_path = export.to_tflite(model, tmp_path / "model.tflite", info=info)
    import onnx

    graph = onnx.load(str(onnx_path)).graph
    assert [i.name for i in graph.input] == ["images"]  # mean and variance are constants, not inputs
    expected = model.predict(pixels.astype("float32"), verbose=0)
    for path in (onnx_path, tflite_path):
        np.testing.assert_allclose(runtime.load(path, verify=False).predict(pixels), expected, atol=1e-5)


def test_a_model_with_two_outputs_and_a_custom_layer_exports_by_its_head(two_heads, data):
    model, layers = two_heads["keras"], two_heads["layers"]
    common = ("--data", data["npz"], "--formats", "fp32,onnx,onnx-dynamic")
    missing = edgeport("export", model, *common, check=False)
    assert missing.returncode == 1
    assert _error(missing) == (f"edgeport export: error: {model} uses the class 'Doubler', which no loaded module "
                               f"defines: pass the Python file that defines and registers it with --custom-objects "
                               f"FILE.py")
    unchosen = edgeport("export", model, *common, "--custom-objects", layers, check=False)
    assert _error(unchosen) == (f"edgeport export: error: {model}: the model has 2 outputs (box, classes): choose the "
                                f"classifier head with --output NAME or INDEX")
    not_a_head = edgeport("export", model, *common, "--custom-objects", layers, "--output", "2", check=False)
    assert _error(not_a_head) == (f"edgeport export: error: {model}: no output '2'; its outputs are box, classes "
                                  f"(give a name or an index from 0 to 1 to --output)")
    regressor = edgeport("export", model, *common, "--custom-objects", layers, "--output", "box", check=False)
    assert "output 'box' has shape (None, 2, 2); expected one score per class" in _error(regressor)
    assert not (two_heads["folder"] / "manifest.json").exists()  # nothing written by a refusal

    edgeport("export", model, *common, "--custom-objects", layers, "--output", "1")
    folder = two_heads["folder"]
    manifest = runtime.read_manifest(folder)
    assert manifest.source.output == "classes"
    assert sorted(manifest.files) == ["model.onnx", "model_dynamic.onnx", "model_fp32.tflite"]
    _agrees_with_keras(folder, ["model.onnx", "model_fp32.tflite"], two_heads["probabilities"], data["x_test"])
    _dynamic_figures_are_batch_1(folder, manifest, data)

    # report reads the Keras model again for its benchmark rows: the manifest's head, the user's module
    _forget_doubler()
    refused = edgeport("report", folder, "--rounds", "1", check=False)
    assert "uses the class 'Doubler'" in _error(refused)
    edgeport("report", folder, "--rounds", "1", "--custom-objects", layers)
    rows = {row["name"] for row in json.loads((folder / "bench.json").read_text())["rows"]}
    assert {"Keras model.predict", "Keras model(x)", "model.onnx"} <= rows
    _forget_doubler()


def _dynamic_figures_are_batch_1(folder, manifest, data):
    """Dynamic quantization scales by the whole batch: its figures are the answers onnxruntime gives one image at a
    time, and so are the runtime's answers at any batch size."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(folder / "model_dynamic.onnx"), providers=["CPUExecutionProvider"])
    images = data["x_test"].astype(np.float32)  # the model rescales its pixels itself
    one_by_one = np.concatenate([session.run(None, {"images": images[i:i + 1]})[0] for i in range(len(images))])
    figures = manifest.files["model_dynamic.onnx"].validation
    assert figures.batch == 1 and manifest.files["model.onnx"].validation.batch == "any"
    assert figures.accuracy == pytest.approx(np.mean(one_by_one.argmax(1) == data["y_test"]))
    predictor = runtime.load(folder / "model_dynamic.onnx")
    assert predictor.batch_dependent
    np.testing.assert_array_equal(predictor.predict(data["x_test"]), one_by_one)


def test_a_custom_module_that_fails_to_import_is_quoted_in_one_line(two_heads, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import keras\nraise RuntimeError('set MY_LAYERS_HOME first')\n")
    result = edgeport("export", two_heads["keras"], "--custom-objects", broken, "--data", tmp_path, check=False)
    assert _error(result) == (f"edgeport export: error: {broken} failed to import: RuntimeError: set MY_LAYERS_HOME "
                              f"first")
    absent = edgeport("export", two_heads["keras"], "--custom-objects", tmp_path / "nope.py", check=False)
    assert _error(absent) == f"edgeport export: error: {tmp_path / 'nope.py'}: no such Python file for --custom-objects"


def test_a_savedmodel_folder_exports_from_its_serving_signature(two_heads, data, tmp_path):
    saved, out = two_heads["saved"], tmp_path / "out"
    # The signature's outputs are named by Keras's export; its layers cannot be seen, so the preprocessing is
    # found by trying the usual ones: this model rescales its pixels itself (raw pixels, not x / 255).
    unchosen = edgeport("export", saved, "--data", data["npz"], "--out", out, check=False)
    assert _error(unchosen) == (f"edgeport export: error: {saved}: the model has 2 outputs (output_0, output_1): "
                                f"choose the classifier head with --output NAME or INDEX")
    # Given as "folder/" and no --out, the files go beside the folder, as they go beside a .keras file.
    shutil.copytree(saved, out / "saved")
    result = edgeport("export", f"{out / 'saved'}/", "--data", data["npz"], "--output", "output_1", "--formats",
                      "fp32,onnx")
    manifest = runtime.read_manifest(out)
    assert manifest.info.preprocessing == Preprocessing.raw()
    assert manifest.source.preprocessing_found.startswith("tried on the validation images: the model scored ")
    assert "Preprocessing: the Keras model scores " in result.stdout and "taking x (" in result.stdout
    assert not (out / "saved" / "manifest.json").exists()
    assert (manifest.source.file, manifest.source.output) == ("saved", "output_1")
    _agrees_with_keras(out, ["model.onnx", "model_fp32.tflite"], two_heads["probabilities"], data["x_test"])
    import onnx

    names = [node.name for node in onnx.load(str(out / "model.onnx")).graph.node]
    assert not any("StatefulPartitionedCall" in name for name in names)  # named by the model's own layers
    assert any(name.startswith("two_heads") and "/conv2d" in name for name in names)  # the Keras model's own scope


def test_a_folder_without_saved_model_pb_is_refused(tmp_path):
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    with pytest.raises(ModelFileError, match="a folder without saved_model.pb; expected a Keras model: a .keras or "
                                             ".h5 file, or a SavedModel folder"):
        export.load_keras_model(not_a_model)


def test_class_names_in_another_order_are_warned_about(two_heads, data, tmp_path):
    shuffled = ",".join(reversed(CLASSES))
    result = edgeport("export", two_heads["keras"], "--data", data["npz"], "--out", tmp_path, "--formats", "fp32",
                      "--custom-objects", two_heads["layers"], "--output", "classes", "--class-names", shuffled)
    assert (f"the class names given ({', '.join(reversed(CLASSES))}) are the data's ({', '.join(CLASSES)}) in another "
            f"order") in result.stderr
    assert runtime.read_manifest(tmp_path).files["model_fp32.tflite"].info.class_names == tuple(reversed(CLASSES))


def test_unreadable_pictures_in_the_data_are_skipped_and_counted(two_heads, data, tmp_path):
    photos = tmp_path / "photos"
    for split, images, labels in (("train", data["x_train"], data["y_train"]), ("test", data["x_test"], data["y_test"])):
        for i, (image, label) in enumerate(zip(images, labels)):
            (photos / split / CLASSES[label]).mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(photos / split / CLASSES[label] / f"{i:03d}.png")
    (photos / "test" / "disc" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
    (photos / "train" / "hbars" / "empty.jpg").write_bytes(b"")
    result = edgeport("export", two_heads["keras"], "--data", photos, "--out", tmp_path / "out", "--formats", "fp32",
                      "--custom-objects", two_heads["layers"], "--output", "classes")
    warned = [line for line in result.stderr.splitlines() if line.endswith(": skipped")]
    assert len(warned) == 2 and any("broken.png" in line for line in warned), result.stderr
    manifest = runtime.read_manifest(tmp_path / "out")
    assert (manifest.data.unreadable, manifest.data.images) == (2, len(data["y_test"]))

    nothing = tmp_path / "nothing" / "disc"
    nothing.mkdir(parents=True)
    (nothing / "a.png").write_bytes(b"junk")
    (nothing / "b.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="none of its 2 pictures is readable; the first: .*a.png is not a readable"), \
            pytest.warns(UserWarning) as skipped:
        runtime.load_dataset(nothing.parent, (32, 32, 3), background="dark")
    assert [str(w.message).endswith(f"{name} is not a readable picture: cannot identify image file: skipped")
            for w, name in zip(skipped, ("a.png", "b.png"))] == [True, True]
    with pytest.raises(DataError, match="a.png is not a readable picture"):  # export tells the background first
        runtime.load_dataset(nothing.parent, (32, 32, 3))


def test_a_keras_applications_network_converts_to_onnx_as_it_is(tmp_path):
    """MobileNetV3Small: Rescaling inside, batch norms, squeeze-excitation, hard-swish; untrained, converted
    straight to ONNX and compared with Keras. (EfficientNetB0, with Normalization inside too, took 15 s of the
    suite here: its Normalization is tested on small models above, and the network in bench_ladder.py.)"""
    import keras
    import onnx

    model = keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3), classes=len(CLASSES),
                                                alpha=0.75)
    images = np.random.default_rng(0).integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    probabilities = model.predict(images.astype("float32"), verbose=0)
    path = export.to_onnx(model, tmp_path / "model.onnx")
    assert [i.name for i in onnx.load(str(path)).graph.input] == ["images"]
    predictor = runtime.load(path, verify=False)
    assert predictor.preprocessing == Preprocessing.raw()  # it rescales its pixels itself
    np.testing.assert_allclose(predictor.predict(images), probabilities, atol=1e-4)


def test_models_that_are_not_image_classifiers_are_refused_in_one_line(tmp_path):
    import keras

    features = keras.Sequential([keras.Input((20,)), keras.layers.Dense(3, activation="softmax")], name="tabular")
    features.save(tmp_path / "tabular.keras")
    image, extra = keras.Input((8, 8, 1)), keras.Input((4,))
    joined = keras.layers.Concatenate()([keras.layers.Flatten()(image), extra])
    keras.Model([image, extra], keras.layers.Dense(3)(joined)).save(tmp_path / "two_inputs.keras")
    tabular = edgeport("export", tmp_path / "tabular.keras", "--data", tmp_path, check=False)
    assert _error(tabular) == ("edgeport export: error: model 'tabular' takes input (None, 20); expected images "
                               "(N, H, W) or (N, H, W, C)")
    two = edgeport("export", tmp_path / "two_inputs.keras", "--data", tmp_path, check=False)
    assert _error(two) == (f"edgeport export: error: {tmp_path / 'two_inputs.keras'}: the model takes 2 inputs; "
                           f"edgeport exports classifiers of one image")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tabular.keras", "two_inputs.keras"]  # nothing written
