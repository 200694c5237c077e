"""Hostile SavedModels: each built here with real TensorFlow, each refused before anything of it runs.

A SavedModel is a program: its functions run when it is called, its resources' initializers when it
is loaded, and `serving_default` may name another function than the signature_def does. The
evidence that nothing ran is the file each one would write: it must not exist afterwards.
"""

from __future__ import annotations

import pytest

from edgeport import export
from edgeport.runtime.errors import ModelFileError

SHAPE = (None, 8, 8, 1)


def _scores(x):
    import tensorflow as tf

    return {"scores": tf.nn.softmax(tf.reshape(x, (-1, 64))[:, :2])}


def _module(body):
    """A tf.Module whose serving function runs body(x, leak) before answering."""
    import tensorflow as tf

    class Hostile(tf.Module):
        def __init__(self, leak):
            super().__init__()
            self.leak = str(leak)

        @tf.function(input_signature=[tf.TensorSpec(SHAPE, tf.float32)])
        def serve(self, x):
            extra = body(x, self.leak)  # a tensor the answer depends on, or None (a side effect alone)
            scores = _scores(x)["scores"]
            return {"scores": scores if extra is None else scores + 0.0 * tf.cast(tf.reduce_sum(extra), tf.float32)}

    return Hostile


def _print_to_file(x, leak):
    import tensorflow as tf

    tf.print(x, output_stream=f"file://{leak}")


def _debug_identity(x, leak):
    import tensorflow as tf

    return tf.raw_ops.DebugIdentityV3(input=x, tensor_name="x:0", debug_urls=[f"file://{leak}"])


def _cache_dataset(x, leak):
    import tensorflow as tf

    return tf.data.Dataset.from_tensors(x).cache(leak).reduce(0.0, lambda total, t: total + tf.reduce_sum(t))


def _fixed_length_records(x, leak):
    import tensorflow as tf

    return tf.data.FixedLengthRecordDataset("/etc/hostname", 1).reduce(0, lambda n, _: n + 1)


def _decode_proto(x, leak):
    import tensorflow as tf

    _, values = tf.io.decode_proto(tf.constant([b""]), "edgeport.Leak", ["f"], [tf.int32],
                                   descriptor_source=leak)
    return values[0]


def _write_file(x, leak):
    import tensorflow as tf

    tf.io.write_file(leak, tf.strings.as_string(tf.reduce_sum(x)))


@pytest.mark.parametrize("body, op", [
    (_print_to_file, "PrintV2"),
    (_debug_identity, "DebugIdentityV3"),
    (_cache_dataset, "CacheDatasetV2"),
    (_fixed_length_records, "FixedLengthRecordDatasetV2"),
    (_decode_proto, "DecodeProtoV2"),
    (_write_file, "WriteFile"),
])
def test_a_function_that_does_more_than_inference_is_refused_unrun(body, op, tmp_path):
    import tensorflow as tf

    leak = tmp_path / "leak"
    module = _module(body)(leak)
    tf.saved_model.save(module, str(tmp_path / "hostile"), signatures={"serving_default": module.serve})
    with pytest.raises(ModelFileError, match=f"it would run .*{op}.*which no image classifier's inference needs"):
        export.load_keras_model(tmp_path / "hostile")
    assert not leak.exists()


def test_a_hidden_serving_default_is_checked_too(tmp_path):
    """The signature_def names a benign function; the object graph's serving_default attribute is the one
    Keras's TFSMLayer calls."""
    import tensorflow as tf

    leak = tmp_path / "leak"

    class Decoy(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec(SHAPE, tf.float32)])
        def benign(self, x):
            return _scores(x)

        @tf.function(input_signature=[tf.TensorSpec(SHAPE, tf.float32)])
        def hostile(self, x):
            tf.io.write_file(str(leak), "owned")
            return _scores(x)

    decoy = Decoy()
    decoy.serving_default = decoy.hostile
    tf.saved_model.save(decoy, str(tmp_path / "decoy"), signatures={"serving_default": decoy.benign})
    with pytest.raises(ModelFileError, match="it would run WriteFile"):
        export.load_keras_model(tmp_path / "decoy")
    assert not leak.exists()


def test_resources_are_refused_before_their_initializers_run_at_load(tmp_path):
    import tensorflow as tf

    leak = tmp_path / "leak"

    class Writer(tf.saved_model.experimental.TrackableResource):
        def _create_resource(self):
            return tf.raw_ops.VarHandleOp(dtype=tf.float32, shape=[], shared_name="edgeport_writer")

        def _initialize(self):
            tf.io.write_file(str(leak), "owned at load")

    vocabulary = tmp_path / "vocabulary.txt"
    vocabulary.write_text("a 0\nb 1\n")
    for name, resource, refusal in [
        ("writer", Writer(), "it holds a resource .a lookup table, dataset iterator or the like"),
        ("table", tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            str(vocabulary), tf.string, 0, tf.int64, 1, delimiter=" "), -1), r"it keeps asset files .vocabulary.txt"),
    ]:
        class Holder(tf.Module):
            def __init__(self):
                super().__init__()
                self.resource = resource

            @tf.function(input_signature=[tf.TensorSpec(SHAPE, tf.float32)])
            def serve(self, x):
                return _scores(x)

        holder = Holder()
        tf.saved_model.save(holder, str(tmp_path / name), signatures={"serving_default": holder.serve})
        leak.unlink(missing_ok=True)
        with pytest.raises(ModelFileError, match=refusal):
            export.load_keras_model(tmp_path / name)
        assert not leak.exists(), name


def test_a_savedmodel_that_reads_files_is_refused_and_a_plain_one_loads(tmp_path):
    import tensorflow as tf

    class Snoop(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((None, 8, 8, 3), tf.float32)])
        def serve(self, x):
            leaked = tf.cast(tf.strings.length(tf.io.read_file("/etc/hostname")), tf.float32)
            return {"scores": tf.reshape(x, (-1, 192))[:, :2] + leaked}

    snoop = Snoop()
    tf.saved_model.save(snoop, str(tmp_path / "snoop"), signatures={"serving_default": snoop.serve})
    with pytest.raises(ModelFileError, match="it would run ReadFile, StringLength"):
        export.load_keras_model(tmp_path / "snoop")

    class Plain(tf.Module):  # variables, its checkpoint functions (SaveV2, RestoreV2), a softmax: loads
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(tf.ones((64, 2)))

        @tf.function(input_signature=[tf.TensorSpec(SHAPE, tf.float32)])
        def serve(self, x):
            return {"scores": tf.nn.softmax(tf.reshape(x, (-1, 64)) @ self.w)}

    plain = Plain()
    tf.saved_model.save(plain, str(tmp_path / "plain"), signatures={"serving_default": plain.serve})
    assert export.load_keras_model(tmp_path / "plain").output_shape == (None, 2)
