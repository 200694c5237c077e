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
from pathlib import Path

from edgeport.export.archive import check_archive
from edgeport.export.savedmodel import SAVEDMODEL_FILE, check_savedmodel
from edgeport.runtime.errors import ModelFileError

MODEL_KINDS = "a Keras model: a .keras or .h5 file, or a SavedModel folder"
SIGNATURE = "serving_default"
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


def load_keras_model(path: str | os.PathLike, output: str | None = None, custom_objects=()):
    """The classifier in a model file or folder, as a Keras model with one image input and one output.

    Args:
        path: a .keras or .h5 file (loaded in Keras's safe mode), or a SavedModel folder (its
            serving_default signature, the one TensorFlow Serving calls).
        output: the classifier head of a model with several outputs: a name or an index.
        custom_objects: Python files whose Keras classes the model names (import_custom_objects).

    Returns:
        A Keras model; for a SavedModel or a chosen head, a functional view of it whose output
        layer carries the head's name (output_name).

    Raises:
        FileNotFoundError / ModelFileError: no model there, an unknown class, a module that fails to
            import, a SavedModel that reaches the file system, several outputs and no --output, an
            output that is not one score per class.
    """
    path = check_model_path(path)
    classes = import_custom_objects(custom_objects)
    model = _load_savedmodel(path) if path.is_dir() else _load_file(path, classes)
    return choose_output(model, output, path)


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


def _load_file(path: Path, classes: dict):
    import keras

    try:
        return keras.models.load_model(path, compile=False, safe_mode=True, custom_objects=classes)
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


def _load_savedmodel(path: Path):
    """A SavedModel's serving signature as a functional Keras model, one output layer per signature output."""
    import keras

    check_savedmodel(path)  # before TensorFlow loads anything of it
    try:
        layer = keras.layers.TFSMLayer(str(path), call_endpoint=SIGNATURE)
    except Exception as e:  # TensorFlow's loader raises many types
        raise ModelFileError(f"{path} is not a loadable SavedModel (its '{SIGNATURE}' signature): "
                             f"{_one_line(e)[:300]}") from None
    function = layer.call_endpoint_fn
    inputs = function.structured_input_signature[1] or dict(enumerate(function.structured_input_signature[0]))
    if len(inputs) != 1:
        raise ModelFileError(f"{path}: its '{SIGNATURE}' signature takes {len(inputs)} inputs "
                             f"({', '.join(map(str, inputs))}); expected one batch of images")
    spec = next(iter(inputs.values()))
    if spec.dtype.name != "float32" or spec.shape.rank is None:
        raise ModelFileError(f"{path}: its '{SIGNATURE}' signature takes {spec.dtype.name} {spec.shape}; expected "
                             f"float32 images (N, H, W) or (N, H, W, C)")
    image = keras.Input(shape=tuple(spec.shape[1:]), name="images")
    results = layer(image)
    results = results if isinstance(results, dict) else {"output_0": results}
    outputs = [keras.layers.Identity(name=key)(value) for key, value in sorted(results.items())]
    return keras.Model(image, outputs if len(outputs) > 1 else outputs[0], name=path.name)


def choose_output(model, output: str | None, path: Path):
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
    shape = tuple(chosen.output_shape)
    if len(shape) != 2 or not isinstance(shape[1], int) or shape[1] < 2:
        raise ModelFileError(f"{path}: output {names[index]!r} has shape {shape}; expected one score per class "
                             f"(N, classes), probabilities or logits, with at least 2 classes")
    return chosen


def output_names(model) -> list[str]:
    """The names of a model's outputs: their layers' names."""
    outputs = getattr(model, "outputs", None) or []
    names = [t._keras_history.operation.name if hasattr(t, "_keras_history") else str(i) for i, t in enumerate(outputs)]
    return names or [model.name]


def output_name(model) -> str:
    """The name of the one output export works on."""
    return output_names(model)[0]


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
