"""Seeding: one seed fixes model initialisation, data order and augmentation on the CPU."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's global RNG and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def worker_init(worker_id: int) -> None:
    """DataLoader worker setup: one torch thread per worker (no nested intra-op parallelism; the decoders
    already use one thread each), so N workers use N cores."""
    del worker_id
    torch.set_num_threads(1)
