"""What one test condition of an evaluation costs, part by part, measured side by side in one run.

    python benchmarks/bench_evaluation_parts.py --plain results/cpu/runs/unet_wbc_clean/seed0/model.pt \
        --regularized results/cpu/runs/runet_wbc_clean/seed0/model.pt --data data/prepared/cpu/wbc \
        [--images 8] [--repeats 3] [--threads 2] [--conditions 14]

Per test image, interleaved (median of ``--repeats``): the noise, the network one image at a
time and 8 at once, each head a run's evaluation applies (the plain run's softmax and its two
post-TV heads, the regularized run's own TV head) one image at a time and 8 at once, and the
scoring (confusion matrix, RE). Then what one condition costs a plain and a regularized run's
evaluation over the whole test set, each part's share, and the projection to ``--conditions``
conditions: the plain run pays for two 100-iteration post-TV heads (fixed and validated lambda)
where the regularized run has one head of the same kind, so it costs more.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_tv_softmax import interleaved_medians  # noqa: E402

from tvseg.core.settings import TVSettings  # noqa: E402
from tvseg.datasets.inputs import to_input  # noqa: E402
from tvseg.datasets.noise import add_noise, to_unit  # noqa: E402
from tvseg.datasets.prepare import PreparedSplit  # noqa: E402
from tvseg.engine.metrics import confusion_matrix, regularization_effect  # noqa: E402
from tvseg.models import load_trained, tv_head  # noqa: E402

POST_TV = {"lam": 1.0, "step": 0.25, "iters": 100}  # config.yaml's post_tv: both post-TV heads cost this


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", type=Path, required=True, help="a plain run's model.pt")
    parser.add_argument("--regularized", type=Path, required=True, help="a regularized run's model.pt")
    parser.add_argument("--data", type=Path, required=True, help="their prepared dataset")
    parser.add_argument("--images", type=int, default=8, help="test images timed (a multiple of 8)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--conditions", type=int, default=14, help="conditions of the evaluation to project")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    split = PreparedSplit(args.data, "test")
    indices = list(range(args.images))
    plain, _ = load_trained(args.plain, "cpu")
    regularized, _ = load_trained(args.regularized, "cpu")
    post_tv = tv_head(TVSettings.for_post_tv(POST_TV)).eval()
    noisy = np.stack([_noisy(split, i) for i in indices])
    with torch.no_grad():
        logits = plain.logits(to_input(noisy, "cpu"))
        labels = logits.argmax(dim=1).numpy().astype(np.uint8)
        truths = [np.asarray(split.label(i)) for i in indices]
        parts = {
            "noise": lambda: [_noisy(split, i) for i in indices],
            "network, 1 at a time": lambda: [plain.logits(to_input(noisy[i : i + 1], "cpu")) for i in indices],
            "network, 8 at once": lambda: [plain.logits(to_input(noisy[i : i + 8], "cpu")) for i in indices[::8]],
            "softmax head": lambda: [plain.head(x) for x in logits.split(1)],
            "post-TV head, 1 at a time": lambda: [post_tv(x) for x in logits.split(1)],
            "post-TV head, 8 at once": lambda: [post_tv(x) for x in logits.split(8)],
            "own TV head, 1 at a time": lambda: [regularized.head(x) for x in logits.split(1)],
            "scoring (confusion, RE)": lambda: [
                (confusion_matrix(p, t, len(split.manifest["classes"]), 255), regularization_effect(p))
                for p, t in zip(labels, truths, strict=True)
            ],
        }
        seconds = interleaved_medians(parts, args.repeats, torch.device("cpu"))
    per_image = {name: s / len(indices) for name, s in seconds.items()}
    _report(args, split, per_image)


def _noisy(split: PreparedSplit, i: int) -> np.ndarray:
    return add_noise(to_unit(split.image(i)), split.ids[i], "gaussian", 0.09, 0, "variance")


def _report(args, split: PreparedSplit, per_image: dict[str, float]) -> None:
    size = "x".join(str(n) for n in split.image(0).shape[:2])
    print(f"one condition's evaluation, part by part: {len(split.ids)} test images of {size}, "
          f"{args.threads} threads, {args.images} images timed (median of {args.repeats}, interleaved)")  # fmt: skip
    for name, seconds in per_image.items():
        print(f"  {name:28s} {seconds * 1000:8.1f} ms/image")
    shared = per_image["noise"] + per_image["network, 1 at a time"]
    scoring = per_image["scoring (confusion, RE)"]
    runs = {
        "plain run (softmax, post-TV, post-TV-val)": shared + per_image["softmax head"]
        + 2 * per_image["post-TV head, 1 at a time"] + 3 * scoring,
        "regularized run (its TV head)": shared + per_image["own TV head, 1 at a time"] + scoring,
    }  # fmt: skip
    for name, seconds in runs.items():
        condition = seconds * len(split.ids)
        print(f"{name}: {condition:.1f} s per condition, {condition * args.conditions / 60:.1f} min for "
              f"{args.conditions} conditions; the network's share {per_image['network, 1 at a time'] / seconds:.2f}")  # fmt: skip
    ratio = runs["plain run (softmax, post-TV, post-TV-val)"] / runs["regularized run (its TV head)"]
    print(f"plain / regularized per condition: {ratio:.2f}; one post-TV head / the regularized run's own head: "
          f"{per_image['post-TV head, 1 at a time'] / per_image['own TV head, 1 at a time']:.2f}")  # fmt: skip
    print(f"network 8 at once / 1 at a time: {per_image['network, 8 at once'] / per_image['network, 1 at a time']:.2f}; "
          f"post-TV 8 at once / 1 at a time: "
          f"{per_image['post-TV head, 8 at once'] / per_image['post-TV head, 1 at a time']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
