"""Passwords are hidden wherever a run records how it was invoked."""

import pytest

from suite.core.redact import HIDDEN, redact, redact_args, redact_value, redacted_json


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql+psycopg://zoo:TOPSECRET@127.0.0.1:5432/zoo", "postgresql+psycopg://zoo:***@127.0.0.1:5432/zoo"),
        ("--zoo-history=mysql://u:p%40ss@db/x", "--zoo-history=mysql://u:***@db/x"),
        ("see postgresql://:only-password@host/db now", "see postgresql://:***@host/db now"),
        ("postgresql://host/db?user=zoo&password=TOPSECRET&x=1", "postgresql://host/db?user=zoo&password=***&x=1"),
        ("postgresql://zoo@127.0.0.1/zoo", "postgresql://zoo@127.0.0.1/zoo"),  # no password: as it is
        ("sqlite:////tmp/a:b@c/h.sqlite", "sqlite:////tmp/a:b@c/h.sqlite"),  # a path, not a login
        ("--zoo-models=mlp,resnet*", "--zoo-models=mlp,resnet*"),
    ],
)
def test_a_urls_password_is_hidden_and_nothing_else_changes(given: str, expected: str) -> None:
    assert redact(given) == expected


def test_argument_lists_nested_values_and_stored_json_are_redacted() -> None:
    url = "postgresql+psycopg://zoo:TOPSECRET@h/db"
    assert redact_args(["-q", "--zoo-history", url]) == [
        "-q",
        "--zoo-history",
        f"postgresql+psycopg://zoo:{HIDDEN}@h/db",
    ]
    nested = {"argv": ["--zoo-history", url], "parts": [{"note": f"stored in {url}"}], "n": 3}
    assert "TOPSECRET" not in repr(redact_value(nested)) and redact_value(nested)["n"] == 3
    assert "TOPSECRET" not in redacted_json(nested)
