"""Runs: what to train and the files a run leaves, read and written without training anything.

* ``spec``: ``RunSpec`` = model family + ``ModelConfig`` + ``TrainConfig`` + ``DataConfig`` (what to train), the
  TOML / flag resolution behind ``vaelab train``.
* ``files``: the names and formats of a run's files (``config.json``, ``metrics.jsonl``'s keys, ``eval.json``,
  ``result.json``, ``epoch_samples.npy``, ``epoch_codes.npz``).
* ``folder``: ``RunDir``, a run folder (checkpoints, the lock of the one process training it).
* ``packed``: a packed model folder (``model.safetensors`` + model card, ``card``), written by ``pack_run``;
  ``pack_read``: ``PackedRun``, reading one with every file checked first (``pack_check``).
* ``open``: ``open_run(path)``, the folder or the packed form, whichever ``path`` holds.
* ``recipes``: papers' protocols as TOML recipes (``vaelab reproduce``); ``results``: their ``result.json``.
* ``relay``: the relay snapshot of a long run (``vaelab reproduce --relay``).

``folder`` and the packed form (``packed``, ``pack_read``) never import each other; both read through ``files``.
"""
