"""Fixtures shared by the test modules."""

from __future__ import annotations

from typing import Iterator

import pytest

from stub_server import Stub, serving


@pytest.fixture
def stub() -> Iterator[Stub]:
    """A stub Orchestra server on 127.0.0.1 (see :mod:`stub_server`)."""
    with serving() as running:
        yield running
