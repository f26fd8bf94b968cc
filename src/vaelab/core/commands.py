"""The options of every command but ``train``, declared once (typed ``Options``, each field's meaning under it).

``vaelab.cli`` generates each command's flags from these classes (``--batch-size`` from ``batch_size``, ``-n``
and ``--n`` from ``n``, a ``bool`` as a switch) and validates what was given through them; ``vaelab.api`` takes the
same names as Python keywords (``run.evaluate(k=100)``, ``run.plot("manifold", size=15)``) and validates them
the same way; ``vaelab.evaluate`` and ``vaelab.viz`` take their defaults from here. So the default K of the NLL,
the figure options and their ranges exist once. (``train``'s options are the model, training and data
configurations themselves: ``vaelab.models``, ``TrainConfig``, ``DataConfig``.)

Positional arguments (``RUN``, ``OUT``) are not declared here: they are the command's subject, not options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from vaelab.core.options import Bool, Cli, Float, NonNegativeInt, Options, PositiveFloat, PositiveInt, Seed, Str

Checkpoint = Literal["best", "last"]
Split = Literal["test", "val", "train"]
Digit = Annotated[int, Field(strict=True, ge=0)]
Index = Annotated[int, Field(strict=True, ge=0)]
Dpi = Annotated[int, Field(strict=True, ge=100)]
Port = Annotated[int, Field(strict=True, ge=0, le=65535)]
AtLeast2 = Annotated[int, Field(strict=True, ge=2)]
MAX_K = 1_000_000  # 200 times the literature's largest K (5000): above it an evaluation runs for days, not minutes
ImportanceSamples = Annotated[int, Field(strict=True, ge=1, le=MAX_K)]


# numbers ---------------------------------------------------------------------------------------------------------
class EvaluateOptions(Options):
    """``vaelab evaluate`` / ``vaelab.api.evaluate_run`` / ``Run.evaluate``."""

    k: ImportanceSamples = 1000
    """importance samples K of the NLL estimate (Burda et al. 2016); 1000 is the literature's usual K (at most
    1,000,000)"""
    split: Split = "test"
    """the split evaluated"""
    limit: PositiveInt | None = None
    """first N images of the split only (default all)"""
    batch_size: PositiveInt = 100
    """images per batch (each with its K samples)"""
    checkpoint: Checkpoint = "best"
    """the parameters: best (best validation epoch) or last"""
    seed: Seed = 0
    """seed of the importance samples"""
    data_dir: Path | None = None
    """folder holding <dataset>/<files> (default: as recorded in the run, then $VAELAB_DATA)"""
    device: Str = "auto"
    """auto, cpu, cuda, cuda:N or mps"""
    progress: Bool = True
    """a progress bar with the time left"""
    samples: NonNegativeInt = 0
    """score N prior samples: Fréchet distance, precision and recall in the features of the dataset's reference
    classifier, beside training vs test images (default 0: none)"""


DEFAULT_K = EvaluateOptions.default("k")  # the one default K of the importance-weighted NLL


# image grids -----------------------------------------------------------------------------------------------------
class SampleOptions(Options):
    """``vaelab sample`` / ``vaelab plot RUN samples`` / ``Run.sample``."""

    n: PositiveInt = 64
    """images decoded from prior samples z ~ p(z)"""
    seed: Seed = 0
    """seed of the prior samples"""


class ReconstructOptions(Options):
    """``vaelab reconstruct`` / ``vaelab plot RUN reconstructions``."""

    n: PositiveInt = 32
    """test images (odd rows) above their reconstructions (even rows)"""
    per_row: PositiveInt = 16
    """images per row"""


class DenoiseOptions(Options):
    """``vaelab denoise``."""

    n: PositiveInt = 16
    """test images in the figure"""
    per_row: PositiveInt = 4
    """noisy | denoised | clean triplets per row"""
    limit: PositiveInt | None = None
    """PSNR over the first N test images only (default all)"""
    seed: Seed = 0
    """seed of the input noise"""


class GenerateOptions(Options):
    """``vaelab generate`` (class-conditional models)."""

    digit: Digit | None = None
    """the class to draw (default: a row for each class)"""
    n: PositiveInt = 10
    """images per class"""
    seed: Seed = 0
    """seed of the prior samples"""
    judge: Bool = False
    """also print the share of generated images the reference classifier labels as asked"""
    judge_n: PositiveInt = 100
    """samples per class for --judge"""
    classifier: Path = Path("runs") / "mnist-classifier"
    """reference classifier folder (vaelab classifier train)"""


# figures ---------------------------------------------------------------------------------------------------------
class FigureOptions(Options):
    """What every figure kind of ``vaelab plot`` and ``vaelab report`` take."""

    out: Path | None = None
    """output path (default: RUN/figures/<kind>.png)"""
    checkpoint: Checkpoint = "best"
    """the parameters: best (best validation epoch) or last"""
    data_dir: Path | None = None
    """folder holding <dataset>/<files> (default: as recorded in the run, then $VAELAB_DATA)"""
    dpi: Dpi = 150
    """PNG resolution in dots per inch"""
    compact: Bool = False
    """256-colour PNGs (a few times smaller)"""
    progress: Bool = True
    """progress bars and time estimates of slow steps"""


class LatentPlot(Options):
    """Test codes coloured by class, centres labelled (t-SNE / UMAP / PCA above 2-D)."""

    n: PositiveInt | None = None
    """first N test images (default all for 2-D codes, 5000 for an embedding)"""
    method: Literal["tsne", "umap", "pca"] = "tsne"
    """2-D embedding of codes above 2-D (umap needs umap-learn)"""
    perplexity: PositiveFloat = 30.0
    """t-SNE perplexity"""
    seed: Seed = 0
    """random state of the embedding"""


class ManifoldPlot(Options):
    """Decoded images over a grid of codes, optional interpolation path in red."""

    size: AtLeast2 = 20
    """grid of SIZE x SIZE images"""
    range: Annotated[tuple[Float, Float] | None, Cli(("--range",), ("LO", "HI"), 2)] = None
    """grid range on both axes (default -2 2; deterministic models: the codes' 1-99th percentiles)"""
    spacing: Literal["linear", "ppf"] = "linear"
    """linear: evenly spaced; ppf: through the inverse normal CDF (equal prior mass per tile)"""
    dims: tuple[Index, Index] = (0, 1)
    """the two latent dimensions spanned, e.g. 0,1"""
    from_digit: Annotated[Digit | None, Cli(("--from",), "DIGIT")] = Field(
        None, validation_alias=AliasChoices("from_digit", "path_from")
    )
    """draw the interpolation path from this class's representative test image"""
    to_digit: Annotated[Digit | None, Cli(("--to",), "DIGIT")] = Field(
        None, validation_alias=AliasChoices("to_digit", "path_to")
    )
    """... to this class's"""
    from_index: Annotated[Index | None, Cli(metavar="I")] = Field(
        None, validation_alias=AliasChoices("from_index", "path_from_index")
    )
    """path from test image I instead of a class"""
    to_index: Annotated[Index | None, Cli(metavar="I")] = Field(
        None, validation_alias=AliasChoices("to_index", "path_to_index")
    )
    """path to test image I instead of a class"""
    spherical: Bool = False
    """spherical (slerp) path instead of a straight one"""


class InterpolatePlot(Options):
    """A GIF and a strip PNG of decodings along a path between two classes (or test images)."""

    from_digit: Annotated[Digit | None, Cli(("--from",), "DIGIT")] = 0
    """start at this class's representative test image"""
    to_digit: Annotated[Digit | None, Cli(("--to",), "DIGIT")] = 7
    """end at this class's representative test image"""
    from_index: Annotated[Index | None, Cli(metavar="I")] = None
    """start at test image I instead of a class"""
    to_index: Annotated[Index | None, Cli(metavar="I")] = None
    """end at test image I instead of a class"""
    steps: AtLeast2 = 20
    """frames, t from 0 to 1 inclusive"""
    spherical: Bool = False
    """spherical interpolation (slerp)"""
    scale: PositiveInt = 4
    """GIF enlargement"""
    duration_ms: Annotated[PositiveInt, Cli(("--duration",), "MS")] = 100
    """milliseconds per GIF frame"""


class AllPairsPlot(Options):
    """A table of interpolation strips between every pair of classes."""

    steps: AtLeast2 = 8
    """images per strip"""
    spherical: Bool = False
    """spherical interpolation (slerp)"""
    classes: tuple[Digit, ...] | None = None
    """the classes in the table, e.g. 0,1,7 (default the first 10)"""


class SamplesPerEpochPlot(Options):
    """Rows are epochs, columns the same prior samples decoded at the end of each."""

    max_rows: PositiveInt = 20
    """epochs shown, evenly spaced"""


class ProjectorPlot(Options):
    """TensorBoard embedding-projector files."""

    n: PositiveInt = 5000
    """first N test images"""


class TraversalsPlot(Options):
    """One latent dimension per row swept over a range, the others held at a test image's code."""

    index: Annotated[Index, Cli(metavar="I")] = 0
    """the test image whose code is held"""
    dims: tuple[Index, ...] | None = None
    """latent dimensions, 0-based, e.g. 0,3,5 (default: the N_DIMS whose test codes vary most)"""
    n_dims: PositiveInt = 8
    """how many of the most varied dimensions to show"""
    range: Annotated[tuple[Float, Float], Cli(("--range",), ("LO", "HI"), 2)] = (-3.0, 3.0)
    """values each dimension takes, from LO to HI"""
    steps: AtLeast2 = 9
    """values per dimension, evenly spaced"""


class AttributesPlot(Options):
    """Attribute vectors from the labels (mean training code of one group minus another) added to test images."""

    attributes: tuple[Str, ...] | None = None
    """attributes to contrast, e.g. skin_tone,smiling (default: every contrast the data has)"""
    indices: tuple[Index, ...] | None = None
    """test images to change (default: per contrast, the first of the group the vector points away from)"""
    per_contrast: PositiveInt = 3
    """test images per contrast when --indices is not given"""
    alphas: tuple[Float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
    """multiples of the vector added to each code"""


class NoOptions(Options):
    """A figure without options of its own."""


PLOT_KINDS: dict[str, tuple[type[Options], str]] = {
    "latent": (LatentPlot, "test codes coloured by class, centres labelled (t-SNE/UMAP/PCA above 2-D)"),
    "manifold": (ManifoldPlot, "decoded images over a grid of codes, optional interpolation path in red"),
    "interpolate": (InterpolatePlot, "GIF + strip PNG of decodings along a path between two digits (or test images)"),
    "all-pairs": (AllPairsPlot, "10 x 10 table of interpolation strips between every pair of digits"),
    "samples-per-epoch": (SamplesPerEpochPlot, "rows are epochs, columns the fixed samples"),
    "curves": (NoOptions, "loss, reconstruction, KL (and extra terms) per epoch, train and validation"),
    "projector": (ProjectorPlot, "TensorBoard embedding-projector export (tensorboard --logdir RUN/tensorboard)"),
    "reconstructions": (ReconstructOptions, "test images above their reconstructions (as vaelab reconstruct)"),
    "samples": (SampleOptions, "decoded prior samples (as vaelab sample)"),
    "nll-vs-k": (NoOptions, "test NLL against K importance samples, from eval.json (run vaelab evaluate first)"),
    "traversals": (TraversalsPlot, "one latent dimension per row swept over a range, the others held"),
    "attributes": (AttributesPlot, "attribute vectors from the labels added to test images (e.g. skin tone, smile)"),
}
KINDS = tuple(PLOT_KINDS)


class ReportOptions(FigureOptions):
    """``vaelab report`` / ``Run.report``."""

    out: Path | None = None
    """HTML path (default RUN/report.html)"""
    reuse: Bool = False
    """use figures already in RUN/figures/ instead of re-rendering"""
    latent_n: Annotated[PositiveInt | None, Cli(("-n", "--n"), "N")] = None
    """codes in the latent figure (default all for 2-D, 5000 for t-SNE)"""


# sharing ---------------------------------------------------------------------------------------------------------
class ExportOptions(Options):
    """``vaelab export`` / ``Run.export``."""

    checkpoint: Checkpoint = "best"
    """the parameters: best (best validation epoch) or last"""
    n_codes: PositiveInt | None = None
    """encode only the first N test images (default all)"""
    data_dir: Path | None = None
    """folder holding <dataset>/<files> (default: as recorded in the run, then $VAELAB_DATA)"""


class ExploreOptions(Options):
    """``vaelab explore`` / ``Run.explore``."""

    site: Path | None = None
    """site folder (default: RUN/site/ for one run, else a temporary one)"""
    port: Port = 8000
    """TCP port (0 = any free port)"""
    host: Str = "127.0.0.1"
    """address to listen on (another than 127.0.0.1 exposes the page to the network)"""
    open: Bool = False
    """open the page in the default web browser"""
    export: Bool = False
    """re-export the run even if RUN/export/ is current"""
    verbose: Bool = False
    """log every request"""


class PackOptions(Options):
    """``vaelab pack`` / ``Run.pack``."""

    checkpoint: Checkpoint = "best"
    """the parameters packed: best (best validation epoch) or last"""
    license: Str | None = None
    """the card's licence, a Hugging Face Hub licence id (default: the training data's terms where known:
    cc-by-sa-3.0 for mnist, cc-by-4.0 for sklearn-digits, mit for fashion-mnist, cc-by-4.0 / apache-2.0 for the
    Twemoji / Noto emoji sets and other for a mix of them and for celeba; else unknown)"""


__all__ = [
    "DEFAULT_K",
    "KINDS",
    "PLOT_KINDS",
    "AllPairsPlot",
    "DenoiseOptions",
    "EvaluateOptions",
    "ExploreOptions",
    "ExportOptions",
    "FigureOptions",
    "GenerateOptions",
    "InterpolatePlot",
    "LatentPlot",
    "ManifoldPlot",
    "NoOptions",
    "PackOptions",
    "ProjectorPlot",
    "ReconstructOptions",
    "ReportOptions",
    "SampleOptions",
    "SamplesPerEpochPlot",
]
