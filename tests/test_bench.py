"""`pinnkan bench`: rows, table and the command line (tiny sizes; figures are not asserted)."""

import json

import pytest

from pinnkan.bench import _trainer, profile_ops, run_bench, table
from pinnkan.cli import main

KEYS = {"problem", "model", "width", "grid", "dtype", "batch", "device", "engine", "kernels", "median_ms", "peak_mb"}


def test_run_bench_rows_and_table():
    rows = run_bench(
        models=[("kan", [2, 3, 1], 5), ("mlp", [2, 8, 8, 1], None)],
        dtypes=("float64",),
        engines=("autograd", "autograd-local", "forward"),
        n_interior=64,
        n_boundary=16,
        repeat=2,
        warmup=1,
        progress=False,
    )
    assert [(r["model"], r["engine"]) for r in rows] == [
        ("kan", "autograd"),
        ("kan", "autograd-local"),
        ("kan", "forward"),
        ("mlp", "autograd"),
        ("mlp", "forward"),
    ]
    for r in rows:
        assert set(r) == KEYS and r["batch"] == 64 and r["median_ms"] > 0 and r["peak_mb"] > 0
    assert [r["kernels"] for r in rows] == ["-", "-", "numba", "-", "numba"]
    text = table(rows)
    assert text.count("\n") == 1 + len(rows) and "1.0x" in text


def test_bench_json_from_the_command_line(capsys):
    code = main(
        [
            "bench",
            "--model",
            "mlp",
            "--width",
            "2,6,1",
            "--dtype",
            "float32",
            "--batch",
            "50",
            "--repeat",
            "2",
            "--warmup",
            "1",
            "--settle",
            "0",
            "--json",
        ]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["engine"] for r in rows} == {"autograd", "forward"}
    assert all(set(r) == KEYS and r["dtype"] == "float32" for r in rows)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--model", "rbf"], "--model"),
        (["--dtype", "float16"], "--dtype"),
        (["--engines", "magic"], "--engines"),
        (["--batch", "0"], "--batch"),
        (["--settle", "-1"], "--settle"),
    ],
)
def test_bench_refuses_bad_options(capsys, argv, message):
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_forward_torch_engine_runs_the_pytorch_ops_of_every_node():
    from pinnkan.surrogates import kan_jet

    rows = run_bench(
        models=[("kan", [2, 3, 1], 5), ("rational", [2, 4, 1], None)],
        dtypes=("float64",),
        engines=("forward", "forward-torch"),
        n_interior=32,
        n_boundary=8,
        repeat=1,
        warmup=1,
        progress=False,
    )
    assert [r["kernels"] for r in rows] == ["numba", "torch", "numba", "torch"]
    assert kan_jet.BACKEND == "auto"  # put back


def test_bench_on_cuda_without_a_gpu_is_one_line(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["bench", "--device", "cuda", "--model", "kan", "--grid", "5", "--repeat", "1"]) == 2
    err = capsys.readouterr().err
    assert "no CUDA device" in err and err.count("\n") == 1


def test_profile_lists_the_heaviest_ops():
    trainer, model = _trainer("poisson", "mlp", [2, 8, 8, 1], None, "float64", "forward", 64, 16)
    text = profile_ops(trainer, model, repeat=2, top=3)
    lines = text.splitlines()
    assert "ms/eval" in lines[0] and len(lines) == 4
    assert any("MLPJet" in line or "aten::mm" in line for line in lines[1:])
