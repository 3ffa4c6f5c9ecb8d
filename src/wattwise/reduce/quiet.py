"""Keep other libraries' warnings, log lines and progress bars out of the lab's output (shown with --verbose).

What it silences: Python warnings; the loggers of transformers, torch, torchao, onnxruntime's quantization
("Please consider to run pre-processing", logged on the root logger), huggingface_hub; transformers' and
huggingface_hub's tqdm bars ("Loading weights", "Writing model shards"); ONNX Runtime's C++ log below errors.
torchao's prebuilt C extensions (CUDA kernels and a Python 3.10 build in some wheels) are not loaded on a
machine without CUDA: the CPU paths the lab uses do not need them, and loading them printed "Failed to load".
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator

_LOGGERS = ("transformers", "torch", "torchao", "onnxruntime", "onnx", "huggingface_hub", "onnxscript", "")


def prepare_imports() -> None:
    """Before torch/transformers are imported: keep torchao from loading C extensions when CUDA is absent
    (transformers imports torchao when it is installed) and keep its import quiet."""
    if not _has_cuda_driver():
        os.environ.setdefault("TORCHAO_FORCE_SKIP_LOADING_SO_FILES", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def _has_cuda_driver() -> bool:
    return any(os.path.exists(p) for p in ("/dev/nvidia0", "/dev/nvidiactl", "/proc/driver/nvidia"))


@contextlib.contextmanager
def quiet(verbose: bool = False) -> Iterator[None]:
    """Silence foreign warnings, log lines and progress bars inside the block unless ``verbose``."""
    prepare_imports()
    if verbose:
        yield
        return
    with contextlib.suppress(ImportError):
        import torch  # noqa: F401  (torch's import configures its loggers: set ours after it)
    saved = {name: logging.getLogger(name).level for name in _LOGGERS}
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    bars = _progress_bars(False)
    ort_level = _ort_severity(3)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
        _progress_bars(bars)
        _ort_severity(ort_level)


def _progress_bars(enable: bool | None) -> bool | None:
    """Turn transformers' and huggingface_hub's bars on/off; returns the previous state (None: unknown)."""
    if enable is None:
        return None
    prev: bool | None = None
    with contextlib.suppress(Exception):
        from transformers.utils import logging as tlog

        prev = tlog.is_progress_bar_enabled()
        (tlog.enable_progress_bar if enable else tlog.disable_progress_bar)()
    with contextlib.suppress(Exception):
        import huggingface_hub.utils as hub

        (hub.enable_progress_bars if enable else hub.disable_progress_bars)()
    return prev


def _ort_severity(level: int | None) -> int | None:
    """Set ONNX Runtime's default logger severity (3: errors only); returns 2 (its default) to restore."""
    if level is None:
        return None
    with contextlib.suppress(Exception):
        import onnxruntime

        onnxruntime.set_default_logger_severity(level)
        return 2
    return None
