"""The consumer library's secrets: the registry login and the Kafka password from the environment or from
the file `<NAME>_FILE` names, never both, errors naming the variable and never the secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from txf_consumer.settings import RegistrySettings, SecuritySettingsError, kafka_security

SECRET = "s3cret-value-never-shown"
SASL = {"TXF_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "TXF_KAFKA_SASL_MECHANISM": "PLAIN"}


def test_the_registry_login_from_the_environment_or_its_file(tmp_path: Path) -> None:
    (tmp_path / "login").write_text(f"reader:{SECRET}\n")
    from_file = RegistrySettings.from_env({"TXF_REGISTRY_BASIC_AUTH_FILE": str(tmp_path / "login")})
    assert from_file.basic_auth == f"reader:{SECRET}"
    assert SECRET not in repr(from_file)
    assert RegistrySettings.from_env({"TXF_REGISTRY_BASIC_AUTH": "reader:env"}).basic_auth == "reader:env"
    assert RegistrySettings.from_env({}).basic_auth is None


def test_the_kafka_password_from_its_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(SECRET + "\n")
    env = {**SASL, "TXF_KAFKA_SASL_USERNAME": "reader-a", "TXF_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "pw")}
    assert kafka_security(env)["sasl.password"] == SECRET


@pytest.mark.parametrize("variable", ["TXF_REGISTRY_BASIC_AUTH", "TXF_KAFKA_SASL_PASSWORD"])
def test_both_forms_a_missing_or_an_empty_file_are_refused(variable: str, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(SECRET)
    (tmp_path / "empty").write_text("\n")
    cases = {
        "are both set": {variable: SECRET, f"{variable}_FILE": str(tmp_path / "secret")},
        "cannot read it": {f"{variable}_FILE": str(tmp_path / "missing")},
        "the file is empty": {f"{variable}_FILE": str(tmp_path / "empty")},
    }
    for why, env in cases.items():
        with pytest.raises(SecuritySettingsError) as err:
            if variable.startswith("TXF_REGISTRY"):
                RegistrySettings.from_env(env)
            else:
                kafka_security({**SASL, "TXF_KAFKA_SASL_USERNAME": "u", **env})
        assert why in str(err.value) and f"{variable}_FILE" in str(err.value), str(err.value)
        assert SECRET not in str(err.value)
