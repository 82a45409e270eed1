"""``${VAR}`` expansion in syncwell.yaml's values, done once at load.

Forms: ``${VAR}``, ``${VAR:-default}`` (the default when VAR is unset or empty, as in a shell),
and ``$$`` for a literal ``$``. A ``$`` followed by anything else stays as written, so a password
like ``pa$word`` needs no escaping. Expanded text is not expanded again: a variable's value is
never read as syntax.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["expand_env"]

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_BODY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


def expand_env(text: str, env: Mapping[str, str]) -> str:
    """Replace every ``${VAR}`` in `text` with its value from `env`.

    Raises:
        ValueError: a variable is unset and has no default, or a ``${...}`` is malformed; the
            message names the variable and says how to fix it.
    """
    if "$" not in text:
        return text
    return _TOKEN.sub(lambda match: _replacement(match, env), text)


def _replacement(match: re.Match[str], env: Mapping[str, str]) -> str:
    written = match.group(0)
    if written == "$$":
        return "$"
    body = match.group(1)
    if body is None:
        raise ValueError("'${' is never closed; write ${NAME} (or $$ for a literal '$')")
    parsed = _BODY.fullmatch(body)
    if parsed is None:
        raise ValueError(
            f"'{written}' is not a variable reference; write ${{NAME}} or ${{NAME:-default}} "
            "with NAME made of letters, digits and _ (or $$ for a literal '$')"
        )
    name, default = parsed.group(1), parsed.group(2)
    value = env.get(name)
    if value:
        return value
    if default is not None:
        return default
    if value is not None:
        return value
    raise ValueError(
        f"environment variable '{name}' is not set; export it (export {name}=...) "
        f"or give a default: ${{{name}:-value}}"
    )
