"""What the adapters remember between calls stays bounded (`providers/memory.py`)."""

from __future__ import annotations

from providers.memory import Recent


def test_the_oldest_entry_is_forgotten_first() -> None:
    memory: Recent[int, str] = Recent(limit=2)
    memory.remember(1, "one")
    memory.remember(2, "two")
    memory.remember(3, "three")
    assert len(memory) == 2
    assert 1 not in memory
    assert (memory.get(2), memory.get(3)) == ("two", "three")


def test_writing_an_entry_again_makes_it_the_newest() -> None:
    memory: Recent[int, str] = Recent(limit=2)
    memory.remember(1, "one")
    memory.remember(2, "two")
    assert memory.remember(1, "uno") == "uno"
    memory.remember(3, "three")
    assert 2 not in memory
    assert (memory.get(1), memory.get(3)) == ("uno", "three")
