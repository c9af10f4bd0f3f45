from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

REPO = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "pairgen").rglob("__init__.py")}
    assert found | {"pairgen.recipes"} == listed


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    # python -m build --wheel, a fresh venv that sees the system's torch, the wheel without its
    # dependencies (they are the system's), then `pairgen preview` from an empty folder.
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("build") is None:
        pytest.skip("pip install build")
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()

    def run(*command, cwd=work, timeout=600):
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO), cwd=REPO)
    wheel = next(dist.glob("pairgen-*.whl"))
    run(sys.executable, "-m", "venv", "--system-site-packages", str(venv))
    python = venv / "bin" / "python"
    # --ignore-installed: where pairgen is already installed in the system's site-packages (as
    # CI's `pip install .` does), pip would otherwise call it satisfied and install nothing.
    run(str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "--quiet", str(wheel))
    where = run(str(python), "-c", "import pairgen, pairgen.recipe as r; print(pairgen.__file__); print(sorted(r.available_recipes()))")
    assert str(venv) in where.splitlines()[0], where           # the wheel's copy, not the checkout's
    assert "'simclr'" in where and "'cast'" in where             # recipes ship inside the wheel
    out = run(str(venv / "bin" / "pairgen"), "preview", "--out", "pairs.png", "--size", "32", "--pairs", "1")
    assert (work / "pairs.png").stat().st_size > 10_000, out
    assert run(str(venv / "bin" / "pairgen"), "--version").strip().startswith("pairgen ")
