"""python -m train: train the Fashion-MNIST classifier and save the model, history and plots."""

from __future__ import annotations

import os

from runtime.cli_util import Parser, positive_int, quiet_stderr, run


def main() -> int:
    parser = Parser(prog="python -m train", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("--arch", choices=("mlp", "cnn"), default="mlp",
                        help="mlp: the tutorial's Flatten-Dense(128)-Dense(10); cnn: a small conv net (default mlp)")
    parser.add_argument("--epochs", type=positive_int, default=5, help="training epochs (default 5)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="images per step (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats the run (default 0)")
    parser.add_argument("--out", default="artifacts", help="folder for model.keras, history.json and plots")
    parser.add_argument("--data-dir", default=None,
                        help="folder with the Fashion-MNIST *-ubyte.gz files (default: $FASHION_MNIST_DIR, "
                             "then /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--no-plots", action="store_true", help="skip the tutorial's pictures")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_stderr():
        import keras  # noqa: F401 (imported here, quietly, for its C++ start-up lines)
    from train.training import train

    _, history = train(epochs=args.epochs, arch=args.arch, out_dir=args.out, seed=args.seed,
                       batch_size=args.batch_size, data_dir=args.data_dir, plots=not args.no_plots)
    print(f"Wrote {args.out}/model.keras ({history['params']:,} parameters, "
          f"test accuracy {history['test_accuracy']:.4f}, {history['train_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    run("python -m train", main)
