"""Whether a run can be re-created from its ``config.json`` alone, and what must be given again when it cannot.

A run trained from the command line can: its config names the dataset and every option. One trained from Python
with your own data or networks (``vaelab.train(data=..., encoder=..., decoder=...)``) records what it can instead
(the data's shapes and SHA-256 per split, the modules' classes and architectures; ``vaelab.data.memory``,
``vaelab.models.custom``), and needs the rest given again in a new session:

* images given from Python are not copied into the run: evaluation, figures and export need them
  (``data=``, and ``val_data=`` / ``test_data=`` where they were given separately);
* modules whose class is defined in a script or notebook cannot be imported by name: loading the model needs
  ``encoder=`` and ``decoder=``; nor is any class imported from a packed folder's config (a pack is untrusted
  input). Classes in an importable module are built from their import path with no arguments.

``vaelab info`` prints ``missing_pieces`` as its ``re-create`` line; ``vaelab.load_run`` warns with it.
"""

from __future__ import annotations

from vaelab.data.memory import is_memory_name, loaded
from vaelab.models.custom import importable


def missing_pieces(config: dict, packed: bool = False, networks_given: bool = False, data: bool = True) -> list[str]:
    """What must be given again to use the run described by ``config`` (its ``config.json``) in this process.

    Args:
        config: the run's config. packed: it is a packed folder. networks_given: its modules were given.
        data: also say whether its images (given from Python) are missing.

    Returns:
        One sentence per missing piece, naming the keyword to pass (empty: nothing is missing).
    """
    notes = []
    data = config.get("dataset") or {}
    name = data.get("name")
    if data and is_memory_name(name) and loaded(name) is None:
        separate = [f"{s}_data=" for s in ("val", "test") if s not in (data.get("memory") or {}).get("carved", ())]
        extra = f" (and {' / '.join(separate)}, given separately)" if separate else ""
        notes.append(
            f"trained on images given from Python ({name}, not copied into the run): evaluation, figures and export "
            f"need them again: data={extra}"
        )
    if config.get("model") == "custom-vae" and not networks_given:
        model_config = config.get("model_config") or {}
        for key in ("encoder", "decoder"):
            path = model_config.get(key)
            if packed:
                notes.append(f"{key} {path}: a pack's classes are never imported; loading the model needs {key}=")
            elif not importable(path):
                notes.append(f"{key} {path} is defined in a script or notebook; loading the model needs {key}=")
    return notes


__all__ = ["missing_pieces"]
