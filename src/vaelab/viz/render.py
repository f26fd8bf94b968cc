"""Every figure of a run, rendered from its directory: what ``vaelab plot RUN KIND`` and ``vaelab report`` call.

``RunFigures(run)`` holds what the figures share: the run, its model (``best`` checkpoint by default), its test
split and test codes, each loaded once, when first needed. Each kind is drawn by its own module of
``vaelab.viz.figures`` (``registry.FIGURES``); ``RunFigures.render(kind, **options)`` (and ``figs.<kind>(...)``)
builds a matplotlib figure (``vaelab.viz.style.Figure``), writes it into ``RUN/figures/`` (the projector into
``RUN/tensorboard/``) and returns a dict with the ``figure``, the written ``files`` and the arrays drawn, so
callers (and tests) can check content. With ``write=False`` nothing is written (``files`` is empty): the Python API
(``vaelab.Run.plot``) returns the same figure the command line writes.

Everything is written against the generic model interface (``encode -> (mu, logvar|None)``, ``decode(z)``,
``sample(n)``), so it applies to any model; ``applicable_kinds`` says which figures make sense for a run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaelab.core.commands import KINDS, PLOT_KINDS
from vaelab.core.errors import ConfigError
from vaelab.core.naming import option
from vaelab.core.options import keywords_from
from vaelab.data import load_dataset_from_config
from vaelab.models.registry import MODELS
from vaelab.runs.open import open_run
from vaelab.viz.figures import registry
from vaelab.viz.interpolation import representative_indices
from vaelab.viz.latent import encode_codes
from vaelab.viz.style import COMPACT


class RunFigures:
    """Figures of one run.

    Args:
        run: a run (``vaelab.runs.open.open_run``: a run or a packed folder, or its path).
        checkpoint: ``best`` or ``last``.
        data_dir: where the dataset lives (default: as recorded in config.json, then ``$VAELAB_DATA``).
        dpi: PNG resolution (>= 100). progress: tqdm bars on long renders.
        compact: write 256-colour PNGs (smaller; for docs and slides).

    Raises:
        CheckpointError: not a run directory or unreadable ``config.json`` (at construction); unreadable
            checkpoint (when the model is first needed).
        ConfigError: ``dpi`` below 100.
        DatasetError: the test split cannot be loaded (when it is first needed).
    """

    def __init__(
        self, run, checkpoint: str = "best", data_dir=None, dpi: int = 150, progress: bool = True, compact: bool = False
    ):
        self.run = open_run(run)
        self.run.require()
        self.config = self.run.load_config()
        self.checkpoint, self.data_dir, self.dpi, self.progress = checkpoint, data_dir, int(dpi), progress
        if self.dpi < 100:
            raise ConfigError(f"{option('dpi', dpi)}: expected at least 100")
        COMPACT["on"] = bool(compact)
        self._model = None
        self._test = None
        self._codes = None
        self._train = None

    # lazily loaded pieces ---------------------------------------------------------------------------------
    @property
    def model(self):
        """The run's model from checkpoint ``self.checkpoint``, loaded on first use (``load_model`` of the run)."""
        if self._model is None:
            self._model = self.run.load_model(self.checkpoint)
        return self._model

    @property
    def test(self):
        """The whole test split (``ImageDataset``)."""
        if self._test is None:
            self._test = load_dataset_from_config(self.config["dataset"], "test", self.data_dir)
        return self._test

    @property
    def labels(self) -> np.ndarray | None:
        """The test split's labels ``(N,)`` as an integer array, or None for an unlabelled dataset."""
        return None if self.test.labels is None else self.test.labels.numpy()

    @property
    def class_names(self) -> list[str] | None:
        """The names of classes ``0..K-1`` where the data has them (an image folder's sub-folders), else None."""
        classes = self.config["dataset"].get("classes")
        return list(classes) if classes else None

    def codes(self) -> np.ndarray:
        """Encoder means of the whole test split, ``(N, D)`` (cached)."""
        if self._codes is None:
            self._codes = encode_codes(self.model, self.test.images, progress=self.progress)
        return self._codes

    def train_codes(self) -> tuple[np.ndarray, object]:
        """Encoder means of the whole training split ``(N, D)`` and the split (``ImageDataset``), cached."""
        if self._train is None:
            train = load_dataset_from_config(self.config["dataset"], "train", self.data_dir)
            self._train = (encode_codes(self.model, train.images, progress=self.progress), train)
        return self._train

    @property
    def name(self) -> str:
        """The run's name (config.json ``name``, else the folder name), used in figure titles."""
        return self.config.get("name") or self.run.path.name

    @property
    def conditional(self) -> bool:
        """Does ``sample(n)`` give sample i the class i % 10 (class-conditional models)?"""
        return MODELS[self.config["model"]][1].conditional

    @property
    def latent_dim(self) -> int:
        """D, the number of latent dimensions (from config.json, else from the model)."""
        return int(self.config["model_config"].get("latent_dim") or self.model.latent_dim)

    @property
    def probabilistic(self) -> bool:
        """Does the model have a probabilistic encoder (``logvar``) and the prior N(0, I) to sample from?"""
        return self.model.probabilistic

    def out(self, filename: str) -> Path:
        """``RUN/figures/<filename>``, the default place of a figure (``ConfigError`` in a Hub cache snapshot)."""
        self.run.check_writable("writing a figure into its figures/")
        return self.run.figures / filename

    def label_text(self) -> str:
        """What a class is called in titles: ``digit`` for MNIST, else ``class``."""
        return "digit" if self.config["dataset"]["name"] == "mnist" else "class"

    def default_range(self) -> tuple[float, float]:
        """The default grid range of a manifold: [-2, 2] under the prior N(0, I); a deterministic encoder's codes
        are not N(0, I), so then the 1st to 99th percentile of the test codes' first two dimensions."""
        if self.probabilistic:
            return (-2.0, 2.0)
        c = self.codes()[:, :2]
        lo, hi = np.percentile(c, 1), np.percentile(c, 99)
        return (float(lo), float(hi))

    def class_code(self, digit: int | None, index: int | None, flag: str) -> tuple[np.ndarray, str, int]:
        """A code for one end of a path: test image ``index``, or the representative image of class ``digit``
        (the test image whose code is nearest its class's mean code); returns ``(code (D,), label, index)``.
        Raises ``ConfigError`` (naming ``flag``) for an index out of range or classes of unlabelled data."""
        codes = self.codes()
        if index is not None:
            if not 0 <= int(index) < len(codes):
                raise ConfigError(f"{flag} index {index}: expected 0..{len(codes) - 1} (a test image)")
            idx = int(index)
            return codes[idx], f"#{idx}", idx
        if self.labels is None:
            raise ConfigError(
                f"{flag}: {self.config['dataset']['name']} has no labels; give test image indices "
                f"({option('from_index')} / {option('to_index')})"
            )
        if int(digit) not in set(self.labels.tolist()):  # before the codes' work: name the flag
            present = sorted(set(self.labels.tolist()))
            raise ConfigError(f"{flag} {digit}: no test image has this label (labels present: {present})")
        idx = representative_indices(codes, self.labels, [int(digit)])[int(digit)]
        return codes[idx], str(int(digit)), idx

    def applicable_kinds(self) -> list[str]:
        """The figure kinds that apply to this run (the report shows these)."""
        kinds = []
        if self.run.read_metrics():
            kinds.append("curves")
        if self.run.epoch_samples_path.is_file():
            kinds.append("samples-per-epoch")
        if self.probabilistic:
            kinds.append("samples")
        kinds += ["reconstructions", "latent"]
        if self.latent_dim == 2:
            kinds.append("manifold")
        kinds.append("interpolate")
        labels = self.labels
        if labels is not None and 2 <= len(np.unique(labels)) <= 10:
            kinds.append("all-pairs")
        ev = self.run.read_eval()
        if ev and ev.get("nll_vs_k"):
            kinds.append("nll-vs-k")
        if self.latent_dim > 2:
            kinds.append("traversals")
        if self.test.attributes:
            kinds.append("attributes")
        return [k for k in KINDS if k in kinds]

    def render(self, kind: str, *, out: Path | None = None, write: bool = True, **options) -> dict:
        """Draw figure ``kind`` (``vaelab.viz.figures.registry.render``): the kind's dict, with ``figure`` and
        ``files``. Raises ``ConfigError`` for an unknown kind or option, or as the kind raises."""
        return registry.render(self, kind, out=out, write=write, **options)


def _kind_method(kind: str):
    """``RunFigures.<kind>(**options)``: ``render(kind, **options)`` with the kind's declared keywords."""

    def method(self, *, out: Path | None = None, write: bool = True, **options) -> dict:
        return self.render(kind, out=out, write=write, **options)

    method.__name__ = method.__qualname__ = kind.replace("-", "_")
    method.__doc__ = registry.FIGURES[kind].__doc__
    return keywords_from(PLOT_KINDS[kind][0])(method)


for _kind in KINDS:  # figs.latent(n=...), figs.all_pairs(...): one per module of vaelab.viz.figures
    setattr(RunFigures, _kind.replace("-", "_"), _kind_method(_kind))

__all__ = ["KINDS", "RunFigures"]
