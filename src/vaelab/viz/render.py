"""Every figure of a run, rendered from its directory: what ``vaelab plot RUN KIND`` and ``vaelab report`` call.

``RunFigures(run)`` loads the model (``best`` checkpoint by default) and the test split lazily, once, and has
one method per figure kind. Each builds a matplotlib figure (``vaelab.viz.style.Figure``) with the figure makers
of ``vaelab.viz``, writes it into ``RUN/figures/`` (the projector into ``RUN/tensorboard/``) and returns a dict
with the ``figure``, the written ``files`` and the arrays drawn, so callers (and tests) can check content. With
``write=False`` nothing is written (``files`` is empty): the Python API (``vaelab.Run.plot``) returns the same
figure the command line writes.

Everything is written against the generic model interface (``encode -> (mu, logvar|None)``, ``decode(z)``,
``sample(n)``), so it applies to any model; ``applicable_kinds`` says which figures make sense for a run.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from vaelab.core.commands import KINDS, PLOT_KINDS
from vaelab.core.errors import ConfigError
from vaelab.core.naming import option
from vaelab.core.options import keywords_from
from vaelab.core.suggest import suggest
from vaelab.runs.open import open_run


def declared(kind: str):
    """Decorator of a figure method ``f(self, o, out, write)``: callers pass the kind's options as keywords
    (declared once in ``vaelab.core.commands.PLOT_KINDS``), validated into ``o`` (errors name the keyword)."""
    cls = PLOT_KINDS[kind][0]

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *, out: Path | None = None, write: bool = True, **options):
            return method(self, cls.from_dict(options, f"{kind}: "), out=out, write=write)

        return keywords_from(cls)(wrapper)

    return decorate


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
        from vaelab.viz.style import COMPACT

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
            from vaelab.data import load_dataset_from_config

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
            from vaelab.viz.latent import encode_codes

            self._codes = encode_codes(self.model, self.test.images, progress=self.progress)
        return self._codes

    def train_codes(self) -> tuple[np.ndarray, object]:
        """Encoder means of the whole training split ``(N, D)`` and the split (``ImageDataset``), cached."""
        if self._train is None:
            from vaelab.data import load_dataset_from_config
            from vaelab.viz.latent import encode_codes

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
        from vaelab.models.registry import MODELS

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
        """``RUN/figures/<filename>``, the default place of a figure."""
        return self.run.figures / filename

    def _label_text(self) -> str:
        return "digit" if self.config["dataset"]["name"] == "mnist" else "class"

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

    # figure kinds -----------------------------------------------------------------------------------------
    @declared("latent")
    def latent(self, o, out: Path | None = None, write: bool = True) -> dict:
        """Test codes coloured by class, class centres labelled; codes above 2-D through ``method``.

        Args:
            n: first n test images (default: all for 2-D codes, 5,000 for an embedding).
            method: ``tsne``, ``umap`` or ``pca`` (codes above 2-D; see ``vaelab.viz.embedding.reduce_2d``).
            perplexity: t-SNE perplexity. seed: random state of the embedding.
            out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

        Returns:
            ``{"figure", "files": [latent.png or latent-<method>.png], "coords" (n, 2), "centres" {class: (2,)},
            "codes" (n, D), "labels" (n,) or None}``.

        Raises:
            ConfigError: fewer than 3 codes, an unknown method, or UMAP not installed.
        """
        from vaelab.viz.embedding import METHOD_TITLES, reduce_2d
        from vaelab.viz.latent import latent_figure
        from vaelab.viz.style import save_figure

        n, method, perplexity, seed = o.n, o.method, o.perplexity, o.seed
        codes, labels = self.codes(), self.labels
        d = codes.shape[1]
        n = int(n) if n is not None else (len(codes) if d <= 2 else 5000)
        if n < 3:
            raise ConfigError(f"{option('n', n)}: expected at least 3 codes")
        codes = codes[:n]
        labels = None if labels is None else labels[:n]
        kind = "posterior means" if self.probabilistic else "codes"
        if d <= 2:
            coords, axis, title = codes, ("$z_1$", "$z_2$"), f"{len(codes):,} test {kind}, {d}-D latent"
            path = out or self.out("latent.png")
        else:
            if self.progress:
                slow = (
                    f", minutes on a CPU for thousands (fewer with {option('n')}; {option('method', 'pca')} takes "
                    "seconds)"
                )
                print(
                    f"{METHOD_TITLES[method]} of {len(codes):,} {d}-D codes{slow if method == 'tsne' else ''} ...",
                    flush=True,
                )
            coords = reduce_2d(codes, method, seed=seed, perplexity=perplexity, progress=self.progress)
            m = METHOD_TITLES[method]
            axis, title = (f"{m} 1", f"{m} 2"), f"{m} of {len(codes):,} test {kind} ({d}-D latent)"
            path = out or self.out(f"latent-{method}.png")
        res = latent_figure(
            coords,
            labels,
            f"{self.name}: {title}",
            axis,
            point_size=4.0 if len(codes) > 3000 else 10.0,
            class_names=self.class_names,
        )
        return {
            "figure": res["figure"],
            "files": [save_figure(res["figure"], path, self.dpi)] if write else [],
            "coords": res["coords"],
            "centres": res["centres"],
            "codes": codes,
            "labels": labels,
        }

    def _default_range(self) -> tuple[float, float]:
        if self.probabilistic:
            return (-2.0, 2.0)
        c = self.codes()[:, :2]  # deterministic codes are not N(0, I): span the bulk of the test codes
        lo, hi = np.percentile(c, 1), np.percentile(c, 99)
        return (float(lo), float(hi))

    def _class_code(self, digit: int | None, index: int | None, flag: str) -> tuple[np.ndarray, str, int]:
        """A code for one end of a path: test image ``index``, or the representative image of class ``digit``."""
        from vaelab.viz.interpolation import representative_indices

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
        idx = representative_indices(codes, self.labels, [int(digit)])[int(digit)]
        return codes[idx], str(int(digit)), idx

    @declared("manifold")
    def manifold(self, o, out: Path | None = None, write: bool = True) -> dict:
        """Decoded images over a ``size x size`` grid of codes on ``[lo, hi]^2`` (default [-2, 2]); optional
        interpolation path (between two classes' representative images, or two test images) in red.

        The picture of Kingma & Welling 2014, Fig. 4 (see ``vaelab.viz.manifold``).

        Args:
            size: tiles per side.
            lo, hi: grid range in latent units (default [-2, 2]; for a deterministic encoder the 1st and 99th
                percentiles of the test codes' first two dimensions).
            spacing: ``linear`` or ``ppf`` (equal prior mass per tile).
            dims: the two latent dimensions that vary; the others are 0.
            path_from, path_to: classes whose representative test images end the red path.
            path_from_index, path_to_index: test image indices instead of classes.
            spherical: slerp path instead of a straight one.
            out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

        Returns:
            ``render_manifold``'s dict plus ``figure`` (its image is ``canvas``), ``files`` ``[png]`` and
            ``path_codes`` ``(50, D)`` or None.

        Raises:
            ConfigError: a bad grid or dimensions, only one end of the path, a class without test images or
                an index out of range.
        """
        from vaelab.viz.interpolation import interpolate_codes
        from vaelab.viz.manifold import manifold_figure, render_manifold
        from vaelab.viz.style import save_figure

        size, spacing, dims, spherical = o.size, o.spacing, o.dims, o.spherical
        path_from, path_to, path_from_index, path_to_index = o.from_digit, o.to_digit, o.from_index, o.to_index
        lo, hi = o.range if o.range is not None else self._default_range()
        rendered = render_manifold(self.model, size, lo, hi, spacing, dims, progress=self.progress)
        path_codes = labels = None
        if path_from is not None or path_from_index is not None or path_to is not None or path_to_index is not None:
            if (path_from is None and path_from_index is None) or (path_to is None and path_to_index is None):
                raise ConfigError(
                    f"{option('from_digit', flag='--from')} / {option('to_digit', flag='--to')}: give both ends of the "
                    "path (digits or test indices)"
                )
            za, la, _ = self._class_code(path_from, path_from_index, option("from_digit", flag="--from"))
            zb, lb, _ = self._class_code(path_to, path_to_index, option("to_digit", flag="--to"))
            path_codes = interpolate_codes(za, zb, 50, spherical)
            labels = (la, lb)
        grid = "inverse-normal-CDF" if spacing == "ppf" else "even"
        title = f"{self.name}: decoded {size} x {size} grid on [{lo:.2g}, {hi:.2g}]$^2$ ({grid} spacing)"
        fig = manifold_figure(rendered, title, path_codes, labels)
        files = [save_figure(fig, out or self.out("manifold.png"), self.dpi)] if write else []
        rendered.update(figure=fig, files=files, path_codes=path_codes)
        return rendered

    @declared("interpolate")
    def interpolate(self, o, out: Path | None = None, write: bool = True) -> dict:
        """Codes z(t) from one test image's code to another's; a looping GIF and a strip PNG of the frames.

        Args:
            from_digit, to_digit: classes whose representative test images (code nearest the class's mean code)
                are the ends; the seeds' animation goes from 0 to 7.
            from_index, to_index: test image indices instead of classes.
            steps: frames, t evenly spaced on [0, 1]. spherical: slerp instead of linear.
            scale: integer enlargement of the GIF. duration_ms: display time of a GIF frame, milliseconds.
            out: the GIF / PNG path without suffix instead of ``RUN/figures/interpolate-<from>-<to>[-slerp]``.
            write: False builds the strip figure only (no GIF, no PNG).

        Returns:
            ``{"figure" (the strip), "files": [gif, png], "codes" (steps, D), "images" (steps, C, H, W),
            "frames", "z_from" (D,), "z_to" (D,), "indices" (from, to)}``.

        Raises:
            ConfigError: scale < 1, steps < 2, a class without test images, an index out of range, or classes
                asked of an unlabelled dataset.
        """
        from vaelab.viz.interpolation import gif_frames, interpolate_codes, save_gif, strip_figure
        from vaelab.viz.manifold import decode_codes
        from vaelab.viz.style import save_figure

        from_digit, to_digit, from_index, to_index = o.from_digit, o.to_digit, o.from_index, o.to_index
        steps, spherical, scale, duration_ms = o.steps, o.spherical, o.scale, o.duration_ms
        za, la, ia = self._class_code(
            from_digit if from_index is None else None, from_index, option("from_digit", flag="--from")
        )
        zb, lb, ib = self._class_code(to_digit if to_index is None else None, to_index, option("to_digit", flag="--to"))
        codes = interpolate_codes(za, zb, steps, spherical)
        images = decode_codes(self.model, codes)
        stem = (
            out.with_suffix("")
            if out
            else self.out(
                f"interpolate-{la.replace('#', 'i')}-{lb.replace('#', 'i')}" + ("-slerp" if spherical else "")
            )
        )
        frames = gif_frames(images, scale)
        how = "spherical" if spherical else "linear"
        t = np.linspace(0, 1, len(codes))
        fig = strip_figure(images, t, f"{self.name}: {how} interpolation {la} → {lb} (test images {ia} → {ib})")
        files = []
        if write:
            files = [save_gif(frames, stem.with_suffix(".gif"), duration_ms)]
            files.append(save_figure(fig, stem.with_suffix(".png"), self.dpi))
        return {
            "figure": fig,
            "files": files,
            "codes": codes,
            "images": images,
            "frames": frames,
            "z_from": za,
            "z_to": zb,
            "indices": (ia, ib),
        }

    @declared("all-pairs")
    def all_pairs(self, o, out: Path | None = None, write: bool = True) -> dict:
        """The table of interpolation strips between every ordered pair of classes (default 0..9).

        Args:
            steps: codes per strip. spherical: slerp instead of linear.
            classes: the classes (default: the first 10 present in the test labels).
            out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

        Returns:
            ``{"figure", "files": [png], "strips" (K, K, steps, C, H, W), "classes", "indices" {class: test index},
            "reps" {class: code (D,)}}``.

        Raises:
            ConfigError: the dataset has no labels, a class has no test image, or steps < 2.
        """
        from vaelab.viz.interpolation import all_pairs, all_pairs_figure, representative_indices
        from vaelab.viz.style import save_figure

        steps, spherical, classes = o.steps, o.spherical, o.classes
        if self.labels is None:
            raise ConfigError(f"all-pairs: {self.config['dataset']['name']} has no labels")
        present = sorted(int(c) for c in np.unique(self.labels))
        classes = present[:10] if classes is None else [int(c) for c in classes]
        codes = self.codes()
        reps_idx = representative_indices(codes, self.labels, classes)
        reps = {c: codes[i] for c, i in reps_idx.items()}
        strips = all_pairs(self.model, reps, steps, spherical, progress=self.progress)
        how = "spherical" if spherical else "linear"
        fig = all_pairs_figure(
            strips,
            classes,
            f"{self.name}: {how} interpolations between every pair of {self._label_text()}s",
            dpi=self.dpi,
        )
        files = [save_figure(fig, out or self.out("all-pairs.png"), self.dpi)] if write else []
        return {"figure": fig, "files": files, "strips": strips, "classes": classes, "indices": reps_idx, "reps": reps}

    @declared("samples-per-epoch")
    def samples_per_epoch(self, o, out: Path | None = None, write: bool = True) -> dict:
        """Samples decoded from the same prior noise at the end of every epoch (``epoch_samples.npy``).

        Args:
            max_rows: most epochs shown (evenly spaced, first and last kept).
            out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

        Returns:
            ``{"figure", "files": [png], "rows" (0-based epochs shown), "canvas", "samples" uint8 (E, n, C, H, W)}``.

        Raises:
            ConfigError: the run saved no samples per epoch.
        """
        from vaelab.viz.style import save_figure
        from vaelab.viz.training import epoch_rows, samples_per_epoch_figure

        arr = self.run.read_epoch_samples()
        if arr is None:
            raise ConfigError(f"{self.run.epoch_samples_path}: not found; this run saved no samples per epoch")
        res = samples_per_epoch_figure(
            arr,
            self.conditional,
            epoch_rows(len(arr), o.max_rows),
            f"{self.name}: samples at each epoch's end (same noise every epoch)",
        )
        files = [save_figure(res["figure"], out or self.out("samples-per-epoch.png"), self.dpi)] if write else []
        return {"figure": res["figure"], "files": files, "rows": res["rows"], "canvas": res["canvas"], "samples": arr}

    @declared("curves")
    def curves(self, o, out: Path | None = None, write: bool = True) -> dict:
        """Loss terms per epoch (train and validation) from ``metrics.jsonl``, nats per image.

        Args:
            out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

        Returns:
            ``{"figure", "files": [png], "data"}`` with ``data[term][split] = (epochs, values)`` as drawn.

        Raises:
            ConfigError: no epoch records.
        """
        from vaelab.viz.style import save_figure
        from vaelab.viz.training import curves_figure

        metrics = self.run.read_metrics()
        if not metrics:
            raise ConfigError(f"{self.run.metrics_path}: no epoch records; train the run first")
        beta = self.config["model_config"].get("beta")
        title = f"{self.name}: training curves" + (f" (beta = {beta})" if beta not in (None, 1, 1.0) else "")
        res = curves_figure(metrics, title)
        files = [save_figure(res["figure"], out or self.out("curves.png"), self.dpi)] if write else []
        return {"figure": res["figure"], "files": files, "data": res["data"]}

    @declared("projector")
    def projector(self, o, out: Path | None = None, write: bool = True) -> dict:
        """TensorBoard embedding-projector export of the first ``n`` test codes, sprite and labels
        (``tensorboard --logdir RUN/tensorboard``).

        Args:
            n: number of test codes.
            out: the folder to write instead of ``RUN/tensorboard/projector`` (emptied first).

        Returns:
            ``{"figure": None, "files", "paths" (as from ``write_projector``), "codes" (n, D), "labels" (n,) or
            None}``.

        Raises:
            ConfigError: n < 1, or ``write=False`` (the projector is files for TensorBoard, not a figure).
        """
        from vaelab.viz.embedding import write_projector

        if not write:
            raise ConfigError("projector: TensorBoard files, not a figure; write them with vaelab plot RUN projector")
        codes = self.codes()[: o.n]
        images = self.test.images[: len(codes)]
        labels = None if self.labels is None else self.labels[: len(codes)]
        paths = write_projector(out or self.run.tensorboard / "projector", codes, labels, images)
        return {
            "figure": None,
            "files": [p for p in paths.values() if p is not None],
            "paths": paths,
            "codes": codes,
            "labels": labels,
        }

    @declared("samples")
    def samples(self, o, out: Path | None = None, write: bool = True) -> dict:
        """Prior samples, as ``vaelab sample``.

        Args:
            n: number of samples. seed: seed of the prior draws.
            out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

        Returns:
            ``{"figure", "files": [png], "images" (n, C, H, W), "grid"}``: the PNG is ``grid`` (uint8,
            ``vaelab.viz.grids.make_grid``) enlarged 2 times; the figure shows ``grid``.

        Raises:
            ConfigError: n < 1.
        """
        from vaelab.viz.gallery import sample_grid
        from vaelab.viz.grids import grid_figure, save_image

        n, seed = o.n, o.seed
        grid, imgs = sample_grid(self.model, int(n), seed)
        fig = grid_figure(grid, f"{self.name}: {int(n)} samples from the prior (seed {seed})")
        files = [save_image(grid, out or self.out("samples.png"), scale=2)] if write else []
        return {"figure": fig, "files": files, "images": imgs, "grid": grid}

    @declared("reconstructions")
    def reconstructions(self, o, out: Path | None = None, write: bool = True) -> dict:
        """First ``n`` test images above their reconstructions, as ``vaelab reconstruct``.

        Args:
            n: number of test images. per_row: images per row.
            out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

        Returns:
            ``{"figure", "files": [png], "images" (n, C, H, W), "reconstructions" (n, C, H, W), "grid"}``: the PNG
            is ``grid`` enlarged 2 times; the figure shows ``grid``.

        Raises:
            ConfigError: n or per_row below 1.
        """
        from vaelab.viz.gallery import reconstruction_grid
        from vaelab.viz.grids import grid_figure, save_image

        n, per_row = o.n, o.per_row
        x = self.test.images[: int(n)]
        grid, recon = reconstruction_grid(self.model, x, int(per_row))
        fig = grid_figure(grid, f"{self.name}: test images (odd rows) and their reconstructions (even rows)")
        files = [save_image(grid, out or self.out("reconstructions.png"), scale=2)] if write else []
        return {"figure": fig, "files": files, "images": x, "reconstructions": recon, "grid": grid}

    @declared("nll-vs-k")
    def nll_vs_k(self, o, out: Path | None = None, write: bool = True) -> dict:
        """The importance-weighted test NLL against K (``eval.json``'s ``nll_vs_k``: the first K of one pass's
        samples), with standard errors, the -ELBO and, for a recipe run, the paper's number.

        Args:
            out: the file to write instead of the default ``RUN/figures/nll-vs-k.png``. write: False builds the
                figure only.

        Returns:
            ``{"figure", "files": [png], "k", "nll", "nll_stderr"}`` as drawn.

        Raises:
            ConfigError: no eval.json with ``nll_vs_k`` (run ``vaelab evaluate RUN`` first).
        """
        from vaelab.viz.nll_k import nll_vs_k_figure
        from vaelab.viz.style import save_figure

        ev = self.run.read_eval()
        if not ev or not ev.get("nll_vs_k"):
            raise ConfigError(f"{self.run.eval_path}: no NLL-vs-K values; run vaelab evaluate {self.run.path} first")
        res = nll_vs_k_figure(ev, f"{self.name}: test NLL vs K")
        files = [save_figure(res["figure"], out or self.out("nll-vs-k.png"), self.dpi)] if write else []
        return {
            "figure": res["figure"],
            "files": files,
            "k": res["k"],
            "nll": res["nll"],
            "nll_stderr": res["nll_stderr"],
        }

    @declared("traversals")
    def traversals(self, o, out: Path | None = None, write: bool = True) -> dict:
        """Latent traversals: each row sweeps one dimension of test image ``index``'s code over ``steps`` values on
        ``range``, the other dimensions held (``vaelab.viz.traversal.render_traversals``).

        Args:
            index: the base test image. dims: the dimensions (default the ``n_dims`` most varied over the test codes).
            range, steps: the values. out: the file instead of ``RUN/figures/traversals.png``. write: False builds
                the figure only.

        Returns:
            ``{"figure", "files", "dims", "values" (K,), "codes" (R, K, D), "images" (R, K, C, H, W), "base" (D,),
            "variances" (R,)}``.

        Raises:
            ConfigError: an index out of range, a dimension outside 0..D-1 or LO >= HI.
        """
        from vaelab.viz.traversal import render_traversals

        return render_traversals(self, o, out or self.out("traversals.png"), write)

    @declared("attributes")
    def attributes(self, o, out: Path | None = None, write: bool = True) -> dict:
        """Attribute vectors from the labels added to test images (``vaelab.viz.attributes.render_attributes``): per
        contrast (``vaelab.evaluate.attribute_vectors.default_contrasts``, e.g. skin tone dark minus light, smiling
        minus not), the mean training code of one group minus the other's, added ``alpha`` times to test codes.

        Args:
            attributes: the attributes contrasted (default all). indices: the test images (default per contrast the
                first ``per_contrast`` of the group the vector points away from). alphas: the multiples.
            out: the file instead of ``RUN/figures/attributes.png``. write: False builds the figure only.

        Returns:
            ``{"figure", "files", "vectors" (attribute_vectors' dicts), "indices" (V, F), "alphas", "codes"
            (V, F, A, D), "images" (V, F, A, C, H, W)}``.

        Raises:
            ConfigError: an unknown attribute, an index out of range, or no contrast with images in both groups.
        """
        from vaelab.viz.attributes import render_attributes

        return render_attributes(self, o, out or self.out("attributes.png"), write)

    def render(self, kind: str, **options) -> dict:
        """Render figure ``kind`` (one of ``KINDS``) with ``options`` for its method.

        Args:
            kind: a figure kind, e.g. ``all-pairs`` (calls ``all_pairs``).
            **options: keyword arguments of that method.

        Returns:
            The method's dict (always with ``figure`` and ``files``).

        Raises:
            ConfigError: an unknown kind, or as the method raises.
        """
        if kind not in KINDS:
            raise ConfigError(f"figure kind {kind!r}{suggest(kind, KINDS)}; expected one of {', '.join(KINDS)}")
        return getattr(self, kind.replace("-", "_"))(**options)


__all__ = ["KINDS", "RunFigures"]
