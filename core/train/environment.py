"""What a run trained with, recorded with its result: cegbench's version and commit, the
torch and Python versions, the hardware and the device."""

from __future__ import annotations

import functools
import platform
from pathlib import Path

import torch

from cegbench import __version__
from cegbench.provenance import git_commit


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"{cpu_model()} ({torch.get_num_threads()} threads)"


def environment(device: str) -> dict:
    return {
        "cegbench_version": __version__,
        "git_commit": git_commit(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "hardware": hardware(device),
        "device": device,
    }
