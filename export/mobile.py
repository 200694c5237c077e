"""Phone copies of ONNX files, and onnxruntime's word on the phone accelerators.

A phone's accelerator takes a model through an execution provider: NNAPI on Android, CoreML on
iOS. Both want fixed shapes, and onnxruntime's mobile usability checker says NO to every file
export writes, because their batch dimension is open. So for each ONNX file this module makes a
copy with batch 1, converts it to ONNX Runtime's own format (.ort, what the mobile packages
load; `python -m onnxruntime.tools.convert_onnx_models_to_ort`), and asks the checker
(`onnxruntime.tools.check_onnx_model_mobile_usability`) how much of the graph each provider
would run, before and after the shapes were fixed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from edgeport.export.common import CapturedOutput, ExportError
from edgeport.runtime.manifest import Accelerator, FileEntry, PhoneEntry, sha256_file

MOBILE_SUFFIX = ".mobile.ort"
MOBILE_BATCH = 1
# What the checker reports on; CoreML has two model formats with different operator lists.
ACCELERATORS = {
    "nnapi": ("NNAPI", None),
    "coreml_mlprogram": ("CoreML (ML Program)", "coreml_supported_mlprogram_ops.md"),
    "coreml_neuralnetwork": ("CoreML (NeuralNetwork)", "coreml_supported_neuralnetwork_ops.md"),
}
# A phone copy must answer as its source: the same graph, only with its shapes fixed.
MIN_AGREEMENT = 0.999
_CHATTY_LOGGERS = ("ort_format_model.utils", "check_usability", "usability_checker")


def mobile_name(onnx_name: str) -> str:
    """model_int8.onnx -> model_int8.mobile.ort"""
    return Path(onnx_name).stem + MOBILE_SUFFIX


def fixed_batch_copy(src: str | os.PathLike, dst: str | os.PathLike, batch: int = MOBILE_BATCH) -> Path:
    """An ONNX copy of src whose input (and, where inference can tell, output) has a fixed batch."""
    import onnx
    from onnxruntime.tools.onnx_model_utils import fix_output_shapes, make_input_shape_fixed

    model = onnx.load(str(src))
    graph_input = model.graph.input[0]
    dims = graph_input.type.tensor_type.shape.dim
    make_input_shape_fixed(model.graph, graph_input.name, [batch, *(d.dim_value for d in dims[1:])])
    fix_output_shapes(model)
    onnx.save(model, str(dst))
    return Path(dst)


def to_ort(fixed: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """An ONNX file (with fixed shapes: see fixed_batch_copy) converted to an .ort file at dst, for ARM phones.

    Raises:
        ExportError: the conversion failed (the converter's last words are in the message).
    """
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    fixed, dst = Path(fixed), Path(dst)
    with tempfile.TemporaryDirectory(prefix=".mobile-", dir=dst.parent) as tmp:
        output = CapturedOutput()
        try:
            with output.capture(), _quiet_loggers():
                convert_onnx_models_to_ort(fixed, output_dir=Path(tmp), optimization_styles=[OptimizationStyle.Fixed],
                                           target_platform="arm")
        except Exception as e:  # onnxruntime raises its own untyped exceptions
            raise ExportError(f"converting {fixed.name} to .ort failed: {e}{output.tail()}") from e
        shutil.move(Path(tmp) / fixed.with_suffix(".ort").name, dst)
    return dst


def accelerator_verdicts(path: str | os.PathLike) -> dict:
    """onnxruntime's usability verdict for each phone accelerator on the model at path, as it is.

    The same steps as `python -m onnxruntime.tools.check_onnx_model_mobile_usability`: the graph is
    optimized at the basic level (as the .ort conversion does), shapes are inferred, and nodes are
    grouped into the partitions each provider could take.

    Returns:
        {accelerator: Accelerator (verdict "YES" | "MAYBE" | "NO", nodes, supported_nodes, partitions,
        unsupported_ops)} for "nnapi", "coreml_mlprogram" and "coreml_neuralnetwork".
    """
    from onnxruntime.tools.mobile_helpers import usability_checker as checker
    from onnxruntime.tools.onnx_model_utils import ModelProtoWithShapeInfo, optimize_model

    verdicts = {}
    with tempfile.TemporaryDirectory(prefix="edgeport-mobile-") as tmp, _quiet_loggers():
        optimized = Path(tmp) / "optimized.onnx"
        optimize_model(Path(path), optimized)
        model = ModelProtoWithShapeInfo(optimized).model_with_shape_info
        for key, (_, operators) in ACCELERATORS.items():
            if operators is None:
                info = checker.check_nnapi_partitions(model, require_fixed_input_sizes=True)
            else:
                info = checker.check_coreml_partitions(model, require_fixed_input_sizes=True, config_filename=operators)
            verdicts[key] = Accelerator(info.suitability().name, int(info.num_nodes), int(info.num_supported_nodes),
                                        int(info.num_partitions),
                                        sorted(op.split(":")[-1] for op in info.unsupported_ops))
    return verdicts


def build_mobile(onnx_path: Path, source_entry: FileEntry, images: np.ndarray) -> PhoneEntry:
    """Write the phone copy of onnx_path beside it and describe it for the manifest.

    Args:
        onnx_path: an exported .onnx file (in the staging folder).
        source_entry: its manifest entry (its facts travel on; its sha256 ties the copy to it).
        images: validation images: the copy must answer as its source on them.

    Returns:
        The manifest's "mobile" entry: source, bytes, sha256, batch, tensors, the facts every file
        carries, accelerator verdicts for the copy and for the source as exported, and agreement
        and max difference against the source.
    """
    from edgeport import runtime

    path = onnx_path.with_name(mobile_name(onnx_path.name))
    with tempfile.TemporaryDirectory(prefix=".mobile-", dir=onnx_path.parent) as tmp:
        fixed = fixed_batch_copy(onnx_path, Path(tmp) / f"{onnx_path.stem}.fixed.onnx")
        to_ort(fixed, path)
        verdicts = accelerator_verdicts(fixed)
    as_exported = {key: value.verdict for key, value in accelerator_verdicts(onnx_path).items()}
    phone, source = runtime.load(path, verify=False), runtime.load(onnx_path, verify=False)
    ours, theirs = phone.predict(images), source.predict(images)
    agreement = float(np.mean(ours.argmax(1) == theirs.argmax(1)))
    return PhoneEntry(
        onnx_path.name, source_entry.sha256, format="ort", quantization=source_entry.quantization,
        info=source_entry.info, bytes=path.stat().st_size, sha256=sha256_file(path), batch=MOBILE_BATCH,
        tensors=phone.describe(), accelerators=verdicts, as_exported=as_exported, agreement_with_source=agreement,
        max_abs_diff_vs_source=float(np.abs(ours - theirs).max()) if len(images) else 0.0, images=int(len(images)),
        passed=agreement >= MIN_AGREEMENT)


@contextlib.contextmanager
def _quiet_loggers():
    """onnxruntime's tools log every step at INFO through their own loggers; keep them to errors."""
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
