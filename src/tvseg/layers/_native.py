"""Builds and calls the fused C kernel (``_kernels.c``) on the CPU: the forward, its backward and the solver's steps.

The kernel is compiled on first use with the system C compiler into a per-user cache
(``$TVSEG_CACHE`` or ``~/.cache/tvseg``), keyed by the source, the flags and the CPU, and
loaded with ctypes: no build step at install time and no torch headers. Where no compiler
is found, or ``TVSEG_NATIVE=0``, :func:`native_available` is False and callers fall back to
the torch implementation, which gives the same values up to rounding.

By default it is built for this CPU (``-march=native``) with fast-math, which vectorizes exp.
Under ``TVSEG_REPRODUCIBLE=1`` (``tvseg.reproducible_requested``) it is built for x86-64-v3
(AVX2, FMA) without value-changing fast-math, and the backward's per-chunk sums are taken over a
fixed number of row chunks, so its results are the same bits on any AVX2 CPU and at any thread
count. :func:`native_build` says which build a process uses.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from functools import cache, lru_cache
from pathlib import Path

import torch
from torch import Tensor

from tvseg import reproducible_requested

_HERE = Path(__file__).parent
_SOURCES = ("_kernels.c", "_kernels_body.h")
# -ffast-math lets gcc vectorize exp through glibc's libmvec (hence -lm); the inputs are
# checked finite before the kernel runs, so its no-NaN assumption holds.
_FLAGS = ["-O3", "-march=native", "-ffast-math", "-fopenmp", "-shared", "-fPIC"]
# Reproducible: one fixed ISA, and only the value-preserving part of fast-math (no errno; FMA
# contraction is fixed by the ISA); exp is then glibc's scalar one, the same on every CPU.
_REPRODUCIBLE_FLAGS = ["-O3", "-march=x86-64-v3", "-mtune=generic", "-fno-math-errno", "-fopenmp", "-shared", "-fPIC"]
# x86-64-v3's instructions the reproducible build may use (as /proc/cpuinfo names them).
_V3_CPU_FLAGS = {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "movbe", "xsave"}
# The backward's partial sums per row chunk: a fixed count under reproducibility, so their order
# does not follow the thread count (tv_set_row_chunks in _kernels.c).
REPRODUCIBLE_ROW_CHUNKS = 8
_LINK = ["-lm"]
_TYPES = {torch.float32: ("f32", ctypes.c_float), torch.float64: ("f64", ctypes.c_double)}


def _cpu_signature() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        models = [line for line in text.splitlines() if line.startswith(("model name", "flags"))]
        return "\n".join(sorted(set(models)))
    except OSError:
        return platform.processor()


def _cache_dir() -> Path:
    return Path(os.environ.get("TVSEG_CACHE", Path.home() / ".cache" / "tvseg"))


def _cpu_has_v3() -> bool:
    """Whether every core's flags (as _cpu_signature reads them) include x86-64-v3's."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return False
    flag_lines = [line for line in _cpu_signature().splitlines() if line.startswith("flags")]
    return bool(flag_lines) and all(set(line.split(":", 1)[1].split()) >= _V3_CPU_FLAGS for line in flag_lines)


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


@lru_cache(maxsize=1)
def _build() -> dict:
    """The kernel's build for this process: ``compiler``, ``flags`` and ``fixed_row_chunks``, or
    ``compiler`` None and the ``reason`` why the torch implementation runs instead."""
    if os.environ.get("TVSEG_NATIVE", "1") == "0":
        return {"compiler": None, "reason": "TVSEG_NATIVE=0"}
    compiler = _compiler()
    if compiler is None:
        return {"compiler": None, "reason": "no C compiler"}
    if not reproducible_requested():
        return {"compiler": compiler, "flags": _FLAGS, "fixed_row_chunks": 0}
    if not _cpu_has_v3():
        warnings.warn(
            "tvseg: reproducible mode needs an x86-64 CPU with AVX2 and FMA (x86-64-v3) for the fused kernel; "
            "this one has none, so the torch path runs (its results are not pinned)",
            RuntimeWarning,
            stacklevel=4,
        )
        return {"compiler": None, "reason": "reproducible mode on a CPU without x86-64-v3"}
    return {"compiler": compiler, "flags": _REPRODUCIBLE_FLAGS, "fixed_row_chunks": REPRODUCIBLE_ROW_CHUNKS}


def native_build() -> str:
    """What computes the TV layer on the CPU in this process, in words: the compiler, its version
    and flags of the fused kernel, or why the torch implementation runs instead."""
    build = _build()
    if build["compiler"] is None or _library() is None:
        return f"torch implementation ({build.get('reason', 'the kernel failed to build or load')})"
    version = _compiler_version(build["compiler"])
    chunks = f", {build['fixed_row_chunks']} fixed row chunks" if build["fixed_row_chunks"] else ""
    return f"fused kernel: {version} {' '.join(build['flags'])}{chunks}"


@cache
def _compiler_version(compiler: str) -> str:
    try:
        result = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False, timeout=30)
        return result.stdout.splitlines()[0].strip() if result.stdout else compiler
    except (OSError, subprocess.SubprocessError):
        return compiler


def row_chunks(threads: int) -> int:
    """How many row chunks the kernel splits each item into at ``threads`` threads (as ROW_CHUNKS in C)."""
    fixed = _build().get("fixed_row_chunks", 0)
    return fixed if fixed else max(threads, 1)


@lru_cache(maxsize=1)
def _library():
    build = _build()
    compiler = build["compiler"]
    if compiler is None:
        return None
    flags = build["flags"]
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((_HERE / name).read_bytes())
    digest.update(" ".join([compiler, *flags, *_LINK, _cpu_signature()]).encode())
    target = _cache_dir() / f"tv_kernels_{digest.hexdigest()[:16]}.so"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            built = Path(tmp) / target.name
            result = subprocess.run(
                [compiler, *flags, "-o", str(built), str(_HERE / "_kernels.c"), *_LINK],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                warnings.warn(
                    f"tvseg: building the fused CPU kernel failed, using the torch path instead:\n{result.stderr}",
                    RuntimeWarning,
                    stacklevel=3,
                )
                return None
            os.replace(built, target)  # atomic, so parallel first uses never load half a file
    try:
        library = ctypes.CDLL(str(target))
    except OSError as error:
        warnings.warn(
            f"tvseg: loading the fused CPU kernel failed, using the torch path instead: {error}",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    pointer, size = ctypes.c_void_p, ctypes.c_long
    library.tv_set_row_chunks.restype = None
    library.tv_set_row_chunks.argtypes = [size]
    library.tv_set_row_chunks(build["fixed_row_chunks"])
    library.tv_sum_partials.restype = None
    library.tv_sum_partials.argtypes = [pointer, size, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double)]
    for suffix, real in _TYPES.values():
        forward = getattr(library, f"tv_softmax_forward_{suffix}")
        forward.restype = ctypes.c_int
        forward.argtypes = [pointer] * 6 + [size] * 4 + [real, real, size, ctypes.c_int]
        backward = getattr(library, f"tv_softmax_backward_range_{suffix}")
        backward.restype = ctypes.c_int
        backward.argtypes = (
            [pointer, pointer, size, size] + [pointer] * 4 + [ctypes.POINTER(ctypes.c_int)] + [pointer] * 2
            + [size] * 4 + [real, real, size, ctypes.c_int]
        )  # fmt: skip
        adjoint = getattr(library, f"tv_adjoint_apply_{suffix}")
        adjoint.restype = ctypes.c_int
        adjoint.argtypes = [pointer] * 7 + [size] * 4 + [real, ctypes.c_int]
        dual_step = getattr(library, f"tv_dual_step_{suffix}")
        dual_step.restype = ctypes.c_int
        dual_step.argtypes = [pointer] * 3 + [size] * 4 + [real, real, ctypes.c_int]
    return library


def native_available() -> bool:
    return _library() is not None


def native_supports(logits: Tensor) -> bool:
    return logits.device.type == "cpu" and logits.dtype in _TYPES and native_available()


def all_finite(x: Tensor) -> bool:
    # One pass and no temporaries; an overflowing sum only sends finite input to the torch path.
    return bool(torch.isfinite(x.sum()))


def native_usable(x: Tensor) -> bool:
    """The kernels are built with -ffast-math, which assumes finite values; others take the torch path."""
    return native_supports(x) and all_finite(x)


_scratch = threading.local()


def _scratch_buffer(role: str, shape: tuple, like: Tensor) -> Tensor:
    """A scratch tensor reused across calls with the same shape and dtype.

    A training loop calls the layer with one shape over and over; fresh buffers of tens of MB
    would be page-faulted in on every call, which costs more than the kernels themselves.
    Buffers are per thread, so concurrent calls from different threads never share one.
    """
    cache = _scratch.__dict__.setdefault("buffers", {})
    buffer = cache.get(role)
    if buffer is None or buffer.shape != shape or buffer.dtype != like.dtype:
        buffer = like.new_empty(shape)
        cache[role] = buffer
    return buffer


def _check(status: int) -> None:
    if status != 0:
        raise MemoryError("tvseg: the fused kernel could not allocate its row buffers")


def _forward(logits: Tensor, lam: float, step: float, iters: int, keep_duals: bool = False, start=None, probs=True):
    """``iters`` iterations from the dual ``start`` (None: zero): the probabilities (None without
    ``probs``), the stacked pre-projection duals if kept (a scratch buffer), and the last dual (a
    scratch buffer too)."""
    suffix, _ = _TYPES[logits.dtype]
    b, c, h, w = logits.shape
    # A second dual buffer is needed only from the second iteration on.
    duals = _scratch_buffer("duals", (2 if iters > 1 else 1, b, c, 2, h, w) if iters else (1, 1), logits)
    xi_store = _scratch_buffer("xi", (iters, b, c, 2, h, w), logits) if keep_duals and iters else None
    out = torch.empty_like(logits) if probs else None
    status = getattr(_library(), f"tv_softmax_forward_{suffix}")(
        logits.data_ptr(), start.data_ptr() if start is not None else None, duals[0].data_ptr(),
        duals[-1].data_ptr(), xi_store.data_ptr() if xi_store is not None else None,
        out.data_ptr() if out is not None else None,
        b, c, h, w, lam, step, iters, torch.get_num_threads(),
    )  # fmt: skip
    _check(status)
    last = start if iters == 0 else duals[0] if iters % 2 else duals[-1]
    return out, xi_store, last


def tv_softmax_native(logits: Tensor, lam: float, step: float, iters: int) -> Tensor:
    """``iters`` iterations of Eq. 3.8 in the fused kernel, without autograd: the probabilities."""
    return _forward(logits.detach().contiguous(), lam, step, iters)[0]


class _ReverseSweep:
    """The backward's state carried from segment to segment: the adjoint duals, the logits'
    gradient and the per-chunk partial sums of lambda's and the step's."""

    def __init__(self, logits: Tensor, grad_probs: Tensor, lam: float, step: float, iters: int):
        self.logits, self.grad_probs, self.lam, self.step, self.iters = logits, grad_probs, lam, step, iters
        b, c, h, w = logits.shape
        self.threads = torch.get_num_threads()  # the chunking, so the partial sums' layout, follows it
        self.work = _scratch_buffer("adjoint", (3 if iters > 1 else 2, b, c, 2, h, w) if iters else (2, 1), logits)
        self.grad_logits = torch.zeros_like(logits)
        self.partial = torch.zeros(2 * b * row_chunks(self.threads), dtype=torch.float64)
        self.g_next = ctypes.c_int(-1)

    def run(self, xi_segment, first: int, last: int) -> None:
        """Iterations last .. first+1 (and 0 where first is 0), with xi^(first+1)..xi^last."""
        suffix, _ = _TYPES[self.logits.dtype]
        b, c, h, w = self.logits.shape
        status = getattr(_library(), f"tv_softmax_backward_range_{suffix}")(
            self.logits.data_ptr(), xi_segment.data_ptr() if xi_segment is not None else None, first, last,
            self.grad_probs.data_ptr(), self.work[0].data_ptr(), self.work[1].data_ptr(), self.work[-1].data_ptr(),
            ctypes.byref(self.g_next), self.grad_logits.data_ptr(), self.partial.data_ptr(),
            b, c, h, w, self.lam, self.step, self.iters, self.threads,
        )  # fmt: skip
        _check(status)

    def gradients(self):
        grad_lam, grad_step = ctypes.c_double(), ctypes.c_double()
        _library().tv_sum_partials(
            self.partial.data_ptr(), self.partial.numel() // 2, ctypes.byref(grad_lam), ctypes.byref(grad_step)
        )
        return self.grad_logits, grad_lam.value, grad_step.value


def tv_softmax_native_gradients(logits: Tensor, grad_probs: Tensor, lam: float, step: float, iters: int, segment: int):
    """Gradients of ``<grad_probs, tv_softmax(logits)>`` for logits, lambda and step, holding the
    duals of ``segment`` iterations at a time (``segment >= iters``: all of them, one sweep): a
    pass keeps the dual at each segment's start, then each segment, the last first, is run again
    from there with its duals kept, and swept back. About T / segment + segment duals instead of
    T, for T more iterations; the same numbers bit for bit (the kernel goes on from a dual as the
    run that reached it did, and the partial sums keep their order)."""
    logits = logits.detach().contiguous()
    starts, dual = {0: None}, None
    for first in range(segment, iters, segment):
        dual = _forward(logits, lam, step, segment, start=dual, probs=False)[2].clone()
        starts[first] = dual
    sweep = _ReverseSweep(logits, grad_probs.detach().to(logits.dtype).contiguous(), lam, step, iters)
    last = iters
    for first in sorted(starts, reverse=True):
        sweep.run(_forward(logits, lam, step, last - first, True, starts[first], probs=False)[1], first, last)
        last = first
    return sweep.gradients()


def tv_adjoint_apply_native(probs: Tensor, unit: Tensor, scale: Tensor, y: Tensor, sl: float) -> Tensor:
    """``y - K(K y + sl * grad(J_S div(K y)))``, the implicit backward's operator (``_implicit.py``).

    All arguments contiguous, on the CPU, of one dtype; ``scale`` has the shape of ``probs``.
    """
    suffix, _ = _TYPES[probs.dtype]
    b, c, h, w = probs.shape
    ky = _scratch_buffer("adjoint_ky", tuple(y.shape), y)
    jbuf = _scratch_buffer("adjoint_j", tuple(probs.shape), probs)
    out = torch.empty_like(y)
    status = getattr(_library(), f"tv_adjoint_apply_{suffix}")(
        probs.data_ptr(), unit.data_ptr(), scale.data_ptr(), y.data_ptr(), ky.data_ptr(), jbuf.data_ptr(),
        out.data_ptr(), b, c, h, w, sl, torch.get_num_threads(),
    )  # fmt: skip
    _check(status)
    return out


def tv_dual_step_native(logits: Tensor, point: Tensor, lam: float, step: float, out: Tensor | None = None) -> Tensor:
    """``P(point - step * grad(softmax(logits - lam * div(point))))``, one step of the solver,
    into ``out`` (contiguous, not ``point``) when given."""
    suffix, _ = _TYPES[logits.dtype]
    b, c, h, w = logits.shape
    if out is None or out.data_ptr() == point.data_ptr() or not out.is_contiguous():
        out = torch.empty_like(point)
    status = getattr(_library(), f"tv_dual_step_{suffix}")(
        logits.data_ptr(), point.data_ptr(), out.data_ptr(), b, c, h, w, lam, step, torch.get_num_threads()
    )
    _check(status)
    return out
