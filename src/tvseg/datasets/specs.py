"""What each dataset is: classes, colours, label decoding and the paper's split sizes."""

from __future__ import annotations

from dataclasses import dataclass

IGNORE_INDEX = 255  # prepared label maps use 0..C-1 for classes and this value for "ignore"


def _voc_palette(n: int) -> list[tuple[int, int, int]]:
    """PASCAL VOC's bit-interleaved palette, skipping its black entry."""
    colours = []
    for index in range(1, n + 1):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        colours.append((r, g, b))
    return colours


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    classes: tuple[str, ...]
    colours: tuple[tuple[int, int, int], ...]
    native_size: tuple[int, int] | None  # (H, W); None where images vary

    @property
    def num_classes(self) -> int:
        return len(self.classes)


WBC = DatasetSpec(
    name="wbc",
    classes=("background", "cytoplasm", "nucleus"),
    colours=((0, 0, 0), (128, 128, 128), (255, 255, 255)),  # the masks' own grey levels
    native_size=(300, 300),
)
# WBC masks store classes as grey levels 0/128/255. A few upstream masks (034, 035, 047, 050,
# 076) hold stray values up to 50 from anti-aliasing; a value within this distance of a level
# takes that level's class, and any other value is an error.
WBC_MASK_LEVELS = (0, 128, 255)
WBC_MASK_TOLERANCE = 50

CAMVID = DatasetSpec(
    name="camvid",
    classes=(
        "sky", "building", "pole", "road", "pavement", "tree",
        "sign_symbol", "fence", "car", "pedestrian", "bicyclist",
    ),
    colours=(
        (128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222), (128, 128, 0),
        (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192),
    ),
    native_size=(360, 480),
)  # fmt: skip
CAMVID_VOID = 11

SUNRGBD = DatasetSpec(
    name="sunrgbd",
    classes=(
        "wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf",
        "picture", "counter", "blinds", "desk", "shelves", "curtain", "dresser", "pillow", "mirror",
        "floor_mat", "clothes", "ceiling", "books", "fridge", "tv", "paper", "towel", "shower_curtain",
        "box", "whiteboard", "person", "night_stand", "toilet", "sink", "lamp", "bathtub", "bag",
    ),
    colours=tuple(_voc_palette(37)),
    native_size=None,
)  # fmt: skip
SUNRGBD_UNLABELLED = 0  # raw label 0; raw labels 1..37 are the classes

SPECS = {spec.name: spec for spec in (WBC, CAMVID, SUNRGBD)}


def get_spec(name: str) -> DatasetSpec:
    if name not in SPECS:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(SPECS)}")
    return SPECS[name]
