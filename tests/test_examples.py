"""Every example's ``--smoke`` run: exit status 0 and a meaningful printed number.

Each runs in a subprocess from the repository root, as a user would run it.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FASHION_MNIST

REPO = Path(__file__).resolve().parents[1]
NUMBER = r"(-?[0-9.]+(?:e[-+]?\d+)?)"

pytestmark = pytest.mark.slow


def run(*command: str, timeout: float = 240) -> str:
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def example(name: str, *args: str) -> str:
    return run(sys.executable, f"examples/{name}", "--smoke", *args)


def number_after(text: str, label: str) -> float:
    match = re.search(re.escape(label) + r"\s*" + NUMBER, text)
    assert match, f"{label!r} not in output:\n{text}"
    return float(match.group(1))


needs_fashion_mnist = pytest.mark.skipif(not (FASHION_MNIST / "train-images-idx3-ubyte.gz").exists(), reason="Debian package dataset-fashion-mnist is not installed")


@needs_fashion_mnist
def test_train_simclr_table_has_every_method():
    out = example("train_simclr.py")
    rows = dict(re.findall(r"^\| (random|simclr|cast|simclr\+dcl) \| ([0-9.]+) \|", out, flags=re.M))
    assert set(rows) == {"random", "simclr", "cast", "simclr+dcl"}, out
    for method, accuracy in rows.items():
        assert 0.4 < float(accuracy) <= 1.0, (method, out)   # 10 classes: chance is 0.1


def test_plain_loop_reports_finite_losses():
    out = example("plain_loop.py")
    first, last = number_after(out, "of the first 3 steps"), number_after(out, "of the last 3")
    assert 0 < first < 10 and 0 < last < 10


def test_dense_pixpro_matching_cells_are_more_similar():
    # Cells that the correspondence calls positive show the same source pixels, so even a barely
    # trained network finds them more similar than the other cells of the same pair; a wrong
    # correspondence (a missed flip, a swapped axis) would erase the gap.
    out = example("dense_pixpro.py")
    matching, other = number_after(out, "matching cells"), number_after(out, "non-matching cells")
    assert -1 <= other < matching <= 1, out


def test_contrastive_crop_refreshes_heatmaps():
    out = example("contrastive_crop.py")
    areas = [float(a) for a in re.findall(r"heatmaps refreshed, mean box area " + NUMBER, out)]
    assert len(areas) == 2 and all(0 < a <= 1 for a in areas), out


def test_with_lightly_losses_agrees_with_info_nce():
    if importlib.util.find_spec("lightly") is None:
        pytest.skip("lightly is not installed")
    out = example("with_lightly_losses.py")
    assert number_after(out, "largest |lightly - pairgen info_nce|") < 1e-4, out


@needs_fashion_mnist
def test_lightning_simclr_trains_and_probes():
    if importlib.util.find_spec("lightning") is None:
        pytest.skip("lightning is not installed")
    out = example("lightning_simclr.py")
    assert "trained 4 steps" in out
    assert 0.4 < number_after(out, "linear probe accuracy") <= 1.0, out


@needs_fashion_mnist
def test_ddp_torchrun_ranks_share_the_global_loss():
    out = run(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
              "examples/ddp_torchrun.py", "--smoke")
    assert "global batch 256" in out, out           # 2 ranks x 128: the negatives are global
    assert number_after(out, "ranks differ by") < 1e-5, out
    assert 0.4 < number_after(out, "linear probe accuracy") <= 1.0, out


def test_diagnostics_walkthrough():
    if importlib.util.find_spec("pairgen.diagnostics") is None:
        pytest.skip("pairgen.diagnostics is not in this checkout")
    out = example("diagnostics_walkthrough.py")
    assert "report.html" in out, out
