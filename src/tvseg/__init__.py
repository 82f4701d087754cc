"""tvseg: TV-regularized softmax for semantic segmentation (Jia, Liu & Tai), and its replication.

Besides the version, the package itself holds the one switch that must act before torch is
first imported: ``TVSEG_REPRODUCIBLE=1`` (or ``reproducible: true`` in the configuration, which
the command line turns into it) pins the CPU kernels' instruction set to AVX2 (oneDNN, ATen and
MKL by their own environment variables, which they read once, on first use) and builds the TV
layer's fused kernel for that ISA without value-changing fast-math (``tvseg.layers``), so a CPU
run gives the same bits on any x86-64 CPU with AVX2 at the same thread count
(docs/reproducing.md: Bit-identical re-runs).
"""

import os

__version__ = "0.1.0"

REPRODUCIBLE_ENV = "TVSEG_REPRODUCIBLE"
# Each library's own cap on the instruction set it dispatches to; AVX2 is the widest that every
# x86-64 CPU of the last decade has (oneDNN picks AVX-512 kernels where it can, and their sums
# round differently).
ISA_PINS = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def reproducible_requested() -> bool:
    """Whether this process was asked for bit-identical CPU results (``TVSEG_REPRODUCIBLE=1``)."""
    return os.environ.get(REPRODUCIBLE_ENV, "0") not in ("", "0", "false", "False")


def pin_instruction_set() -> None:
    """Ask for bit-identical CPU results in this process: set ``TVSEG_REPRODUCIBLE`` and the ISA
    pins, which must happen before torch is imported (they are read once). Where torch is
    already loaded, the pins it would ignore are checked instead, and a mismatch is an error that
    says how to start the process."""
    import sys

    os.environ[REPRODUCIBLE_ENV] = "1"
    if "torch" not in sys.modules:
        for name, value in ISA_PINS.items():
            os.environ[name] = value
        return
    wrong = {name: os.environ.get(name) for name, value in ISA_PINS.items() if os.environ.get(name) != value}
    if wrong:
        raise RuntimeError(
            f"reproducible mode was asked for after torch was imported without its ISA pins ({wrong}); "
            f"import tvseg before torch, or set {', '.join(f'{n}={v}' for n, v in ISA_PINS.items())} "
            "in the environment that starts the process"
        )


if reproducible_requested():
    pin_instruction_set()
