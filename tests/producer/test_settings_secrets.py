"""Each secret of the services' settings, from the environment or from the file `<NAME>_FILE` names (a
systemd credential): the same value either way, never both, and errors that name the file, not the secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from txf_producer.settings import SECRET_FILES, Settings, SettingsError, load_settings

SECRET = "s3cret-value-never-shown"


@pytest.fixture(autouse=True)
def _no_outside_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No secret of this machine's environment or a .env in the working directory leaks into a case."""
    monkeypatch.chdir(tmp_path)
    for _, _, variable in SECRET_FILES:
        for name in (variable, f"{variable}_FILE", variable.removeprefix("TXF_")):
            monkeypatch.delenv(name, raising=False)


def _secret(settings: Settings, field: str) -> str | None:
    value = getattr(settings, field)
    return None if value is None else str(value.get_secret_value())


@pytest.mark.parametrize(("field", "variable"), [(f, v) for f, _, v in SECRET_FILES])
def test_a_secret_reads_the_same_from_the_environment_and_from_its_file(
    field: str, variable: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(variable, "user:" + SECRET)
    assert _secret(load_settings(), field) == "user:" + SECRET
    monkeypatch.delenv(variable)
    (tmp_path / "cred").write_text("user:" + SECRET + "\n")  # as `echo` or systemd-creds leave it
    monkeypatch.setenv(f"{variable}_FILE", str(tmp_path / "cred"))
    settings = load_settings()
    assert _secret(settings, field) == "user:" + SECRET
    assert SECRET not in repr(settings) and SECRET not in str(settings)


@pytest.mark.parametrize(("field", "variable"), [(f, v) for f, _, v in SECRET_FILES])
def test_both_forms_an_unreadable_or_an_empty_file_are_refused_naming_the_variable(
    field: str, variable: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "cred").write_text(SECRET)
    (tmp_path / "empty").write_text("\n")
    cases = {
        "are both set": {variable: SECRET, f"{variable}_FILE": str(tmp_path / "cred")},
        "cannot read it": {f"{variable}_FILE": str(tmp_path / "missing")},
        "the file is empty": {f"{variable}_FILE": str(tmp_path / "empty")},
    }
    for why, env in cases.items():
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            with pytest.raises(SettingsError) as err:
                load_settings()
        message = str(err.value)
        assert why in message and f"{variable}_FILE" in message, (field, message)
        assert SECRET not in message, message


def test_an_empty_line_of_the_template_beside_the_file_is_no_conflict(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """install.sh's producer.env keeps `.env.example`'s empty `TXF_SHIOAJI_API_KEY=` lines; a key from a
    credential file next to them is the one set."""
    (tmp_path / "key").write_text(SECRET)
    monkeypatch.setenv("TXF_SHIOAJI_API_KEY", "")
    monkeypatch.setenv("TXF_SHIOAJI_API_KEY_FILE", str(tmp_path / "key"))
    assert _secret(load_settings(), "shioaji_api_key") == SECRET


def test_unset_secrets_stay_unset() -> None:
    settings = load_settings()
    assert all(getattr(settings, field) is None for field, _, _ in SECRET_FILES)
