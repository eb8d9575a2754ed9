import subprocess
import sys

import torch

from jasco_core.parity import check_fixture, main


def test_parity_cli_passes_on_reference_fixture(parity_fixture_path):
    proc = subprocess.run([sys.executable, "-m", "jasco_core.parity", parity_fixture_path],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 out of tolerance" in proc.stdout
    assert "dopri5(w_all=3,w_txt=1).nfe" in proc.stdout


def test_parity_detects_a_wrong_weight(parity_fixture_path, tmp_path):
    fx = torch.load(parity_fixture_path, weights_only=True)
    key = "transformer.layers.0.linear1.weight"
    fx["state_dict"][key] = fx["state_dict"][key] * 1.01
    bad = tmp_path / "bad.pt"
    torch.save(fx, bad)
    assert main([str(bad)]) == 1


def test_parity_reports_unreadable_file(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"not a torch file")
    assert main([str(path)]) == 2


def test_check_fixture_counts_every_quantity(parity_fixture_path):
    fx = torch.load(parity_fixture_path, weights_only=True)
    report = check_fixture(fx)
    assert report.failures == 0
    # every guided setting at every t, both solvers
    assert sum("guided(" in line for line in report.lines) == sum(len(g["fields"]) for g in fx["guided"])
    assert sum(".nfe" in line for line in report.lines) == len(fx["euler"]) + len(fx["dopri5"])
