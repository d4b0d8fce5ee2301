"""A secret from its variable or from a file the variable's `_FILE` twin names, in every program alike.

The file form keeps a secret out of the process environment (a systemd credential under
`$CREDENTIALS_DIRECTORY`, a mounted Kubernetes secret): `/proc/<pid>/environ`, `systemctl show` and a
crash report never hold it. Every Python program reads secrets through here (the services' settings,
the consumer library); the Go, TypeScript and Java consumers have one function each with the same
rules: both forms set is an error naming the variable, an empty `NAME=` line (an installed template's)
counts as unset, and an error names the file, never its content.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class SettingError(ValueError):
    """A setting is missing or wrong; the message names the variable and the fix, never a secret."""


def read_secret_file(path: str | Path, variable: str) -> str:
    """The secret kept in `path`, without its trailing newline; `variable` is named in the error."""
    try:
        text = Path(path).read_text("utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise SettingError(f"{variable}={path}: cannot read it ({reason})") from None
    if not text:
        raise SettingError(f"{variable}={path}: the file is empty")
    return text


def secret_from_env(env: Mapping[str, str], variable: str) -> str | None:
    """The secret in `variable` or in the file `<variable>_FILE` names (never both), else None."""
    value, path = env.get(variable) or None, env.get(f"{variable}_FILE") or None
    if value and path:
        raise SettingError(f"{variable} and {variable}_FILE are both set: keep one of them")
    return read_secret_file(path, f"{variable}_FILE") if path else value
