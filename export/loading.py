"""Reading the user's model: a .keras or .h5 file or a SavedModel folder, its custom classes, its classifier head.

Whatever it came from, export works on one Keras model with one image input and one output of
class scores; load_keras_model builds that view, or refuses in one line that says why.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import warnings
from pathlib import Path

from edgeport.export import keras_adapter
from edgeport.export.archive import check_archive, lambda_layers
from edgeport.export.modelfacts import all_layers
from edgeport.export.savedmodel import SAVEDMODEL_FILE, check_savedmodel
from edgeport.runtime.errors import ModelFileError

MODEL_KINDS = "a Keras model: a .keras or .h5 file, or a SavedModel folder"
SIGNATURE = "serving_default"
TWO_CLASSES = "_as_two_classes"  # the suffix of the layer that makes a one-unit head a two-class classifier
# The SavedModel probe: a script of this package, run in isolated mode, and its limits (variables override them).
PROBE = Path(__file__).resolve().with_name("modelprobe.py")
PROBE_TIMEOUT_S, PROBE_TIMEOUT_VARIABLE = 300.0, "EDGEPORT_MODEL_TIMEOUT"
PROBE_MEMORY_GIB, PROBE_MEMORY_VARIABLE = 8.0, "EDGEPORT_MODEL_MEMORY_GIB"
# What Keras says about a class that no loaded module defines (.keras and .h5 say it differently).
_UNKNOWN_CLASS = re.compile(r"Could not locate (?:class|function) '([^']+)'|Unknown \w+: '([^']+)'")


def is_savedmodel(path: Path) -> bool:
    return path.is_dir() and (path / SAVEDMODEL_FILE).is_file()


def check_model_path(path: str | os.PathLike) -> Path:
    """A model's path, refused before anything is loaded when it cannot be one.

    Raises:
        FileNotFoundError: no such file or folder. ModelFileError: not a .keras or .h5 file or a
            SavedModel folder, or a file that would inflate far beyond its size (check_archive).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model; expected {MODEL_KINDS} (train one with 'edgeport train')")
    if path.is_dir():
        if not is_savedmodel(path):
            raise ModelFileError(f"{path} is a folder without {SAVEDMODEL_FILE}; expected {MODEL_KINDS}")
        return path
    if path.suffix not in (".keras", ".h5"):
        raise ModelFileError(f"expected {MODEL_KINDS}; got {str(path)!r}")
    check_archive(path)
    return path


def load_keras_model(path: str | os.PathLike, output: str | None = None, custom_objects=(),
                     input_size: tuple[int, int] | None = None, trust_code: bool = False):
    """The classifier in a model file or folder, as a Keras model with one image input and one output.

    Args:
        path: a .keras or .h5 file (loaded in Keras's safe mode), or a SavedModel folder (its
            serving_default signature, the one TensorFlow Serving calls).
        output: the classifier head of a model with several outputs: a name or an index.
        custom_objects: Python files whose Keras classes the model names (import_custom_objects).
        input_size: (height, width) for a model that takes images of any size (a Resizing layer
            inside): the view takes that size.
        trust_code: the user trusts the model's code (--trust-model-code): Keras's safe mode is off (Lambda
            layers run) and a TF1 SavedModel is loaded (its restore and init operations run, in the probe's
            sandbox first).

    Returns:
        A Keras model; for a SavedModel, a chosen head, a fixed input size or a one-unit (binary)
        head, a functional view of it whose output layer carries the head's name (output_name). A
        mixed-precision model computes in float32 (as_float32).

    Raises:
        FileNotFoundError / ModelFileError: no model there, an unknown class, a module that fails to
            import, a SavedModel that reaches the file system, several outputs and no --output, an
            output that is not one score per class.
    """
    path = check_model_path(path)
    if not path.is_dir():
        check_lambda_layers(path, trust_code)
    classes = import_custom_objects(custom_objects)
    model = (_load_savedmodel(path, trust_code) if path.is_dir()
             else as_float32(_load_file(path, classes, trust_code), classes))
    return choose_output(model, output, path, input_size)


def check_lambda_layers(path: Path, trust_code: bool) -> None:
    """Refuse a model file whose Lambda layers would run their Python code as it loads, unless the user trusts
    it (--unsafe-code); then say, in one warning, whose code runs.

    Raises:
        ModelFileError: Lambda layers, not trusted.
    """
    names = lambda_layers(path)
    if not names:
        return
    which = f"Lambda layer{'s' if len(names) > 1 else ''} {', '.join(repr(n) for n in names)}"
    if not trust_code:
        raise ModelFileError(f"{path}: its {which} carr{'y' if len(names) > 1 else 'ies'} Python code that loading the "
                             f"model would run (Keras refuses it by default): refused; if you made the model or trust "
                             f"whoever did, pass --unsafe-code")
    warnings.warn(f"running the Python code of {path.name}'s {which}, as --unsafe-code allows", stacklevel=2)


def as_float32(model, classes=None):
    """The model with every layer computing in float32: a mixed-precision model (Keras's mixed_float16 or
    mixed_bfloat16 policies) is rebuilt from its config with the float32 policy and given the same weights
    (they are float32 variables already); any other model is returned as it is.

    The converters see the half-precision casts otherwise: TFLite fails on them and ONNX files compute in
    float16 where the bars compare against float32.
    """
    import keras

    if not _mixed(model):
        return model
    plain = _float32_policies(keras.saving.serialize_keras_object(model))
    clone = keras.saving.deserialize_keras_object(plain, custom_objects=classes or {})
    clone.set_weights(model.get_weights())
    return clone


def _mixed(model) -> bool:
    """Whether any layer, in nested models too, computes under a mixed-precision policy."""
    policies = (getattr(layer, "dtype_policy", None) for layer in all_layers(model))
    return any(policy is not None and policy.name.startswith("mixed_") for policy in policies)


def _float32_policies(value):
    """A serialized Keras object with every mixed-precision dtype policy replaced by "float32"."""
    if isinstance(value, dict):
        if value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and \
                str((value.get("config") or {}).get("name", "")).startswith("mixed_"):
            return "float32"
        return {key: _float32_policies(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_float32_policies(item) for item in value]
    if isinstance(value, str) and value.startswith("mixed_") and value.endswith(("float16", "bfloat16")):
        return "float32"
    return value


def import_custom_objects(files) -> dict:
    """Import the user's Python files, so that the Keras classes they register can be loaded.

    Returns:
        The classes each file defines, by name (Keras also finds the ones it registered).

    Raises:
        FileNotFoundError: no such file. ModelFileError: the module failed to import (its own error quoted).
    """
    check_custom_objects(files)
    classes = {}
    for file in files:
        path = Path(file)
        name = "edgeport_custom_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        module = _import(path, name)  # again each time: its classes register themselves as it runs
        classes.update({key: value for key, value in vars(module).items()
                        if isinstance(value, type) and value.__module__ == name})
    return classes


def check_custom_objects(files) -> None:
    """Refuse a custom-objects file that is not there (the command line asks before TensorFlow loads).

    Raises:
        FileNotFoundError: naming the file.
    """
    for file in files:
        if not Path(file).is_file():
            raise FileNotFoundError(f"{file}: no such Python file for --custom-objects")


def _import(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelFileError(f"{path} cannot be imported as a Python module (--custom-objects takes a .py file)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent.resolve()))  # its own helper modules beside it
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:
        del sys.modules[name]
        raise ModelFileError(f"{path} failed to import: {type(e).__name__}: {_one_line(e)}") from None
    finally:
        sys.path.remove(str(path.parent.resolve()))
    return module


def _load_file(path: Path, classes: dict, trust_code: bool = False):
    import keras

    try:
        return keras.models.load_model(path, compile=False, safe_mode=not trust_code, custom_objects=classes)
    except Exception as e:  # Keras raises ValueError, TypeError, OSError, zipfile errors, ...
        unknown = _unknown_class(e)
        if unknown:
            raise ModelFileError(f"{path} uses the class {unknown!r}, which no loaded module defines: pass the Python "
                                 f"file that defines and registers it with --custom-objects FILE.py") from None
        raise ModelFileError(f"{path} is not a loadable Keras model: {_one_line(e)[:300]}") from e


def _unknown_class(error: BaseException) -> str | None:
    """The class name in Keras's 'could not locate' error, looked for along the chain of causes."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        found = _UNKNOWN_CLASS.search(str(error))
        if found:
            return found.group(1) or found.group(2)
        error = error.__cause__ or error.__context__
    return None


def _load_savedmodel(path: Path, trust_code: bool = False):
    """A SavedModel's serving signature as a functional Keras model, one output layer per signature output.

    Nothing of it runs in this process before the allow-list has read it (check_savedmodel) and a child
    process that cannot write outside its scratch folder has loaded it and called it once (probe_savedmodel).
    """
    import keras

    check_savedmodel(path, trust_code)  # before TensorFlow loads anything of it
    probe_savedmodel(path, trust_code)
    layer, spec = open_savedmodel(path, trust_code)
    image = keras.Input(shape=tuple(spec.shape[1:]), name="images")
    results = layer(image)
    results = results if isinstance(results, dict) else {"output_0": results}
    outputs = [keras.layers.Identity(name=key)(value) for key, value in sorted(results.items())]
    return keras.Model(image, outputs if len(outputs) > 1 else outputs[0], name=path.name)


def open_savedmodel(path: Path, trust_code: bool = False):
    """Keras's TFSMLayer on a SavedModel's serving signature, and the signature's one input (a TensorSpec).

    Raises:
        ModelFileError: TensorFlow cannot load it, or the signature does not take one batch of float32 images.
    """
    import keras

    try:
        layer = keras.layers.TFSMLayer(str(path), call_endpoint=SIGNATURE)
    except Exception as e:  # TensorFlow's loader raises many types
        raise ModelFileError(f"{path} is not a loadable SavedModel (its '{SIGNATURE}' signature): "
                             f"{_one_line(e)[:300]}") from e
    function = layer.call_endpoint_fn
    inputs = function.structured_input_signature[1] or dict(enumerate(function.structured_input_signature[0]))
    if len(inputs) != 1:
        raise ModelFileError(f"{path}: its '{SIGNATURE}' signature takes {len(inputs)} inputs "
                             f"({', '.join(map(str, inputs))}); expected one batch of images")
    spec = next(iter(inputs.values()))
    if spec.dtype.name != "float32" or spec.shape.rank is None:
        raise ModelFileError(f"{path}: its '{SIGNATURE}' signature takes {spec.dtype.name} {spec.shape}; expected "
                             f"float32 images (N, H, W) or (N, H, W, C)")
    return layer, spec


def probe_savedmodel(path: Path, trust_code: bool = False) -> None:
    """Load a SavedModel and call it once in a child process (export/modelprobe.py) that may write only in its
    own scratch folder (Landlock), within PROBE_TIMEOUT_S seconds and PROBE_MEMORY_GIB of address space.

    Raises:
        ModelFileError: the child failed, ran out of time or memory, or crashed: one line saying which.
    """
    import json
    import subprocess
    import tempfile

    from edgeport.runtime import children

    timeout, memory = _probe_limits()
    with tempfile.TemporaryDirectory(prefix="edgeport-probe-") as scratch:
        command = children.python_command(PROBE, path.resolve(), scratch,
                                          *(["--trust-model-code"] if trust_code else []))
        # Without oneDNN's allocator, a model that asks for more memory than there is fails at once: oneDNN's
        # retries a failed allocation for 10 s first. The probe only asks whether the model loads and runs.
        env = {**os.environ, "TMPDIR": scratch, "HOME": scratch, "TF_ENABLE_ONEDNN_OPTS": "0"}
        try:
            done = children.run(command, cwd=scratch, timeout=timeout, memory_bytes=memory, env=env)
        except subprocess.TimeoutExpired:
            raise ModelFileError(f"{path}: loading it and calling it once took more than {timeout:g} s (an endless "
                                 f"loop?): refused (set {PROBE_TIMEOUT_VARIABLE} to allow longer)") from None
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = None
    if result is not None and result["ok"]:
        return
    if result is not None:
        raise ModelFileError(f"{path}: loading it and calling it once failed: {result['error']}")
    how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
    raise ModelFileError(f"{path}: loading it and calling it once crashed or ran out of memory ({how}; the limit "
                         f"is {memory / 2**30:g} GiB of address space, set {PROBE_MEMORY_VARIABLE} for more): refused")


def _probe_limits() -> tuple[float, int]:
    """The model probe's time (seconds) and address-space (bytes) limits: the defaults, or the variables'."""
    limits = []
    for variable, default, unit in ((PROBE_TIMEOUT_VARIABLE, PROBE_TIMEOUT_S, 1),
                                    (PROBE_MEMORY_VARIABLE, PROBE_MEMORY_GIB, 2**30)):
        text = os.environ.get(variable, "")
        try:
            value = float(text) if text else default
        except ValueError:
            raise ModelFileError(f"{variable}={text!r} is not a number") from None
        if not value > 0:
            raise ModelFileError(f"{variable}={text!r} must be above 0")
        limits.append(value * unit)
    return limits[0], int(limits[1])


def choose_output(model, output: str | None, path: Path, input_size: tuple[int, int] | None = None):
    """The model itself when it has one output (and output, if given, names it), else a view of the chosen head.

    Raises:
        ModelFileError: several outputs and no output given, an output that is not there, a
            model that does not take one input, or a head that is not one score per class.
    """
    import keras

    inputs = getattr(model, "inputs", None) or []
    if len(inputs) > 1:
        raise ModelFileError(f"{path}: the model takes {len(inputs)} inputs; edgeport exports classifiers of one image")
    names = output_names(model)
    if output is None and len(names) > 1:
        raise ModelFileError(f"{path}: the model has {len(names)} outputs ({', '.join(names)}): choose the classifier "
                             f"head with --output NAME or INDEX")
    index = 0 if output is None else _output_index(names, str(output), path)
    chosen = model if len(names) == 1 else keras.Model(model.inputs[0], model.outputs[index], name=model.name)
    chosen = _fixed_input(chosen, input_size, names[index], path)
    shape = tuple(chosen.output_shape)
    if len(shape) != 2 or not isinstance(shape[1], int):
        raise ModelFileError(f"{path}: output {names[index]!r} has shape {shape}; expected one score per class "
                             f"(N, classes), probabilities or logits, with at least 2 classes")
    activation = _head_activation(chosen)
    if shape[1] == 1:
        return _two_classes(chosen, names[index], activation)
    if activation == "sigmoid":
        raise ModelFileError(f"{path}: output {names[index]!r} is {shape[1]} independent sigmoid scores, a "
                             f"multi-label head; edgeport exports classifiers that give each image one class "
                             f"(softmax or logits, or one sigmoid unit for two classes)")
    return chosen


def _fixed_input(model, size: tuple[int, int] | None, name: str, path: Path):
    """A view of model that takes (height, width) images, when size is given and the model's own size is not
    fixed; the model itself when size is None or already its size.

    Raises:
        ModelFileError: a size for a model that does not take images, or that takes another fixed size.
    """
    if size is None:
        return model
    import keras

    dims = tuple(model.input_shape[1:])
    if len(dims) not in (2, 3):
        raise ModelFileError(f"{path}: the model takes input {model.input_shape}, not images: --input-size does not "
                             f"apply")
    if tuple(dims[:2]) == tuple(size):
        return model
    if any(d is not None and d != s for d, s in zip(dims[:2], size)):
        raise ModelFileError(f"{path}: the model takes {dims[0]}x{dims[1]} images; --input-size "
                             f"{size[0]}x{size[1]} does not fit it (leave --input-size out)")
    image = keras.Input((*size, *dims[2:]), name="images")
    return keras.Model(image, keras.layers.Identity(name=name)(model(image)), name=model.name)


def _head_activation(model) -> str | None:
    """The name of the activation that makes the model's output ("sigmoid", "softmax", "linear"...), None
    when the layer that makes it has none that can be read."""
    outputs = getattr(model, "outputs", None) or []
    activation = getattr(keras_adapter.producer(outputs[0]) if outputs else None, "activation", None)
    return getattr(activation, "__name__", None)


def _two_classes(model, name: str, activation: str | None):
    """A view of a model with one output unit (Keras's binary classifiers) as a two-class classifier.

    A sigmoid unit p gives the probabilities (1 - p, p); a unit without an activation is a logit z
    (BinaryCrossentropy(from_logits=True)) and gives the logits (0, z), whose softmax is
    (1 - sigmoid(z), sigmoid(z)). Class 1 is the positive class, as Keras's binary labels count it.
    When the activation cannot be read (a SavedModel), outputs within [0, 1] on random pixels are
    taken for probabilities.
    """
    import keras
    import numpy as np

    score = model.outputs[0]
    if activation is None:
        probe = np.random.default_rng(0).uniform(0, 255, (8, *model.input_shape[1:])).astype("float32")
        outputs = np.asarray(model.predict(probe, verbose=0))
        activation = "sigmoid" if outputs.min() >= 0 and outputs.max() <= 1 else "linear"
    other = 1.0 - score if activation == "sigmoid" else keras.ops.zeros_like(score)
    both = keras.layers.Concatenate(name=f"{name}{TWO_CLASSES}")([other, score])
    return keras.Model(model.inputs[0], both, name=model.name)


def output_names(model) -> list[str]:
    """The names of a model's outputs: their layers' names."""
    outputs = getattr(model, "outputs", None) or []
    names = [getattr(keras_adapter.producer(t), "name", None) or str(i) for i, t in enumerate(outputs)]
    return names or [model.name]


def output_name(model) -> str:
    """The name of the one output export works on (the model's own head, for a two-class view)."""
    return output_names(model)[0].removesuffix(TWO_CLASSES)


def _output_index(names: list[str], output: str, path: Path) -> int:
    if output in names:
        return names.index(output)
    if output.isdigit() and int(output) < len(names):
        return int(output)
    raise ModelFileError(f"{path}: no output {output!r}; its outputs are {', '.join(names)} (give a name or an index "
                         f"from 0 to {len(names) - 1} to --output)")


def model_sha256(path: Path) -> str:
    """The SHA-256 of a model file; for a SavedModel folder, of its files' relative paths and contents."""
    from edgeport.runtime.manifest import sha256_file

    if not path.is_dir():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{sha256_file(file)}\n".encode())
    return digest.hexdigest()


def model_bytes(path: Path) -> int:
    """A model file's size; for a SavedModel folder, the sum of its files'."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
