"""Evaluation of one trained run with the network over several test images at once, against one
at a time, measured side by side in one run.

    python benchmarks/bench_evaluate.py --model results/cpu/runs/segnet_camvid_clean/seed0/model.pt \
        --data data/prepared/cpu/camvid [--images 40] [--batch 8] [--repeats 3] [--threads 2]

A plain run (its softmax, post-TV at two lambdas: the three heads a plain run's evaluation
has) on the first ``--images`` test images, clean and under gaussian noise; prints the median
seconds of ``evaluate_run`` with ``network_batch`` 1 and ``--batch``, their ratio, and whether
the two evaluations wrote the same bytes (batched convolutions round differently, so a near-tie
pixel can change, and with it a few values).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_tv_softmax import interleaved_medians  # noqa: E402

from tvseg.core.settings import Condition, EvaluationSettings  # noqa: E402
from tvseg.datasets.prepare import PreparedSplit  # noqa: E402
from tvseg.engine.evaluate import evaluate_run  # noqa: E402

POST_TV = {"": {"lam": 1.0, "step": 0.25, "iters": 100}, "-val": {"lam": 2.0, "step": 0.25, "iters": 100}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a plain run's model.pt")
    parser.add_argument("--data", type=Path, required=True, help="its prepared dataset")
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ids = PreparedSplit(args.data, "test").ids[: args.images]
    conditions = [Condition("clean", 0.0), Condition("gaussian", 0.05, "variance")]
    out = Path(tempfile.mkdtemp(prefix="bench_evaluate-"))

    def evaluate(batch: int):
        settings = EvaluationSettings(tuple(conditions), post_tv=POST_TV, image_ids=tuple(ids), network_batch=batch)
        run = args.model.parent.parent.name
        return lambda: evaluate_run(args.model, args.data, out / f"batch{batch}.csv", settings, run=run, progress=False,
                                    device="cpu")  # fmt: skip

    medians = interleaved_medians(
        {"one image at a time": evaluate(1), f"{args.batch} at once": evaluate(args.batch)},
        args.repeats, torch.device("cpu"),
    )  # fmt: skip
    one, batched = medians["one image at a time"], medians[f"{args.batch} at once"]
    one_rows = (out / "batch1.csv").read_text().splitlines()
    batched_rows = (out / f"batch{args.batch}.csv").read_text().splitlines()
    differing = sum(a != b for a, b in zip(one_rows, batched_rows, strict=True))
    same = differing == 0
    print(f"evaluation of {args.model} on {len(ids)} test images x {len(conditions)} conditions, 3 heads, "
          f"{args.threads} threads (median of {args.repeats}, interleaved)")  # fmt: skip
    print(f"network one image at a time: {one:.2f} s; {args.batch} at once: {batched:.2f} s; ratio {batched / one:.3f}")
    print(f"the same evaluation bytes: {same} ({differing} of {len(one_rows) - 1} values differ)")


if __name__ == "__main__":
    main()
