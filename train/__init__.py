"""edgeport training: the TensorFlow tutorial's Fashion-MNIST classifier (TensorFlow imported lazily)."""

from edgeport.train.model import ARCHS, build_model
from edgeport.train.training import TrainConfig, train

__all__ = ["ARCHS", "TrainConfig", "build_model", "train"]
