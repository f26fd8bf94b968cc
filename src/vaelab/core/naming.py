"""How an error message names an option: by its Python keyword (``latent_dim=2``, ``resume=True``) when the Python
API was called, by its command-line flag (``--latent-dim 2``, ``--resume``) while the command line runs a command.

The command line wraps each command in ``flag_names()``; everything else (notebooks, scripts, tests calling
``vaelab.train``) gets the keyword form, the default. Code that raises names options through ``option``:

    raise ConfigError(f"{option('latent_dim', 0)}: expected an integer >= 1")
    # Python: "latent_dim=0: expected ..."     command line: "--latent-dim 0: expected ..."
    f"check {options('name', 'runs_dir')}"   # "check name= / runs_dir="   or "check --name / --runs-dir"

The style lives in a ``contextvars.ContextVar``, so a command line run inside a Python process (tests, ``main([...])``)
does not change how that process's later API calls word their errors.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

_STYLE: ContextVar[str] = ContextVar("vaelab_option_style", default="keyword")
_UNSET = object()


def flag_style() -> bool:
    """Whether errors now name options as command-line flags (inside ``flag_names()``)."""
    return _STYLE.get() == "flag"


@contextlib.contextmanager
def flag_names():
    """Name options as command-line flags inside this block (the command line's commands run in it)."""
    token = _STYLE.set("flag")
    try:
        yield
    finally:
        _STYLE.reset(token)


def option(name: str, value=_UNSET, *, flag: str | None = None, flag_value: str | None = None) -> str:
    """The option ``name`` (its Python keyword, e.g. ``latent_dim``) as the caller knows it, with ``value`` if given.

    Args:
        name: the keyword. value: the value to show (``repr`` for the keyword form, ``str`` for the flag form; a
            flag given True shows alone: ``--resume``).
        flag: the flag when it is not ``--`` + the keyword with ``-`` for ``_`` (e.g. ``--from`` for ``from_digit``).
        flag_value: how the value is written on the command line when not ``str(value)`` (``--dims 0,5``).

    Returns:
        ``name=``, ``name=value``, ``--flag`` or ``--flag value``, by the current style.
    """
    if flag_style():
        text = flag or "--" + name.replace("_", "-")
        if value is _UNSET or value is True:
            return text
        return f"{text} {value if flag_value is None else flag_value}"
    return f"{name}=" if value is _UNSET else f"{name}={value!r}"


def options(*names: str) -> str:
    """Several options, ``a / b / c``, each named as ``option`` does (without values)."""
    return " / ".join(option(n) for n in names)


__all__ = ["flag_names", "flag_style", "option", "options"]
