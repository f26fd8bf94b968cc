"""Packed models on the Hugging Face Hub, through ``huggingface_hub``: ``download`` (what ``vaelab.load`` calls for
a repository id) and ``upload`` (what ``vaelab push`` calls).

* ``download(repo_id)`` is ``huggingface_hub.snapshot_download``: the repository's files land in the Hub's cache
  (``HF_HUB_CACHE``, default ``~/.cache/huggingface/hub``, laid out as ``models--ORG--NAME/snapshots/<commit>/``)
  and the snapshot folder is returned. Offline (``HF_HUB_OFFLINE=1``, ``local_files_only=True``, or no network)
  it returns the cached snapshot if there is a complete one, else raises one line.
* ``upload(folder, repo_id)`` is ``HfApi.create_repo`` (``exist_ok=True``) then ``HfApi.upload_folder`` of the
  pack, leaving out hidden files, unfinished temporary files and the explorer's built ``site/``. It needs a token
  with write access (``hf auth login`` or ``HF_TOKEN``).

Every failure is one line: ``ConfigError`` (exit 2) for a malformed repository id, ``CheckpointError`` (exit 1)
when the Hub cannot be reached or refuses.
"""

from __future__ import annotations

import os
from pathlib import Path

from vaelab.core.errors import CheckpointError, ConfigError
from vaelab.core.version import __version__

UPLOAD_IGNORE = [".*", "*/.*", "*.tmp", "site/*"]  # fnmatch patterns (``*`` also crosses ``/``)


def hub_offline() -> bool:
    """Whether the Hub is switched off: ``HF_HUB_OFFLINE`` (read now, not only when huggingface_hub was imported)."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}
    return bool(constants.HF_HUB_OFFLINE) or env


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` if the Hub accepts it as a repository id (``NAME`` or ``ORG/NAME``), else ``ConfigError``."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise ConfigError(f"repository id {repo_id!r}: expected NAME or ORG/NAME ({str(exc)[:160]})") from None
    return repo_id


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def download(
    repo_id: str,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    token: str | bool | None = None,
    local_files_only: bool = False,
) -> Path:
    """The snapshot folder of the Hub model repository ``repo_id`` (module docstring).

    Args:
        repo_id: ``ORG/NAME``. revision: a branch, tag or commit (default ``main``).
        cache_dir: the Hub cache (default ``HF_HUB_CACHE``, read at call time). token: for private repositories.
        local_files_only: use the cache only (also when ``HF_HUB_OFFLINE`` is set).

    Raises:
        ConfigError: a malformed id. CheckpointError: offline or unreachable with no complete cached copy; no
            such repository or revision; any other refusal of the Hub.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    check_repo_id(repo_id)
    offline = local_files_only or hub_offline()
    cache_dir = cache_dir or os.environ.get("HF_HUB_CACHE") or None
    where = f"the Hub cache {cache_dir}" if cache_dir else "the Hub cache"
    try:
        path = snapshot_download(
            repo_id, revision=revision, cache_dir=cache_dir, token=token, local_files_only=offline,
            library_name="vaelab", library_version=__version__,
        )  # fmt: skip
    except LocalEntryNotFoundError as exc:
        why = "the Hub is switched off (HF_HUB_OFFLINE or local_files_only)" if offline else "the Hub cannot be reached"
        raise CheckpointError(
            f"{repo_id}: not a local folder, {why}, and {where} holds no complete copy of it; load it once online "
            "or pass the path of a local copy"
        ) from exc
    except RevisionNotFoundError as exc:
        raise CheckpointError(f"{repo_id}: revision {revision!r} not found on the Hub") from exc
    except RepositoryNotFoundError as exc:
        raise CheckpointError(
            f"{repo_id}: not a local folder and no model repository of that name on the Hub (a private or gated one "
            "needs a token: hf auth login)"
        ) from exc
    except Exception as exc:  # connection, HTTP and cache errors of huggingface_hub and its HTTP client
        raise CheckpointError(f"{repo_id}: download from the Hub failed ({_first_line(exc)})") from exc
    return Path(path)


def upload(
    folder: str | Path,
    repo_id: str,
    private: bool | None = None,
    token: str | bool | None = None,
    commit_message: str | None = None,
    revision: str | None = None,
) -> str:
    """Upload the pack ``folder`` to the Hub model repository ``repo_id`` (created if needed).

    Args:
        folder: a checked pack (``vaelab.runs.open.open_run(folder)``). repo_id: ``ORG/NAME`` or ``NAME`` (under your
            user). private: create the repository private (an existing one keeps its visibility).
        token: a write token (default: the one ``hf auth login`` saved, or ``HF_TOKEN``).
        commit_message: the commit's message. revision: the branch to commit to (default ``main``).

    Returns:
        The commit's URL.

    Raises:
        ConfigError: a malformed id. CheckpointError: the Hub is switched off, cannot be reached, or refuses
            (no token, no write access, invalid card metadata).
    """
    from huggingface_hub import HfApi

    check_repo_id(repo_id)
    if hub_offline():
        raise CheckpointError(f"{repo_id}: cannot upload: the Hub is switched off (HF_HUB_OFFLINE is set)")
    api = HfApi(token=token, library_name="vaelab", library_version=__version__)
    folder = Path(folder)
    try:
        url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=getattr(url, "repo_id", repo_id),
            folder_path=str(folder),
            repo_type="model",
            revision=revision,
            commit_message=commit_message or f"Upload {folder.name} with vaelab {__version__}",
            ignore_patterns=UPLOAD_IGNORE,
        )
    except Exception as exc:  # no token, HTTP refusals, connection errors: one line each
        raise CheckpointError(f"{repo_id}: upload to the Hub failed ({_first_line(exc)})") from exc
    return str(getattr(info, "commit_url", info))


__all__ = ["UPLOAD_IGNORE", "check_repo_id", "download", "hub_offline", "upload"]
