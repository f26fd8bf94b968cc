"""The house rules that a test can check: the layer contract and one model capability per question."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_nothing_imports_a_higher_layer():
    """core -> data -> models -> runs -> training | evaluate -> viz | export -> api -> cli, and viz / export never
    import training (pyproject's [tool.importlinter])."""
    proc = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout and "models -> runs -> training" in proc.stdout


def test_capabilities_are_declared_not_probed():
    """No ``hasattr`` probing of models in the library: capabilities are class attributes of ``LatentModel``."""
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "src" / "vaelab").rglob("*.py") if "hasattr(" in p.read_text()
    ]
    assert offenders == []


def test_every_family_declares_its_capabilities():
    from vaelab.models.base import LatentModel
    from vaelab.models.registry import MODELS

    capabilities = (
        "probabilistic",
        "has_importance_weights",
        "needs_labels",
        "conditional",
        "has_classifier",
        "closed_form",
        "linear_decoder",
    )
    for name, (_, model_cls) in MODELS.items():
        assert issubclass(model_cls, LatentModel), name
        for cap in capabilities:
            assert isinstance(getattr(model_cls, cap), bool), (name, cap)
        assert model_cls.has_importance_weights == (
            name in ("vae", "conv-vae", "guided-vae", "vae-2layer", "custom-vae")
        ), name
        assert model_cls.closed_form == (name == "pca"), name
