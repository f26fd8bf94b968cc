"""Sub-command groups of the CLI beyond the core ones in ``vaelab.cli``.

Each module listed in ``COMMAND_MODULES`` defines ``register(sub)`` (adds its sub-parsers, each with
``set_defaults(func=...)``) and may define ``TRAIN_MODEL_FLAGS`` (names of extra ``vaelab train`` options that
are model options) with ``add_train_flags(group)`` to add them to the train parser.
"""

COMMAND_MODULES = ("vaelab.commands.web", "vaelab.commands.family", "vaelab.commands.figures")
