"""Attribute vectors (vaelab.evaluate.attribute_vectors), latent traversals (vaelab.viz.traversal) and the attribute
figure (vaelab.viz.attributes), on constructed codes: every number is checked exactly (codes of small integers and
halves, whose means and sums float64 represents exactly)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from vaelab.core.commands import AttributesPlot, TraversalsPlot
from vaelab.core.errors import ConfigError
from vaelab.evaluate.attribute_vectors import (
    Contrast,
    add_attribute,
    attribute_table,
    attribute_vector,
    attribute_vectors,
    dataset_contrasts,
    default_contrasts,
)
from vaelab.viz.attributes import attribute_codes, render_attributes
from vaelab.viz.traversal import most_varied_dims, render_traversals, traversal_codes

EMOJI_NAMES = {
    "category": ["Smileys & Emotion", "People & Body"],
    "skin_tone": ["none", "light", "medium-light", "medium", "medium-dark", "dark", "mixed"],
    "set": ["twitter", "google"],
    "hair": ["unspecified", "red", "curly", "white", "bald", "blond"],
    "smiling": ["no", "yes"],
}


def test_attribute_vector_is_the_difference_of_the_group_means():
    codes = np.array([[1.0, 0.0, 2.0], [3.0, 2.0, 0.0], [10.0, 4.0, -1.0], [20.0, 8.0, -3.0], [7.0, 7.0, 7.0]])
    tone = np.array([1, 1, 5, 5, 0])  # two light, two dark, one without a tone
    v = attribute_vector(codes, tone, positive=5, negative=1)
    assert v.tolist() == [15.0 - 2.0, 6.0 - 1.0, -2.0 - 1.0]  # mean(dark) - mean(light), exactly
    # groups of several values: {0, 5} minus {1}
    v2 = attribute_vector(codes, tone, positive=(0, 5), negative=(1,))
    assert v2.tolist() == [(10 + 20 + 7) / 3 - 2.0, (4 + 8 + 7) / 3 - 1.0, (-1 - 3 + 7) / 3 - 1.0]
    with pytest.raises(ConfigError, match=r"values \[3\]: no image"):
        attribute_vector(codes, tone, positive=3, negative=1)
    with pytest.raises(ConfigError, match="expected"):
        attribute_vector(codes, tone[:4], 5, 1)


def test_adding_the_vector_moves_a_code_by_alpha_times_it():
    z = np.array([0.5, -1.0, 2.0])
    v = np.array([13.0, 5.0, -3.0])
    out = add_attribute(z, v, [0.0, 0.5, 1.0, -1.0])
    assert out.dtype == np.float32 and out.shape == (4, 3)
    assert out.tolist() == [[0.5, -1.0, 2.0], [7.0, 1.5, 0.5], [13.5, 4.0, -1.0], [-12.5, -6.0, 5.0]]
    # adding the dark - light vector to the light group's mean code gives the dark group's mean code
    codes = np.array([[1.0, 0.0], [3.0, 2.0], [10.0, 4.0], [20.0, 8.0]])
    tone = np.array([1, 1, 5, 5])
    light_mean = codes[tone == 1].mean(0)
    moved = add_attribute(light_mean, attribute_vector(codes, tone, 5, 1), [1.0])[0]
    assert moved.tolist() == codes[tone == 5].mean(0).tolist()
    with pytest.raises(ConfigError, match="two"):
        add_attribute(z, v[:2], [1.0])


def test_the_default_contrasts_of_the_emoji_faces_of_celeba_and_of_mnist():
    emoji = default_contrasts(EMOJI_NAMES, EMOJI_NAMES["category"])
    assert [c.name for c in emoji] == [
        "skin_tone: dark - light",
        "category: People & Body - Smileys & Emotion",
        "set: google - twitter",
        "smiling: yes - no",
    ]  # the labels are the category attribute: no second contrast for them
    assert emoji[0] == Contrast("skin_tone", (5,), (1,), "skin_tone: dark - light")
    celeba = default_contrasts({"Smiling": ["0", "1"], "Male": ["0", "1"]})
    assert [(c.attribute, c.positive, c.negative) for c in celeba] == [("Smiling", (1,), (0,)), ("Male", (1,), (0,))]
    digits = default_contrasts({}, [str(d) for d in range(10)])
    assert len(digits) == 10 and digits[3] == Contrast("class", (3,), (0, 1, 2, 4, 5, 6, 7, 8, 9), "3 - other classes")
    assert default_contrasts({}, [str(d) for d in range(11)]) == []  # too many classes


def test_attribute_vectors_skip_groups_too_small_and_count_the_images():
    codes = np.arange(12, dtype=np.float64).reshape(6, 2)
    table = {"smiling": np.array([0, 0, 0, 0, 1, 1]), "skin_tone": np.array([1, 1, 1, 0, 0, 5])}
    contrasts = default_contrasts(EMOJI_NAMES)
    out = attribute_vectors(codes, table, contrasts)
    assert [v["name"] for v in out] == ["smiling: yes - no"]  # one dark image: under MIN_GROUP; no set column
    assert (out[0]["n_positive"], out[0]["n_negative"]) == (2, 4)
    assert out[0]["vector"].tolist() == [9.0 - 3.0, 10.0 - 4.0]


def _dataset(images, labels, attributes, names, classes=None):
    return SimpleNamespace(
        images=images,
        labels=labels,
        attributes={k: torch.as_tensor(v) for k, v in attributes.items()},
        info={"attributes": names, "classes": classes},
    )


class LinearDecoder:
    """decode(z) = the code's first 3 entries as a 3x1x1 'image' (so each picture is its code, exactly)."""

    device = torch.device("cpu")

    def decode(self, z):
        return z[:, :3].reshape(-1, 3, 1, 1)


def _figs(train_codes, train, test_codes, test):
    return SimpleNamespace(
        model=LinearDecoder(),
        name="toy",
        dpi=100,
        config={"dataset": {"name": "toy"}},
        train_codes=lambda: (train_codes, train),
        codes=lambda: test_codes,
        test=test,
        class_code=lambda _d, i, _f: (test_codes[i], f"#{i}", i),
    )


def test_the_attribute_figure_decodes_test_codes_plus_alpha_times_the_training_vector():
    names = {"skin_tone": EMOJI_NAMES["skin_tone"], "smiling": EMOJI_NAMES["smiling"]}
    train_codes = np.array([[1.0, 0, 0, 0], [3, 0, 0, 2], [11, 4, 0, 0], [21, 8, 0, 2]])
    train = _dataset(None, None, {"skin_tone": [1, 1, 5, 5], "smiling": [0, 0, 1, 1]}, names)
    test_codes = np.array([[0.0, 0, 0, 0], [0.5, 0.5, 0.5, 0.5], [1, 1, 1, 1]], np.float32)
    test = _dataset(torch.zeros(3, 3, 1, 1), None, {"skin_tone": [5, 1, 1], "smiling": [1, 0, 1]}, names)
    o = AttributesPlot(attributes=("skin_tone",), per_contrast=2, alphas=(0.0, 1.0, -0.5))
    res = render_attributes(_figs(train_codes, train, test_codes, test), o, None, write=False)
    v = np.array([14.0, 6.0, 0.0, 0.0])  # mean of tone 5 minus mean of tone 1 in the training codes
    assert [x["name"] for x in res["vectors"]] == ["skin_tone: dark - light"]
    assert res["vectors"][0]["vector"].tolist() == v.tolist()
    assert res["indices"].tolist() == [[1, 2]]  # the first test images of the light group
    want = test_codes[[1, 2]][:, None, :] + np.array([0.0, 1.0, -0.5])[None, :, None] * v
    assert res["codes"][0].tolist() == want.astype(np.float32).tolist()
    assert res["images"][0].reshape(2, 3, 3).tolist() == want[..., :3].astype(np.float32).tolist()
    assert attribute_codes(test_codes[[1]], v[None], [2.0])[0, 0, 0].tolist() == [28.5, 12.5, 0.5, 0.5]
    with pytest.raises(ConfigError, match="did you mean 'skin_tone'"):
        render_attributes(_figs(train_codes, train, test_codes, test), AttributesPlot(attributes=("skin_tne",)), None)


def test_traversals_sweep_one_dimension_and_hold_the_others():
    codes = traversal_codes([1.0, 2.0, 3.0], dims=[2, 0], values=[-1.0, 0.5])
    assert codes.tolist() == [[[1, 2, -1], [1, 2, 0.5]], [[-1, 2, 3], [0.5, 2, 3]]]
    with pytest.raises(ConfigError, match="0..2"):
        traversal_codes([1.0, 2.0, 3.0], dims=[3], values=[0.0])
    test_codes = np.array([[0.0, 5.0, 1.0, 0.0], [0.0, -5.0, 2.0, 0.0], [0.0, 0.0, 3.0, 1.0]], np.float32)
    assert most_varied_dims(test_codes, 2) == [1, 2]
    figs = _figs(None, None, test_codes, None)
    res = render_traversals(figs, TraversalsPlot(index=2, n_dims=2, range=(-2.0, 2.0), steps=3), None, write=False)
    assert res["dims"] == [1, 2] and res["values"].tolist() == [-2.0, 0.0, 2.0]
    assert res["images"][:, :, :, 0, 0].tolist() == [
        [[0, -2, 3], [0, 0, 3], [0, 2, 3]],  # z2 swept, z3 held at test image 2's 3
        [[0, 0, -2], [0, 0, 0], [0, 0, 2]],  # z3 swept
    ]
    with pytest.raises(ConfigError, match="LO < HI"):
        render_traversals(figs, TraversalsPlot(range=(1.0, -1.0)), None, write=False)


def test_the_attribute_table_and_contrasts_of_a_dataset_include_its_labels():
    ds = _dataset(None, torch.tensor([0, 2, 1]), {"smiling": [0, 1, 1]}, {"smiling": ["no", "yes"]})
    table = attribute_table(ds)
    assert table["class"].tolist() == [0, 2, 1] and table["smiling"].tolist() == [0, 1, 1]
    assert [c.name for c in dataset_contrasts(ds)] == [
        "smiling: yes - no",
        "0 - other classes",
        "1 - other classes",
        "2 - other classes",
    ]


def test_the_flags_of_the_two_figure_kinds(tmp_path):
    from vaelab.cli.declared import options_from
    from vaelab.cli.main import parse

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    args = parse(["plot", str(run), "attributes", "--attributes", "skin_tone,smiling", "--alphas", "0,-0.5,1.5"])
    o = options_from(args, AttributesPlot)
    assert o.attributes == ("skin_tone", "smiling") and o.alphas == (0.0, -0.5, 1.5) and o.per_contrast == 3
    args = parse(["plot", str(run), "traversals", "--dims", "4,0", "--range", "-2", "2", "--steps", "5"])
    o = options_from(args, TraversalsPlot)
    assert o.dims == (4, 0) and o.range == (-2.0, 2.0) and o.steps == 5 and o.index == 0
