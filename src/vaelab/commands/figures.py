"""(commands added by the issue that builds this group)"""

TRAIN_MODEL_FLAGS: tuple[str, ...] = ()


def add_train_flags(group) -> None:
    pass


def register(sub) -> None:
    pass
