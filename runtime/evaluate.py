"""Accuracy of a predictor, and how far it strays from a reference (the Keras model)."""

from __future__ import annotations

import numpy as np


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = truth, column = prediction."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (truth, predicted), 1)
    return counts


def per_class_accuracy(matrix: np.ndarray) -> list[float]:
    """Accuracy within each true class, from a confusion matrix (row = truth)."""
    matrix = np.asarray(matrix)
    return (np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)).tolist()


def balanced_accuracy(matrix: np.ndarray) -> float:
    """The mean of the recalls of the classes that have images, from a confusion matrix (row = truth): what
    accuracy would be if every class were as common as the others."""
    matrix = np.asarray(matrix)
    present = matrix.sum(axis=1) > 0
    return float(np.mean(np.diag(matrix)[present] / matrix.sum(axis=1)[present]))


def evaluate(predictor, images, labels, reference=None, batch_size: int | None = None, probabilities=None) -> dict:
    """Run predictor over images and score it.

    Args:
        predictor: a runtime Predictor (anything with predict(images, batch_size)).
        images: the images, as predictor.predict takes them.
        labels: the true class of each image, shape (N,).
        reference: optional reference probabilities (N, classes), e.g. the Keras model's.
        probabilities: the predictor's probabilities on images, when the caller already has them (they are
            then not computed again).

    Returns:
        dict with n, accuracy, balanced_accuracy, per_class_accuracy, confusion_matrix, predictions; given a
        reference also reference_accuracy, reference_balanced_accuracy, accuracy_change, agreement,
        max_abs_diff, changed_indices (where the predicted class differs from the reference's).

    Raises:
        ValueError: labels or reference do not match the number of images or classes.
    """
    probs = predictor.predict(images, batch_size=batch_size) if probabilities is None else np.asarray(probabilities)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if len(labels) != len(probs):
        raise ValueError(f"got {len(probs)} images but {len(labels)} labels")
    if len(probs) == 0:
        raise ValueError("cannot evaluate on zero images")
    num_classes = probs.shape[1]
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must be in 0..{num_classes - 1}; got values in [{labels.min()}, {labels.max()}]")
    predicted = probs.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted, num_classes)
    result = {
        "n": int(len(labels)),
        "accuracy": float(np.mean(predicted == labels)),
        "balanced_accuracy": balanced_accuracy(matrix),
        "per_class_accuracy": per_class_accuracy(matrix),
        "confusion_matrix": matrix.tolist(),
        "predictions": predicted,
    }
    if reference is not None:
        reference = np.asarray(reference, dtype=np.float32)
        if reference.shape != probs.shape:
            raise ValueError(f"reference has shape {reference.shape}; expected {probs.shape}, one row per image")
        reference_predicted = reference.argmax(axis=1)
        changed = np.flatnonzero(predicted != reference_predicted)
        reference_accuracy = float(np.mean(reference_predicted == labels))
        result.update(
            reference_accuracy=reference_accuracy,
            reference_balanced_accuracy=balanced_accuracy(confusion_matrix(labels, reference_predicted, num_classes)),
            accuracy_change=result["accuracy"] - reference_accuracy,
            agreement=1.0 - len(changed) / len(labels),
            max_abs_diff=float(np.abs(probs - reference).max()),
            changed_indices=changed.tolist(),
        )
    return result
