"""Helpers shared by the engine tests."""

import os
import signal

import pytest

import ctm.engine.train as train_module


@pytest.fixture
def sigterm_at():
    """sigterm_at(monkeypatch, epoch, batch): deliver a real SIGTERM to this process after `batch` (1-based) of
    `epoch` (0-based) has been drawn by ctm.engine.train."""

    def arm(monkeypatch, epoch: int, batch: int) -> None:
        real = train_module.progress_bar
        seen = {"epoch": -1}

        def wrapped(iterable, **kwargs):
            seen["epoch"] += 1
            bar = real(iterable, **kwargs)
            current = seen["epoch"]

            class Killing:
                def __iter__(self):
                    for i, item in enumerate(bar, start=kwargs.get("initial", 0) + 1):
                        if current == epoch and i == batch:
                            os.kill(os.getpid(), signal.SIGTERM)
                        yield item

                def set_postfix(self, **kw):
                    bar.set_postfix(**kw)

            return Killing()

        monkeypatch.setattr(train_module, "progress_bar", wrapped)

    return arm
