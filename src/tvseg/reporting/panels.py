"""The qualitative panels (Figures 1/3/5/7): image, truth and each method's label map, a row per
condition and image, with the dataset's class colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tvseg.core.layout import method_from_panel_kind
from tvseg.reporting.figures import plt, save_figure
from tvseg.reporting.results import method_order


def plot_qualitative(
    panel_dirs: list[Path],
    out_png: Path,
    conditions: tuple[str, ...],
    max_images: int = 2,
    dataset: str | None = None,
) -> None:
    """Image, truth and each method's label map, rows per condition and image (Figures 1/3/5/7);
    with ``dataset``, a legend of its classes' colours below."""
    from matplotlib.patches import Patch
    from PIL import Image

    rows = []
    for condition in conditions:
        images: dict[str, dict[str, Path]] = {}
        for folder in panel_dirs:
            for path in sorted((Path(folder) / condition).glob("*.png")):
                image_id, kind = path.stem.split("__", 1)  # ids may contain single underscores
                kind = method_from_panel_kind(kind)
                images.setdefault(image_id, {})[kind] = path
        for image_id in sorted(images)[:max_images]:
            rows.append((condition, image_id, images[image_id]))
    if not rows:
        raise ValueError(f"no predicted label maps found under {panel_dirs}")
    kinds = ["image", "truth"] + method_order({k for _, _, found in rows for k in found} - {"image", "truth"})
    fig, axes = plt.subplots(len(rows), len(kinds), figsize=(1.9 * len(kinds), 1.9 * len(rows)), squeeze=False)
    for r, (condition, image_id, found) in enumerate(rows):
        for c, kind in enumerate(kinds):
            ax = axes[r][c]
            ax.axis("off")
            if kind in found:
                ax.imshow(np.asarray(Image.open(found[kind])))
            if r == 0:
                ax.set_title(kind, fontsize=8)
        axes[r][0].text(-0.08, 0.5, f"{condition}\n{image_id}", transform=axes[r][0].transAxes, ha="right",
                        va="center", fontsize=7)  # fmt: skip
    fig.tight_layout()
    if dataset is not None:
        from tvseg.datasets.specs import get_spec

        spec = get_spec(dataset)
        handles = [
            Patch(facecolor=np.asarray(colour) / 255, edgecolor="0.3", linewidth=0.3, label=name)
            for name, colour in zip(spec.classes, spec.colours, strict=True)
        ]
        columns = min(len(handles), max(2, len(kinds) * 2))
        legend_rows = -(-len(handles) // columns)
        height = fig.get_figheight()
        fig.set_figheight(height + 0.25 * legend_rows + 0.1)
        fig.subplots_adjust(bottom=(0.25 * legend_rows + 0.1) / fig.get_figheight())
        fig.legend(handles=handles, loc="lower center", ncol=columns, fontsize=7, frameon=False)
    save_figure(fig, out_png, None, dpi=150)
