"""'Did you mean': the closest of the accepted words to a misspelt one, for error messages (light: no
dependencies, so that the command line's parser can use it before anything heavy is imported)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(word, choices: Iterable) -> str:
    """``"; did you mean 'vae'?"`` for the closest of ``choices`` to a misspelt ``word`` (``difflib``'s ratio >=
    0.6; ``_`` and ``-`` and letter case count as the same, so ``--latent_dim`` finds ``--latent-dim``), or an empty
    string when none is close or ``word`` is not a string."""
    if not isinstance(word, str):
        return ""
    norm = {str(c).replace("_", "-").lower(): str(c) for c in choices}
    key = word.replace("_", "-").lower()
    if key in norm and norm[key] != word:
        return f"; did you mean {norm[key]!r}?"
    close = difflib.get_close_matches(key, list(norm), n=1, cutoff=0.6)
    return f"; did you mean {norm[close[0]]!r}?" if close else ""
