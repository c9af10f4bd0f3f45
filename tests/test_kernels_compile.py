"""The Triton kernels compile for a GPU without one: Triton's compiler lowers them to PTX for
sm_90 (H100/H200) and ptxas reports their registers. This catches what the interpreter
does not check (types across branches and loops, non-constexpr globals) and register
spills. Runs in a fresh Python (the kernels must not be the interpreted ones)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FLOAT_POINTERS = {"boxes", "affine1", "hue", "affine2", "solarize", "sigma", "buffer", "sums"}


def _types(name: str, out: str, canvas: str) -> str:
    if name == "canvas":
        return canvas
    if name == "out":
        return out
    if name == "index":
        return "*i64"
    if name in ("flip", "grayscale"):
        return "*u8"
    if name in FLOAT_POINTERS:
        return "*fp32"
    return "fp32" if name.startswith(("mean", "std")) else "i32"


def _specializations():
    """(kernel, constexprs, out pointer type, canvas pointer type, warps), as pairgen.kernels.fused launches."""
    from pairgen.kernels import fused

    flags = ("HAS_INDEX", "HAS_FLIP", "HAS_AFFINE1", "HAS_HUE", "HAS_AFFINE2", "HAS_GRAYSCALE")
    finishes = {"*fp32": (True, True, False), "*bf16": (True, True, False), "*u8": (True, False, True)}
    for on, out in itertools.product((True, False), finishes):
        solarize, normalize, to_uint8 = finishes[out]
        constexprs = {**dict.fromkeys(flags, on), "HAS_SOLARIZE": solarize and on, "NORMALIZE": normalize,
                      "TO_UINT8": to_uint8, "BLOCK": fused.RENDER_BLOCK}
        yield "render_kernel", constexprs, out, "*u8", fused.RENDER_WARPS
    plain = {**dict.fromkeys(flags, True), "HAS_SOLARIZE": False, "NORMALIZE": False, "TO_UINT8": False,
             "BLOCK": fused.RENDER_BLOCK}
    yield "render_kernel", plain, "*fp32", "*fp32", fused.RENDER_WARPS  # a float canvas; the blur's input
    yield "means_kernel", {"HAS_INDEX": True, "HAS_AFFINE1": True, "HAS_HUE": True, "BLOCK": fused.MEANS_BLOCK}, \
        "*fp32", "*u8", 4
    yield "blur_rows_kernel", {"ROWS": fused.ROWS_TILE // 256, "BLOCK_W": 256}, "*fp32", "*u8", 4
    for out, (solarize, normalize, to_uint8) in finishes.items():
        yield "blur_columns_kernel", {"HAS_SOLARIZE": solarize, "NORMALIZE": normalize, "TO_UINT8": to_uint8,
                                      "BLOCK": fused.COLUMNS_BLOCK}, out, "*u8", 4


def compile_all() -> None:
    """Print ``kernel out registers spill_bytes`` for every specialization (run as a script)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from pairgen.kernels import blur, render

    ptxas = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "ptxas"
    kernels = {"render_kernel": render.render_kernel, "means_kernel": render.means_kernel,
               "blur_rows_kernel": blur.blur_rows_kernel, "blur_columns_kernel": blur.blur_columns_kernel}
    for name, constexprs, out, canvas, warps in _specializations():
        fn = kernels[name]
        signature = {arg: "constexpr" if arg in constexprs else _types(arg, out, canvas) for arg in fn.arg_names}
        source = ASTSource(fn=fn, signature=signature,
                           constexprs={(fn.arg_names.index(k),): v for k, v in constexprs.items()})
        compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options={"num_warps": warps})
        ptx = Path(os.environ.get("TMPDIR", "/tmp")) / f"pairgen-{name}-{os.getpid()}.ptx"
        ptx.write_text(compiled.asm["ptx"])
        report = subprocess.run([str(ptxas), "-v", "--gpu-name=sm_90a", str(ptx), "-o", os.devnull],
                                capture_output=True, text=True, check=True).stderr
        ptx.unlink()
        registers = int(report.split("Used ")[1].split(" registers")[0])
        spills = int(report.split(" bytes spill stores")[0].rsplit(" ", 1)[-1])
        print(name, out, registers, spills)


@pytest.mark.slow
def test_kernels_compile_for_sm90_without_spills():
    triton = pytest.importorskip("triton")
    if not (Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "ptxas").is_file():
        pytest.skip("this Triton has no NVIDIA backend")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, __file__], env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line.split() for line in done.stdout.splitlines()]
    assert len(lines) == len(list(_specializations()))
    for name, out, registers, spills in lines:
        assert int(spills) == 0, f"{name} ({out}) spills registers"
        assert int(registers) <= 128, f"{name} ({out}) uses {registers} registers"


if __name__ == "__main__":
    compile_all()
