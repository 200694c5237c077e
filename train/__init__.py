"""edgeport training: the TensorFlow tutorial's Fashion-MNIST classifier (TensorFlow imported lazily)."""

from train.model import ARCHS, build_model
from train.training import TrainConfig, train

__all__ = ["ARCHS", "TrainConfig", "build_model", "train"]
