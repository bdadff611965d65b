"""What a test may ask of the server's log."""

from __future__ import annotations

import pytest


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing was logged with an exception attached, nor any traceback in the text."""
    logged = [record for record in caplog.records if record.exc_info]
    assert logged == [], logged[0].getMessage()
    assert "Traceback" not in caplog.text
