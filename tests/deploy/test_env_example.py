"""`.env.example` lists every setting every service reads: one file documents the whole deployment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from txf_arbiter.settings import ArbiterSettings
from txf_archive.settings import ArchiveSettings
from txf_kit.settings import ServiceSettings
from txf_producer.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def _variables(cls: type[BaseSettings]) -> set[str]:
    """Each field's TXF_ name (its first validation alias)."""
    names = set()
    for field in cls.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        first = choices[0] if choices else alias
        assert isinstance(first, str) and first.startswith("TXF_"), f"{field}: no TXF_ name"
        names.add(first)
    return names


@pytest.mark.parametrize("cls", [ServiceSettings, Settings, ArbiterSettings, ArchiveSettings])
def test_every_setting_is_in_the_example(cls: type[BaseSettings]) -> None:
    listed = set(re.findall(r"^#?\s*(TXF_[A-Z0-9_]+)=", EXAMPLE.read_text("utf-8"), re.MULTILINE))
    missing = sorted(_variables(cls) - listed)
    assert not missing, f".env.example does not list {missing} ({cls.__name__})"
