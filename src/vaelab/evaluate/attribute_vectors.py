"""Attribute vectors in latent space: the mean code of the images that have an attribute minus the mean code of the
images that have its opposite, added to another image's code to give it the attribute.

For a contrast ``c`` between two groups of images (``positive``: e.g. skin tone 5, "dark"; ``negative``: skin tone
1, "light"), with codes ``z_i`` (the encoder means, ``(N, D)``)::

    v_c = mean{z_i : i in positive} - mean{z_i : i in negative}
    z(alpha) = z + alpha * v_c

``alpha = 1`` moves a code by the whole difference of the two groups' means; decoding ``z(alpha)`` for a few
``alpha`` shows the attribute appear (alpha > 0) or fade (alpha < 0). Source: the "smile vector" of White, *Sampling
Generative Networks* (2016), and Larsen et al., *Autoencoding beyond pixels using a learned similarity metric*
(ICML 2016, section 5: "we compute the mean latent vector of images with an attribute and subtract the mean of
images without it"); the lecture's faces do the same with CelebA's labels.

``default_contrasts`` picks the contrasts of a dataset from its attribute value names (``ImageDataset.info``):
every two-valued attribute (the emoji's ``smiling``; CelebA's 40) as "value 1 minus value 0", the emoji skin tones as
"dark minus light" (5 minus 1), and a labelled dataset's classes as "class k minus the other classes" (one contrast
for two classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vaelab.core.errors import ConfigError

MIN_GROUP = 2
"""Fewest images a group needs for its mean code to be used (``attribute_vectors`` skips contrasts with fewer)."""
SKIN_TONE = ("skin_tone", "dark", "light")  # the emoji's Fitzpatrick scale: the darkest tone minus the lightest
LABELS = "class"  # the attribute name under which a dataset's labels enter (``attribute_table``)
MAX_CLASS_CONTRASTS = 10  # labelled datasets with more classes get no class contrasts


@dataclass(frozen=True)
class Contrast:
    """Two groups of images told apart by one attribute.

    Attributes:
        attribute: the attribute's name (``skin_tone``, ``smiling``, ``class`` for the labels, CelebA's ``Smiling``).
        positive: the attribute values of the group the vector points to.
        negative: the values of the group it points away from.
        name: how figures and the explorer call it, e.g. ``skin_tone: dark - light``.
    """

    attribute: str
    positive: tuple[int, ...]
    negative: tuple[int, ...]
    name: str


def attribute_vector(codes, values, positive, negative) -> np.ndarray:
    """The mean code of the images whose value is in ``positive`` minus that of those in ``negative``.

    Args:
        codes: ``(N, D)`` codes (encoder means).
        values: ``(N,)`` integer attribute values of the same images.
        positive, negative: a value or a collection of values.

    Returns:
        float64 ``(D,)``: ``mean(codes[values in positive]) - mean(codes[values in negative])``.

    Raises:
        ConfigError: the shapes do not match, or a group has no image.
    """
    codes = np.asarray(codes, np.float64)
    values = np.asarray(values)
    if codes.ndim != 2 or values.shape != (codes.shape[0],):
        raise ConfigError(f"codes {codes.shape} and values {values.shape}: expected (N, D) and (N,)")
    means = []
    for group in (positive, negative):
        group = np.atleast_1d(np.asarray(group))
        mask = np.isin(values, group)
        if not mask.any():
            raise ConfigError(f"attribute values {group.tolist()}: no image has them")
        means.append(codes[mask].mean(0))
    return means[0] - means[1]


def add_attribute(z, vector, alphas) -> np.ndarray:
    """Codes ``z + alpha * vector`` for each ``alpha``.

    Args:
        z: ``(D,)`` a code. vector: ``(D,)`` an attribute vector. alphas: ``(A,)`` multiples of the vector.

    Returns:
        float32 ``(A, D)``; row ``a`` is ``z + alphas[a] * vector`` (computed in float64).

    Raises:
        ConfigError: ``z`` and ``vector`` differ in length.
    """
    z, vector = np.asarray(z, np.float64), np.asarray(vector, np.float64)
    if z.shape != vector.shape or z.ndim != 1:
        raise ConfigError(f"code {z.shape} and attribute vector {vector.shape}: expected two (D,) arrays")
    alphas = np.asarray(alphas, np.float64).reshape(-1, 1)
    return (z[None] + alphas * vector[None]).astype(np.float32)


def _index(names: list[str], value: str) -> int | None:
    return names.index(value) if value in names else None


def default_contrasts(value_names: dict[str, list[str]], classes: list[str] | None = None) -> list[Contrast]:
    """The contrasts shown for a dataset, from the names of its attributes' values and of its classes.

    Args:
        value_names: ``{attribute: [name of value 0, name of value 1, ...]}`` (``ImageDataset.info["attributes"]``).
        classes: the label names (``info["classes"]``; digits ``0``..``9`` for MNIST), or None without labels.

    Returns:
        In order: the skin-tone contrast (``dark`` minus ``light``) where the attribute has those values; every
        two-valued attribute as value 1 minus value 0; the classes (2 classes: class 1 minus class 0; 3 to
        ``MAX_CLASS_CONTRASTS``: each class minus the others), unless an attribute has the classes' names (the
        labels are then that attribute).
    """
    out = []
    attr, hi, lo = SKIN_TONE
    names = value_names.get(attr) or []
    if _index(names, hi) is not None and _index(names, lo) is not None:
        out.append(Contrast(attr, (names.index(hi),), (names.index(lo),), f"{attr}: {hi} - {lo}"))
    for attr, names in value_names.items():
        if len(names) == 2:
            out.append(Contrast(attr, (1,), (0,), f"{attr}: {names[1]} - {names[0]}"))
    k = len(classes or [])
    if classes and any(list(names) == list(classes) for names in value_names.values()):
        k = 0  # the labels are one of the attributes (the emoji's category): already contrasted above
    if k == 2:
        out.append(Contrast(LABELS, (1,), (0,), f"{classes[1]} - {classes[0]}"))
    elif 2 < k <= MAX_CLASS_CONTRASTS:
        for c in range(k):
            rest = tuple(j for j in range(k) if j != c)
            out.append(Contrast(LABELS, (c,), rest, f"{classes[c]} - other classes"))
    return out


def attribute_vectors(codes, table: dict[str, np.ndarray], contrasts: list[Contrast]) -> list[dict]:
    """The vector of each contrast whose groups both have at least ``MIN_GROUP`` images.

    Args:
        codes: ``(N, D)`` codes.
        table: ``{attribute: (N,) values}`` for the same images (the labels under ``"class"``).
        contrasts: from ``default_contrasts`` (those of attributes missing from ``table`` are skipped).

    Returns:
        ``[{"name", "attribute", "positive", "negative", "n_positive", "n_negative", "vector" (D,) float64}]``.
    """
    out = []
    for c in contrasts:
        if c.attribute not in table:
            continue
        values = np.asarray(table[c.attribute])
        n_pos, n_neg = int(np.isin(values, c.positive).sum()), int(np.isin(values, c.negative).sum())
        if min(n_pos, n_neg) < MIN_GROUP:
            continue
        vector = attribute_vector(codes, values, c.positive, c.negative)
        out.append(
            {
                "name": c.name,
                "attribute": c.attribute,
                "positive": list(c.positive),
                "negative": list(c.negative),
                "n_positive": n_pos,
                "n_negative": n_neg,
                "vector": vector,
            }
        )
    return out


def attribute_table(dataset) -> dict[str, np.ndarray]:
    """``{attribute: (N,) int64 values}`` of an ``ImageDataset``: its attributes and, under ``"class"``, its labels."""
    table = {k: v.numpy() for k, v in dataset.attributes.items()}
    if dataset.labels is not None:
        table[LABELS] = dataset.labels.numpy()
    return table


def dataset_contrasts(dataset) -> list[Contrast]:
    """``default_contrasts`` of an ``ImageDataset`` (its attribute value names and class names; digits for
    unnamed labels)."""
    classes = dataset.info.get("classes")
    if classes is None and dataset.labels is not None:
        classes = [str(int(c)) for c in range(int(dataset.labels.max()) + 1)]
    return default_contrasts(dataset.info.get("attributes") or {}, classes)
