"""gather() without a process group, and the 2-process torchrun check (gloo, CPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pairgen import losses, negatives

ROOT = Path(__file__).resolve().parents[1]


def test_gather_without_process_group_is_identity_with_gradients():
    assert not negatives.is_distributed()
    z = torch.randn(4, 3, requires_grad=True)
    gathered = negatives.gather(z)
    assert gathered is z
    losses.info_nce(gathered, negatives.gather(torch.randn(4, 3))).backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    ids = torch.arange(4)
    assert negatives.gather(ids) is ids


def test_gather_rejects_non_tensors():
    with pytest.raises(ValueError, match="tensor"):
        negatives.gather([1, 2])
    with pytest.raises(ValueError, match="at least one dimension"):
        negatives.gather(torch.tensor(1.0))


@pytest.mark.slow
def test_torchrun_two_processes_match_one_process():
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(ROOT / "tests" / "distributed_check.py"),
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "rank 0: ok" in result.stdout and "rank 1: ok" in result.stdout
