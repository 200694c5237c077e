"""Keras's private parts that export relies on, in this one module: the TensorFlow backend's conv function, and
the layer that made a symbolic tensor (its _keras_history).

Checked against Keras CHECKED_VERSION (keras.src.backend.tensorflow.nn.conv,
keras.src.backend.standardize_data_format, KerasTensor._keras_history); tests/test_micro.py's adapter
test fails when the installed Keras is another version, so that the next one is checked on purpose.
"""

from __future__ import annotations

import contextlib
import threading

CHECKED_VERSION = "3.15.1"
_LOCK = threading.Lock()


@contextlib.contextmanager
def convolutions_inlined():
    """Trace Keras's TensorFlow convolutions as plain ops.

    Keras wraps grouped convolutions (ConvNeXt's depthwise Conv2D(groups=channels)) in an XLA-compiled
    function, because TensorFlow's CPU kernel cannot run them. Freezing keeps that function as a call,
    and tf2onnx has no op for it: "No Op registered for StatefulPartitionedCall". The converters only
    read the graph, and both take the plain grouped Conv2D (on a grouped-conv model both files
    matched Keras to 3e-8).
    """
    import tensorflow as tf
    from keras.src.backend import standardize_data_format
    from keras.src.backend.tensorflow import nn

    def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
        if len(inputs.shape) != 4:  # 1-D and 3-D convolutions as Keras traces them
            return keras_conv(inputs, kernel, strides, padding, data_format, dilation_rate)
        layout = "NHWC" if standardize_data_format(data_format) == "channels_last" else "NCHW"
        return tf.nn.convolution(inputs, kernel, strides, padding.upper(), data_format=layout,
                                 dilations=dilation_rate)

    with _LOCK:  # the replacement is process-wide: one trace at a time
        keras_conv = nn.conv
        nn.conv = conv
        try:
            yield
        finally:
            nn.conv = keras_conv


def producer(tensor):
    """The operation (layer) that made a Keras model's symbolic tensor, None when it does not say."""
    history = getattr(tensor, "_keras_history", None)
    return getattr(history, "operation", None)
