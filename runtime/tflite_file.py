"""The one reader of a .tflite flatbuffer, with the schema ai-edge-litert ships (so no TensorFlow).

Two views of the same bytes: `view` reads in place (fast, for a few fields: custom operator codes,
a metadata buffer, the input and output names), `objects` unpacks the whole model into Python
objects (for walks over operators and tensors, and for edits that are packed again). Every part of
edgeport that reads a .tflite file's structure goes through here.
"""

from __future__ import annotations

from pathlib import Path


def schema():
    """ai-edge-litert's generated TFLite schema module."""
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def view(content: bytes):
    """The flatbuffer's root Model, read in place (schema.Model)."""
    return schema().Model.GetRootAs(content, 0)


def objects(content: bytes | str | Path):
    """The whole model as Python objects (schema.ModelT), from bytes or a path."""
    if not isinstance(content, (bytes, bytearray)):
        content = Path(content).read_bytes()
    return schema().ModelT.InitFromPackedBuf(bytearray(content), 0)


def custom_codes(content: bytes) -> set[str]:
    """The custom operators' codes (none when the flatbuffer cannot be read)."""
    try:
        model = view(content)
        codes = (model.OperatorCodes(i).CustomCode() for i in range(model.OperatorCodesLength()))
        return {code.decode("utf-8", "replace") for code in codes if code}
    except Exception:  # a damaged flatbuffer can fail anywhere in the generated reader
        return set()


def metadata(content: bytes, name: str) -> bytes | None:
    """The bytes of the metadata buffer called name, None when there is none.

    Raises:
        Exception: whatever the generated reader raises on a damaged flatbuffer.
    """
    model = view(content)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() != name.encode():
            continue
        buffer = model.Buffers(entry.Buffer())
        if buffer.Offset() > 1:  # large models keep buffers after the flatbuffer
            return content[buffer.Offset() : buffer.Offset() + buffer.Size()]
        return buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
    return None


def io_names(content: bytes) -> tuple[str, str]:
    """The names of the first subgraph's first input and output tensors."""
    graph = view(content).Subgraphs(0)
    return tuple(graph.Tensors(index).Name().decode() for index in (graph.Inputs(0), graph.Outputs(0)))


def builtin_code(model, op) -> int:
    """An operator's builtin code (objects view): the larger of its two fields, as TFLite reads it (codes past
    127 are only in builtinCode; older files fill deprecatedBuiltinCode only)."""
    opcode = model.operatorCodes[op.opcodeIndex]
    return max(opcode.builtinCode, opcode.deprecatedBuiltinCode)


def builtin_names() -> dict[int, str]:
    """TFLite's builtin operator names by code: {9: 'FULLY_CONNECTED', ...}."""
    return {value: name for name, value in vars(schema().BuiltinOperator).items() if not name.startswith("_")}
