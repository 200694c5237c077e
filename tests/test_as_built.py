"""Models as people build them: heads, layers and precisions from the Keras tutorials, exported with no
flags to guess, and int8 files that every TFLite engine accepts.

Tiny untrained (or seconds-trained) models: the mechanics, not the accuracy bars.
"""

import numpy as np
import pytest

from edgeport import export, runtime

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
