"""Flags from a typed declaration (``vaelab.core.commands``): one argparse argument per field, then the values
given validated back through the same class, so types, ranges, defaults and help text exist once.

The rule: ``batch_size`` -> ``--batch-size``; a one-letter name gets both ``-n`` and ``--n``; a ``bool`` that
defaults to False is a switch (``--compact``), one that defaults to True is turned off by ``--no-NAME``
(``--no-progress``); a ``Literal`` gives the choices; a tuple of integers is written ``0,1``; ``Cli`` metadata
overrides the spelling (``--range LO HI``); a field's old names (``validation_alias``) are accepted as flags too.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path

from vaelab.cli.args import float_list, int_list, name_list
from vaelab.core.errors import ConfigError
from vaelab.core.options import Options, cli_spelling, field_default, field_help, flag_name, old_names

LIST_METAVARS = {int_list: "N,N,...", float_list: "X,X,...", name_list: "NAME,NAME,..."}
NOT_GIVEN = None  # argparse's default for every declared flag: only the flags given reach the declaration


def _strip_optional(annotation):
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def value_kwargs(annotation) -> dict:
    """argparse's ``type`` / ``choices`` / ``nargs`` for a field of type ``annotation`` (not a bool)."""
    ann = _strip_optional(annotation)
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return value_kwargs(typing.get_args(ann)[0])
    if origin is typing.Literal:
        return {"choices": list(typing.get_args(ann))}
    if origin is tuple:
        item, *rest = typing.get_args(ann)
        if typing.get_origin(item) is typing.Annotated:
            item = typing.get_args(item)[0]
        if rest == [Ellipsis] and item is not int:  # any length: written comma-separated, e.g. 0,0.5,1
            return {"type": float_list if item is float else name_list}
        return {"type": float} if item is float else {"type": int_list}  # float pairs: nargs=2 (Cli)
    for scalar in (int, float, str, Path):
        if ann is scalar:
            return {"type": scalar}
    return {"type": str}


def _is_bool(annotation) -> bool:
    ann = _strip_optional(annotation)
    if typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    return ann is bool


def option_strings(cls: type[Options], name: str) -> list[str]:
    """The flags of field ``name``: its ``Cli`` spelling or the rule's, then its old names."""
    spelling = cli_spelling(cls, name)
    flags = list(spelling.flag) or ([f"-{name}", f"--{name}"] if len(name) == 1 else [flag_name(name)])
    return flags + [flag_name(old) for old in old_names(cls, name)]


def _help(cls: type[Options], name: str, show_default: bool) -> str:
    text = field_help(cls, name)
    default = field_default(cls, name)
    if show_default and default is not None and not isinstance(default, bool):
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        text += f" (default {shown})"
    return text


def add_options(parser, cls: type[Options], skip: tuple[str, ...] = (), title: str | None = None) -> None:
    """Add one flag per field of ``cls`` (except ``skip``) to ``parser`` (in a group titled ``title`` if given)."""
    target = parser.add_argument_group(title) if title else parser
    for name, field in cls.model_fields.items():
        if name in skip:
            continue
        if _is_bool(field.annotation):
            on = field_default(cls, name) is True
            flags = [flag_name("no_" + name)] if on else option_strings(cls, name)
            action = "store_false" if on else "store_true"
            text = _help(cls, name, False)
            text = f"turn off: {text}" if on else text  # --no-progress: off what the field turns on
            target.add_argument(*flags, dest=name, action=action, default=NOT_GIVEN, help=text)
            continue
        spelling = cli_spelling(cls, name)
        kw = value_kwargs(field.annotation)
        if spelling.nargs:
            kw["nargs"] = spelling.nargs
        if "choices" not in kw:
            kw["metavar"] = spelling.metavar or LIST_METAVARS.get(kw.get("type"), name.upper())
        target.add_argument(*option_strings(cls, name), dest=name, default=NOT_GIVEN, help=_help(cls, name, True), **kw)


def options_from(args: argparse.Namespace, cls: type[Options], skip: tuple[str, ...] = ()):
    """The declaration ``cls`` validated from the flags given in ``args`` (the others take their defaults).

    Raises:
        ConfigError: a value out of range or otherwise refused, naming the flag.
    """
    given = {
        name: getattr(args, name)
        for name in cls.model_fields
        if name not in skip and getattr(args, name, NOT_GIVEN) is not NOT_GIVEN
    }
    for name, value in given.items():  # nargs=2 arrives as a list
        if isinstance(value, list):
            given[name] = tuple(value)
    return validate(cls, given, {name: option_strings(cls, name)[0] for name in cls.model_fields})


def validate(cls: type[Options], values: dict, names: dict[str, str]):
    """``cls`` validated from ``values``, offending options named as in ``names`` (flags or keywords)."""
    from pydantic import ValidationError

    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.options import describe_errors

    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(describe_errors(cls, exc, names)) from None
