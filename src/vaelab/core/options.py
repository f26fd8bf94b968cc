"""Typed options: the one base class from which every configuration (model families, training, data) is declared.

Each configuration is a pydantic model (https://docs.pydantic.dev) whose fields carry their type, range, default
and a one-line meaning (the docstring under the field). From that one declaration vaelab derives the command-line
flags (``vaelab train --help``), the TOML file's keys and ``config.json``, and checks every value in one place:

* integers are strict: ``true``, ``1.7``, ``"3"`` are refused for an integer option (booleans are not integers);
* numbers must be finite (no NaN / inf); ranges (``>= 1``, ``> 0``) and choices are declared with the field;
* unknown keys are refused (``extra="forbid"``); cross-field rules live in ``check()``.

A failed check raises ``ConfigError`` whose message names the option (as the flag ``--latent-dim``, as the TOML
key ``[model] latent_dim`` or as the Python keyword ``latent_dim=``, by where the value came from) and what was
expected; a misspelt name or choice gets a "did you mean" (``suggest``).

Two kinds of metadata may annotate a field (``Annotated[type, ...]``):

* ``OnlyWhen(option, values)``: the option means something only when another option of the same configuration has
  one of ``values`` (``decoder_std`` only with ``likelihood = "gaussian"``). A family whose field is a one-value
  ``Literal`` has the option fixed (the guided VAE's ``objective``). ``inapplicable`` finds options given where they
  do not apply, so that they are refused instead of silently ignored, and ``applies_in`` says where they do (the
  help's family brackets are generated from it).
* ``Cli(flag=..., metavar=...)``: how the command line spells the field when the rule (``--name-with-dashes``; both
  ``-n`` and ``--n`` for a one-letter name) does not fit. Old spellings kept for compatibility are pydantic
  ``validation_alias`` choices; the command line accepts them as flags too (``--path-from`` for ``--from``).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from vaelab.core.errors import ConfigError
from vaelab.core.naming import flag_style, option
from vaelab.core.suggest import suggest

# Strict scalar types: no coercion from bool, str or non-integral float.
Int = Annotated[int, Field(strict=True)]
PositiveInt = Annotated[int, Field(strict=True, ge=1)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
Float = Annotated[float, Field(strict=True)]
PositiveFloat = Annotated[float, Field(strict=True, gt=0)]
NonNegativeFloat = Annotated[float, Field(strict=True, ge=0)]
Bool = Annotated[bool, Field(strict=True)]
Str = Annotated[str, Field(strict=True)]
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a signed 64-bit integer (larger ones overflow)
Seed = Annotated[int, Field(strict=True, ge=0, le=MAX_SEED)]  # every seed of every command and of training


@dataclass(frozen=True)
class OnlyWhen:
    """Field metadata: the option applies only when option ``option`` has one of ``values``."""

    option: str
    values: tuple

    def describe(self) -> str:
        return f"{flag_name(self.option)} {'|'.join(map(str, self.values))}"


@dataclass(frozen=True)
class Cli:
    """Field metadata: the command line's spelling of a field where the rule does not fit.

    Attributes:
        flag: the option strings (e.g. ``("--range",)``); default ``--name-with-dashes``, or ``-n, --n``.
        metavar: the placeholder in the help (default the name in capitals). nargs: e.g. 2 for ``--range LO HI``.
    """

    flag: tuple[str, ...] = ()
    metavar: str | tuple[str, ...] | None = None
    nargs: int | None = None


def flag_name(name: str) -> str:
    """``latent_dim`` -> ``--latent-dim`` (the rule by which the command line names an option)."""
    return "--" + name.replace("_", "-")


def _metadata(cls: type[BaseModel], name: str, kind: type):
    return next((m for m in cls.model_fields[name].metadata if isinstance(m, kind)), None)


def fixed_value(cls: type[BaseModel], name: str):
    """``(value,)`` when field ``name`` of ``cls`` is a one-value ``Literal`` (fixed in this configuration), else
    None."""
    ann = cls.model_fields[name].annotation
    if typing.get_origin(ann) is typing.Literal and len(typing.get_args(ann)) == 1:
        return typing.get_args(ann)
    return None


def applies_in(cls: type[BaseModel], name: str) -> bool:
    """Whether option ``name`` can mean something in configuration ``cls``: it is a field, not fixed, and the option
    its ``OnlyWhen`` names can take one of the values it needs."""
    if name not in cls.model_fields or fixed_value(cls, name) is not None:
        return False
    cond = _metadata(cls, name, OnlyWhen)
    if cond is None or cond.option not in cls.model_fields:
        return cond is None
    fixed = fixed_value(cls, cond.option)
    return fixed is None or fixed[0] in cond.values


def only_when(cls: type[BaseModel], name: str) -> OnlyWhen | None:
    """The ``OnlyWhen`` condition of field ``name`` of ``cls``, if any."""
    return _metadata(cls, name, OnlyWhen)


def cli_spelling(cls: type[BaseModel], name: str) -> Cli:
    """The ``Cli`` metadata of field ``name`` (the rule's spelling when there is none)."""
    return _metadata(cls, name, Cli) or Cli()


def old_names(cls: type[BaseModel], name: str) -> list[str]:
    """The field's old names still accepted (its ``validation_alias`` choices other than its name)."""
    alias = cls.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return [a for a in alias.choices if isinstance(a, str) and a != name]
    return [alias] if isinstance(alias, str) and alias != name else []


class Options(BaseModel):
    """Base of every configuration: strict, closed (unknown keys refused), finite, checked on assignment."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        validate_assignment=True,
        use_attribute_docstrings=True,
        protected_namespaces=(),
    )

    def check(self) -> None:
        """Cross-field rules of the configuration; raise ``ConfigError`` naming the option. Subclasses extend it."""

    @model_validator(mode="after")
    def _run_check(self):
        self.check()
        return self

    @classmethod
    def from_dict(cls, values: dict, where: str = "") -> Options:
        """Validate ``values`` (a dict of option name -> value) into this configuration.

        Args:
            values: the options; missing ones take their defaults.
            where: how to name the source in an error (e.g. ``"config.json: "``), prefixed to the message.

        Raises:
            ConfigError: a wrong type, a value out of range, an unknown option, or a failed cross-field rule.
        """
        if not isinstance(values, dict):
            raise ConfigError(f"{where}expected a table of options, got {type(values).__name__} {values!r}")
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            # values from a file are named as the file's keys; values given now as the caller spells them
            names = None if where or not flag_style() else {n: "--" + n.replace("_", "-") for n in cls.model_fields}
            raise ConfigError(where + describe_errors(cls, exc, names)) from exc

    def to_dict(self) -> dict:
        """The options as JSON-ready plain values (tuples become lists)."""
        return self.model_dump(mode="json")

    @classmethod
    def option_names(cls) -> list[str]:
        return list(cls.model_fields)

    @classmethod
    def default(cls, name: str) -> Any:
        """The declared default of option ``name``."""
        return field_default(cls, name)

    @classmethod
    def fixed_options(cls, given: dict, owner: str = "this configuration") -> list[tuple[str, str]]:
        """The options in ``given`` (name -> value) that are fixed in ``cls`` (a one-value ``Literal``) and given
        another value, each with the reason (to follow the option's name); ``owner`` names the configuration (e.g.
        ``--model guided-vae``). Stating the fixed value itself (as a recipe may) is accepted."""
        fixed = [(name, fixed_value(cls, name)) for name in given if name in cls.model_fields]
        return [(name, f"not an option of {owner} (always {v[0]!r})") for name, v in fixed if v and given[name] != v[0]]

    def inapplicable(self, given: Iterable[str]) -> list[tuple[str, str]]:
        """The options among ``given`` (names set explicitly) whose ``OnlyWhen`` condition is false for these
        values, each with the reason (to follow the option's name). (Fixed options: ``fixed_options``, checked
        before validation.)"""
        out = []
        for name in given:
            cond = only_when(type(self), name) if name in type(self).model_fields else None
            if cond is not None and getattr(self, cond.option, None) not in cond.values:
                now = getattr(self, cond.option, None)
                out.append((name, f"applies only with {cond.describe()}, and {flag_name(cond.option)} is {now!r}"))
        return out


def _expected(cls: type[BaseModel], name: str, err: dict) -> str:
    """What the option ``name`` expects, in words, from one pydantic error."""
    kind, ctx = err["type"], err.get("ctx") or {}
    field = cls.model_fields.get(name)
    is_int = field is not None and "int" in str(field.annotation) and "float" not in str(field.annotation)
    number = "an integer" if is_int else "a number"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "expected an integer"
    if kind in ("float_type", "float_parsing"):
        return "expected a number"
    if kind == "finite_number":
        return "expected a finite number (not NaN or infinity)"
    both = _bounds(field)
    if kind in ("greater_than_equal", "less_than_equal") and len(both) == 2:
        return f"expected {number} from {both[0]} to {both[1]}"
    if kind == "greater_than_equal":
        return f"expected {number} >= {ctx.get('ge')}"
    if kind == "greater_than":
        return f"expected {number} > {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"expected {number} <= {ctx.get('le')}"
    if kind == "less_than":
        return f"expected {number} < {ctx.get('lt')}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}"
    if kind == "bool_type":
        return "expected true or false"
    if kind == "string_type":
        return "expected a string"
    if kind in ("tuple_type", "list_type"):
        item = "integers" if field is not None and "int" in str(field.annotation) else "values"
        return f"expected a list or tuple of {item}" + (", e.g. (256,)" if item == "integers" else "")
    if kind in ("too_short", "too_long"):
        return f"expected {ctx.get('expected', '')} items".replace("  ", " ")
    return err["msg"]


def check_seed(value, name: str = "seed") -> int:
    """``value`` if it is a ``Seed`` (an integer from 0 to 2**63 - 1), for the few commands whose options are not
    declared in an ``Options`` class.

    Raises:
        ConfigError: another value, naming the option (``seed=`` / ``--seed``).
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise ConfigError(f"{option(name, value)}: expected an integer from 0 to 2**63 - 1")
    return value


def _bounds(field) -> tuple:
    """A field's inclusive bounds ``(ge, le)`` as shown in a message (``2**63 - 1`` for ``MAX_SEED``), or ()."""
    metadata = field.metadata if field is not None else ()
    meta = {k: getattr(m, k) for m in metadata for k in ("ge", "le") if getattr(m, k, None) is not None}
    if meta.get("ge") is None or meta.get("le") is None:
        return ()
    return meta["ge"], "2**63 - 1" if meta["le"] == MAX_SEED else meta["le"]


def describe_errors(cls: type[BaseModel], exc: ValidationError, names: dict[str, str] | None = None) -> str:
    """One line naming each offending option and what it expects.

    Args:
        cls: the configuration class that was validated.
        exc: pydantic's error.
        names: how to name each option in the message (e.g. ``{"latent_dim": "--latent-dim"}``); default
            ``name=value``.
    """
    names = names or {}
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if not loc:  # a cross-field rule (check()) raised ConfigError: its message already names the options
            msg = err["msg"]
            parts.append(msg.split(", ", 1)[1] if msg.startswith("Value error, ") else msg)
            continue
        name = loc[0]
        where = names.get(name, name)
        if err["type"] == "extra_forbidden":
            known = ", ".join(cls.model_fields)
            parts.append(f"{where}: unknown option{suggest(name, cls.model_fields)}; expected some of: {known}")
            continue
        index = "".join(f"[{p}]" for p in loc[1:])
        value = err.get("input")
        sep = " " if where.startswith("-") else "="
        hint = suggest(value, _choices(cls, name)) if err["type"] == "literal_error" else ""
        parts.append(f"{where}{index}{sep}{value!r}: {_expected(cls, name, err)}{hint}")
    return "; ".join(parts)


def _choices(cls: type[BaseModel], name: str) -> list:
    field = cls.model_fields.get(name)
    if field is None:
        return []
    ann = field.annotation
    args = [a for a in typing.get_args(ann) if a is not type(None)]
    if typing.get_origin(ann) in (typing.Union, types.UnionType) and len(args) == 1:
        ann = args[0]
    return list(typing.get_args(ann)) if typing.get_origin(ann) is typing.Literal else []


def field_help(cls: type[BaseModel], name: str) -> str:
    """The one-line meaning of option ``name`` (the docstring under the field), or an empty string."""
    field = cls.model_fields[name]
    return " ".join((field.description or "").split())


def field_default(cls: type[BaseModel], name: str) -> Any:
    field = cls.model_fields[name]
    return field.get_default(call_default_factory=True)


def keywords_from(cls: type[BaseModel]):
    """Decorator of an API function taking ``**options``: its signature (``help()``, Jupyter, IDEs) shows the fields
    of ``cls`` as keyword arguments with their declared defaults; the function validates them with
    ``cls.from_dict(options, where)``."""

    def decorate(fn):
        sig = inspect.signature(fn)
        params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        taken = {p.name for p in params}
        params += [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=field_default(cls, name))
            for name in cls.model_fields
            if name not in taken
        ]
        fn.__signature__ = sig.replace(parameters=params)
        return fn

    return decorate
