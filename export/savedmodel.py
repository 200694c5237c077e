"""What a SavedModel may run before edgeport lets TensorFlow load it: inference operations, nothing else.

A SavedModel is a program. Loading it restores variables and creates its resources (running their
initializers); calling it runs its functions; and which function a name such as `serving_default`
reaches is up to the object graph, not only the signature_def. So the check reads saved_model.pb
with protobuf alone, before anything loads, and applies an allow-list to every function in its
library and to every node of its graph:

- every function runs inference operations only (INFERENCE: arithmetic, neural-network layers,
  shapes, stateless randomness for augmentation layers, control flow, variables);
- the checkpoint functions that tf.saved_model.save writes for its saver (save and restore of the
  model's own variables) may also read and write checkpoints, as long as nothing else calls them;
- resources (hash tables, dataset iterators, files kept as assets) are refused outright: an image
  classifier has none, and their initializers run at load.
"""

from __future__ import annotations

from pathlib import Path

from edgeport.runtime.errors import ModelFileError

SAVEDMODEL_FILE = "saved_model.pb"

# Operations a classifier's inference runs. What is not here (file and network I/O, Python calls, printing,
# datasets, summaries, lookup tables, proto decoding, debug hooks, strings) is refused wherever it appears.
INFERENCE = frozenset({
    # graph plumbing and control flow
    "Const", "Identity", "IdentityN", "NoOp", "Placeholder", "PlaceholderWithDefault", "StatefulPartitionedCall",
    "PartitionedCall", "If", "StatelessIf", "While", "StatelessWhile", "Case", "StatelessCase", "EnsureShape",
    "StopGradient", "PreventGradient", "CheckNumerics", "CheckNumericsV2", "Enter", "Exit", "Merge", "Switch",
    "NextIteration", "LoopCond", "ControlTrigger",
    # the model's own variables
    "VarHandleOp", "ReadVariableOp", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
    "VarIsInitializedOp", "ResourceGather", "VariableV2", "Variable", "Assign", "IsVariableInitialized",
    # shapes and arrays
    "Reshape", "Transpose", "ConjugateTranspose", "ConcatV2", "Concat", "Pack", "Unpack", "Squeeze", "ExpandDims",
    "StridedSlice", "Slice", "Split", "SplitV", "Tile", "Pad", "PadV2", "MirrorPad", "Shape", "ShapeN", "Size",
    "Rank", "Fill", "ZerosLike", "OnesLike", "Range", "GatherV2", "GatherNd", "Gather", "ReverseV2", "BroadcastTo",
    "BroadcastArgs", "BroadcastGradientArgs", "Cast", "Where", "OneHot", "SpaceToDepth", "DepthToSpace",
    "SpaceToBatchND", "BatchToSpaceND", "MatrixBandPart", "MatrixDiagV3", "MatrixDiagPartV3", "Select", "SelectV2",
    "ClipByValue", "ScatterNd", "TensorScatterUpdate", "TensorScatterAdd", "Cumsum", "Cumprod", "TopKV2", "ArgMax",
    "ArgMin", "InvertPermutation", "Diag", "DiagPart", "Reverse", "Bitcast", "EmptyTensorList",
    "TensorListFromTensor", "TensorListGetItem", "TensorListSetItem", "TensorListReserve", "TensorListStack",
    "TensorListLength", "TensorListElementShape", "TensorListPushBack", "TensorListPopBack",
    # arithmetic
    "Add", "AddV2", "AddN", "Sub", "Mul", "MulNoNan", "Div", "DivNoNan", "RealDiv", "FloorDiv", "FloorMod", "Mod",
    "TruncateDiv", "TruncateMod", "Maximum", "Minimum", "Neg", "Abs", "Sign", "Square", "Sqrt", "Rsqrt",
    "Reciprocal", "Inv", "Exp", "Expm1", "Log", "Log1p", "Pow", "SquaredDifference", "Floor", "Ceil", "Round",
    "Rint", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Atan2", "Sinh", "Cosh", "Tanh", "Asinh", "Acosh",
    "Atanh", "Erf", "Erfc", "Erfinv", "Lgamma", "Digamma", "Xlogy", "Xdivy", "Xlog1py", "IsNan", "IsInf",
    "IsFinite", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "ApproximateEqual",
    "LogicalAnd", "LogicalOr", "LogicalNot", "Sum", "Mean", "Max", "Min", "Prod", "All", "Any", "EuclideanNorm",
    "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum", "BiasAdd", "BiasAddV1", "L2Loss",
    "BitwiseAnd", "BitwiseOr", "BitwiseXor", "LeftShift", "RightShift", "Invert",
    # activations and layers
    "Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Sigmoid", "Softplus", "Softsign", "Softmax", "LogSoftmax",
    "Conv2D", "Conv3D", "Conv2DBackpropInput", "Conv3DBackpropInputV2", "DepthwiseConv2dNative", "MaxPool",
    "MaxPoolV2", "MaxPool3D", "AvgPool", "AvgPool3D", "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3",
    "LRN", "Dilation2D", "ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea",
    "ScaleAndTranslate", "ImageProjectiveTransformV2", "ImageProjectiveTransformV3", "CropAndResize",
    "AdjustContrastv2", "AdjustHue", "AdjustSaturation", "RGBToHSV", "HSVToRGB", "ExtractImagePatches",
    "FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxArgs", "FakeQuantWithMinMaxVarsPerChannel",
    "QuantizeAndDequantizeV2", "QuantizeAndDequantizeV3", "QuantizeAndDequantizeV4",
    # randomness (Keras augmentation layers, inactive at inference, still hold it in their graphs)
    "StatelessRandomUniform", "StatelessRandomUniformV2", "StatelessRandomNormal", "StatelessRandomNormalV2",
    "StatelessTruncatedNormal", "StatelessTruncatedNormalV2", "StatelessRandomUniformInt",
    "StatelessRandomUniformIntV2", "StatelessRandomUniformFullInt", "StatelessRandomUniformFullIntV2",
    "StatelessRandomGetKeyCounter", "StatelessRandomGetKeyCounterAlg", "StatelessRandomGetAlg", "RandomUniform",
    "RandomStandardNormal", "RandomUniformInt", "TruncatedNormal", "RngReadAndSkip", "RngSkip",
})
# What tf.saved_model.save's own save and restore functions add: checkpoints of the model's variables.
CHECKPOINT = frozenset({"SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "StringJoin",
                        "StaticRegexFullMatch", "DisableCopyOnRead"})
# TensorFlow's loader holds about 6 KB per operation: 10^6 NoOps (a 19 MB file) took 3.5 minutes and 6.8 GB to
# load. The largest keras.applications model, EfficientNetB7, holds about 32,000 operations.
MAX_OPERATIONS = 200_000
# Object graph kinds that hold what is not a tensor or a variable, created (initializers run) at load.
REFUSED_KINDS = {"resource": "a resource (a lookup table, dataset iterator or the like)", "asset": "an asset file"}


def check_savedmodel(path: Path, trust_code: bool = False) -> None:
    """Refuse a SavedModel that would run anything but inference, before TensorFlow loads it.

    A TF1 SavedModel (no object graph, or several meta graphs) is loaded by TensorFlow's TF1 loader,
    which runs the model's own restore operation (saver_def.restore_op_name) and init operation at
    load: it is refused unless the user trusts its code, and then it is not held to the allow-list (a
    TF1 graph's saver is made of checkpoint operations); the model probe's sandbox still applies.

    Args:
        path: the SavedModel folder.
        trust_code: the user's --trust-model-code.

    Raises:
        ModelFileError: saved_model.pb unreadable, over MAX_OPERATIONS operations, a TF1 SavedModel not
            trusted, a resource or asset, or an operation off the allow-list in any function or graph node
            (one line naming the operations and where they are).
    """
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString((path / SAVEDMODEL_FILE).read_bytes())
    except Exception as e:  # protobuf's DecodeError
        raise ModelFileError(f"{path / SAVEDMODEL_FILE} is not a readable SavedModel: {_one_line(e)}") from None
    operations = sum(len(graph.graph_def.node) + sum(len(f.node_def) for f in graph.graph_def.library.function)
                     for graph in saved.meta_graphs)
    if operations > MAX_OPERATIONS:
        raise ModelFileError(f"{path}: its graphs hold {operations:,} operations, over the {MAX_OPERATIONS:,} edgeport "
                             f"loads (EfficientNetB7 holds about 32,000; TensorFlow needs about 6 KB each): refused")
    if is_tf1(saved):
        if trust_code:
            return
        raise ModelFileError(f"{path}: a TF1 SavedModel (no object graph), whose own restore and init operations "
                             f"TensorFlow runs to load it: refused; re-save it with tf.saved_model.save, or pass "
                             f"--trust-model-code if you trust its code")
    for graph in saved.meta_graphs:
        _check_resources(path, graph)
        found = _off_the_list(graph)
        if found:
            where = sorted({function for functions in found.values() for function in functions})
            raise ModelFileError(
                f"{path}: it would run {', '.join(sorted(found))} (in {', '.join(where[:3])}"
                f"{', ...' if len(where) > 3 else ''}), which no image classifier's inference needs: refused "
                f"(edgeport loads SavedModels made of inference operations only)")


def is_tf1(saved) -> bool:
    """Whether TensorFlow would load a SavedModel proto with its TF1 loader (tf.saved_model.load's own test)."""
    return len(saved.meta_graphs) != 1 or not saved.meta_graphs[0].HasField("object_graph_def")


def _check_resources(path: Path, graph) -> None:
    if graph.asset_file_def:
        raise ModelFileError(f"{path}: it keeps asset files ({graph.asset_file_def[0].filename}), which an image "
                             f"classifier does not need and loading would read: refused")
    for node in graph.object_graph_def.nodes:
        kind = node.WhichOneof("kind")
        if kind in REFUSED_KINDS:
            raise ModelFileError(f"{path}: it holds {REFUSED_KINDS[kind]}, which an image classifier does not need "
                                 f"and whose initializer runs at load: refused")


def _off_the_list(graph) -> dict[str, set[str]]:
    """Operations off the allow-list, each with the functions (or 'the graph') where they are."""
    library = {f.signature.name: f for f in graph.graph_def.library.function}
    saver = {name.split(":")[0] for name in (graph.saver_def.save_tensor_name, graph.saver_def.restore_op_name)
             if name}
    top = list(graph.graph_def.node)
    checkpoint = _reached([name for node in top if node.name in saver for name in _called(node, library)], library)
    roots = [name for node in top if node.name not in saver for name in _called(node, library)]
    roots += [name for name in library if name not in checkpoint]  # any function can be reached by name
    roots += _object_graph_functions(graph)
    inference = _reached(roots, library)
    found: dict[str, set[str]] = {}
    for node in top:
        if node.op not in INFERENCE and node.op not in library:
            found.setdefault(node.op, set()).add("the graph")
    for name, function in library.items():
        allowed = INFERENCE | CHECKPOINT if name in checkpoint and name not in inference else INFERENCE
        for node in function.node_def:
            if node.op not in allowed and node.op not in library:
                found.setdefault(node.op, set()).add(name)
    return found


def _object_graph_functions(graph) -> list[str]:
    """The concrete functions the object graph names (what an attribute such as `serving_default` calls)."""
    names = list(graph.object_graph_def.concrete_functions)
    for node in graph.object_graph_def.nodes:
        kind = node.WhichOneof("kind")
        if kind == "function":
            names += list(node.function.concrete_functions)
        elif kind == "bare_concrete_function":
            names.append(node.bare_concrete_function.concrete_function_name)
        for saveable in node.saveable_objects.values():  # custom save/restore functions, run at load
            names += [graph.object_graph_def.nodes[i].bare_concrete_function.concrete_function_name
                      for i in (saveable.save_function, saveable.restore_function)
                      if 0 < i < len(graph.object_graph_def.nodes)]
    return names


def _reached(roots: list[str], library: dict) -> set[str]:
    """The library functions roots call, through every function they call in turn."""
    seen, pending = set(), list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name not in library:
            continue
        seen.add(name)
        for node in library[name].node_def:
            pending += _called(node, library)
    return seen


def _called(node, library: dict) -> list[str]:
    """The functions a node calls: by its attributes (PartitionedCall's f, While's body, If's branches, ...)
    or as its operation."""
    names = [node.op] if node.op in library else []
    for value in node.attr.values():
        if value.HasField("func"):
            names.append(value.func.name)
        names += [f.name for f in value.list.func]
    return names


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300]
