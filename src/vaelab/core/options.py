"""Typed options: the one base class from which every configuration (model families, training, data) is declared.

Each configuration is a pydantic model (https://docs.pydantic.dev) whose fields carry their type, range, default
and a one-line meaning (the docstring under the field). From that one declaration vaelab derives the command-line
flags (``vaelab train --help``), the TOML file's keys and ``config.json``, and checks every value in one place:

* integers are strict: ``true``, ``1.7``, ``"3"`` are refused for an integer option (booleans are not integers);
* numbers must be finite (no NaN / inf); ranges (``>= 1``, ``> 0``) and choices are declared with the field;
* unknown keys are refused (``extra="forbid"``); cross-field rules live in ``check()``.

A failed check raises ``ConfigError`` whose message names the option (as the flag ``--latent-dim`` or as the TOML
key ``[model] latent_dim``, by where the value came from) and what was expected.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vaelab.core.errors import ConfigError

# Strict scalar types: no coercion from bool, str or non-integral float.
Int = Annotated[int, Field(strict=True)]
PositiveInt = Annotated[int, Field(strict=True, ge=1)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
Float = Annotated[float, Field(strict=True)]
PositiveFloat = Annotated[float, Field(strict=True, gt=0)]
NonNegativeFloat = Annotated[float, Field(strict=True, ge=0)]
Bool = Annotated[bool, Field(strict=True)]
Str = Annotated[str, Field(strict=True)]


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
            raise ConfigError(where + describe_errors(cls, exc)) from exc

    def to_dict(self) -> dict:
        """The options as JSON-ready plain values (tuples become lists)."""
        return self.model_dump(mode="json")

    @classmethod
    def option_names(cls) -> list[str]:
        return list(cls.model_fields)


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
        return "expected a list"
    if kind in ("too_short", "too_long"):
        return f"expected {ctx.get('expected', '')} items".replace("  ", " ")
    return err["msg"]


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
            parts.append(f"{where}: unknown option; expected some of: {known}")
            continue
        index = "".join(f"[{p}]" for p in loc[1:])
        value = err.get("input")
        sep = " " if where.startswith("--") else "="
        parts.append(f"{where}{index}{sep}{value!r}: {_expected(cls, name, err)}")
    return "; ".join(parts)


def field_help(cls: type[BaseModel], name: str) -> str:
    """The one-line meaning of option ``name`` (the docstring under the field), or an empty string."""
    field = cls.model_fields[name]
    return " ".join((field.description or "").split())


def field_default(cls: type[BaseModel], name: str) -> Any:
    field = cls.model_fields[name]
    return field.get_default(call_default_factory=True)
