import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pairgen.cli import main


def test_recipes_lists_every_recipe(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    for name in ("simclr", "byol", "multicrop"):
        assert name in out
    assert main(["recipes", "byol"]) == 0
    assert "type: solarize\n    p: 0.2" in capsys.readouterr().out


def test_preview_draws_pairs_of_real_photos(tmp_path, photos):
    path = tmp_path / "chelsea.png"
    Image.fromarray(photos["chelsea"]).save(path)
    out = tmp_path / "pairs.png"
    assert main(["preview", str(path), "--recipe", "byol", "--out", str(out), "--pairs", "2", "--size", "64"]) == 0
    drawn = np.asarray(Image.open(out))
    assert drawn.shape[0] > 100 and drawn.shape[1] > 300
    assert drawn[..., :3].std() > 20  # a picture, not a blank page


def test_preview_rejects_unreadable_files(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    with pytest.raises(SystemExit, match="bad.jpg"):
        main(["preview", str(bad), "--out", str(tmp_path / "x.png")])


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "pairgen", "recipes"], capture_output=True, text=True, check=True)
    assert "simclr" in out.stdout
