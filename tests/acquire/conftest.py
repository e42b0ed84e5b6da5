"""Fixtures of the clip-fetch tests (test_youtube*.py): synthetic YouTube sources and a local server of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from youtube_server import DASH_ID, PLAIN_ID, serve, write_source


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A folder holding the sources of DASH_ID and PLAIN_ID (`<id>.mp4`)."""
    folder = tmp_path / "youtube"
    folder.mkdir()
    for youtube_id in (DASH_ID, PLAIN_ID):
        write_source(folder, youtube_id)
    return folder


@pytest.fixture
def server(sources: Path):
    """youtube_server.serve(sources)."""
    with serve(sources) as srv:
        yield srv
