import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pairgen.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_recipes_lists_every_recipe(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    for name in ("simclr", "byol", "multicrop"):
        assert name in out
    assert main(["recipes", "byol"]) == 0
    assert "solarize: 0.2" in capsys.readouterr().out


def test_preview_draws_pairs_of_real_photos(tmp_path, photos):
    path = tmp_path / "chelsea.png"
    Image.fromarray(photos["chelsea"]).save(path)
    out = tmp_path / "pairs.png"
    assert main(["preview", str(path), "--recipe", "byol", "--out", str(out), "--pairs", "2", "--size", "64"]) == 0
    drawn = np.asarray(Image.open(out))
    assert drawn.shape[0] > 100 and drawn.shape[1] > 300
    assert drawn[..., :3].std() > 20  # a picture, not a blank page


def test_preview_rejects_unreadable_files(tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    assert main(["preview", str(bad), "--out", str(tmp_path / "x.png")]) == 2
    assert "bad.jpg" in capsys.readouterr().err


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "pairgen", "recipes"], capture_output=True, text=True, check=True)
    assert "simclr" in out.stdout


def mistakes(tmp: Path) -> dict[str, list[str]]:
    """Every command's common mistakes: typo'd recipe, missing path, malformed YAML, bad numbers."""
    malformed = tmp / "mine.yaml"
    malformed.write_text("views:\n  - size: 32\n    crop: {type: random_resized\n")
    invalid = tmp / "invalid.yaml"
    invalid.write_text("views:\n  - size: -4\n")
    missing = str(tmp / "missing")
    return {
        "typo'd recipe": ["preview", "--recipe", "simclrr"],
        "malformed recipe": ["preview", "--recipe", str(malformed)],
        "invalid recipe": ["preview", "--recipe", str(invalid)],
        "missing recipe file": ["recipes", missing + ".yaml"],
        "recipes typo": ["recipes", "simclrr"],
        "recipes malformed": ["recipes", str(malformed)],
        "missing image": ["preview", missing + ".jpg"],
        "not a number": ["preview", "--pairs", "abc"],
        "no pairs": ["preview", "--pairs", "0"],
        "negative size": ["preview", "--size", "-3"],
        "unknown option": ["preview", "--recipes", "simclr"],
        "unknown command": ["previwe"],
        "diagnose missing": ["diagnose", missing, "--out", str(tmp / "r")],
        "diagnose typo": ["diagnose", str(tmp), "--recipe", "simclrr", "--out", str(tmp / "r")],
        "diagnose bad fail-on": ["diagnose", str(tmp), "--fail-on", "nonsense", "--out", str(tmp / "r")],
        "diagnose bad number": ["diagnose", str(tmp), "--limit", "x"],
        "diagnose-merge missing": ["diagnose-merge", missing, "--out", str(tmp / "r")],
        "invariance missing": ["invariance", missing, "--model", "resnet18"],
        "invariance set size": ["invariance", "skimage", "--set-size", "1"],
        "invariance percentile": ["invariance", "skimage", "--percentile", "100"],
        "invariance model": ["invariance", "skimage", "--model", "not_a_model"],
        "invariance groups": ["invariance", "skimage", "--groups", missing + ".csv", "--transform", "instance"],
    }


def test_every_command_reports_mistakes_in_one_line(tmp_path, capsys):
    from skimage import data

    Image.fromarray(data.chelsea()).save(tmp_path / "cat.png")   # a readable folder for diagnose
    expected = {"typo'd recipe": "unknown recipe 'simclrr'; available: byol", "malformed recipe": "mine.yaml:4:1: malformed YAML",
                "invalid recipe": "invalid.yaml: recipe 'invalid', view 0", "missing image": "missing.jpg",
                "negative size": "size must be a positive int, got -3", "missing recipe file": "missing.yaml",
                "not a number": "invalid int value: 'abc'"}
    for name, argv in mistakes(tmp_path).items():
        try:
            status = main(argv)
        except SystemExit as exit_info:          # argparse's usage errors
            status = exit_info.code
        err = capsys.readouterr().err
        assert status == 2, (name, status, err)
        assert err.count("\n") == 1 and err.startswith("pairgen") and "Traceback" not in err, (name, err)
        assert expected.get(name, "") in err, (name, err)


@pytest.mark.slow
def test_the_installed_command_prints_one_line_not_a_traceback(tmp_path):
    cases = mistakes(tmp_path)
    for name in ("typo'd recipe", "malformed recipe"):
        result = subprocess.run([sys.executable, "-m", "pairgen", *cases[name]], capture_output=True, text=True,
                                cwd=REPO, timeout=120)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, (name, result.stderr[-2000:])


def test_version(capsys):
    from pairgen import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"pairgen {__version__}"


def test_malformed_yaml_names_line_and_column(tmp_path):
    from pairgen.errors import RecipeError
    from pairgen.recipe import load_recipe

    path = tmp_path / "tabs.yaml"
    path.write_text("views:\n  - size: 32\n\t- size: 16\n")
    with pytest.raises(RecipeError, match=r"tabs.yaml:3:1: malformed YAML: found character '\\t'"):
        load_recipe(path)
    with pytest.raises(ValueError):          # still a ValueError for code that catches those
        load_recipe(path)


def test_unavailable_device_fails_at_construction():
    from pairgen import PairSampler
    from pairgen.errors import ConfigurationError

    if not torch.cuda.is_available():
        with pytest.raises(ConfigurationError, match="device 'cuda' is not available"):
            PairSampler(device="cuda")
    with pytest.raises(ConfigurationError, match=f"device 'cuda:{torch.cuda.device_count()}' is not available"):
        PairSampler(device=f"cuda:{torch.cuda.device_count()}")
    with pytest.raises(ConfigurationError, match="not a device name"):
        PairSampler(device="gpu0")
