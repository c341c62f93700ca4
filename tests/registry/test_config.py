"""The signing key and token lifetime come from configuration, never from the repository."""

import stat

import pytest

from ledger.core.config import secret_key, token_minutes


def test_a_generated_key_is_written_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("VOUCHER_LEDGER_SECRET_KEY", raising=False)
    monkeypatch.setenv("VOUCHER_LEDGER_VAR_DIR", str(tmp_path / "var"))
    first = secret_key()
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32 and secret_key() == first


def test_the_configured_key_wins_and_must_be_long(tmp_path, monkeypatch):
    monkeypatch.setenv("VOUCHER_LEDGER_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("VOUCHER_LEDGER_SECRET_KEY", "s" * 40)
    assert secret_key() == "s" * 40
    assert not (tmp_path / "var" / "secret_key").exists()
    monkeypatch.setenv("VOUCHER_LEDGER_SECRET_KEY", "short")
    with pytest.raises(ValueError, match="at least 32"):
        secret_key()


def test_token_minutes(monkeypatch):
    monkeypatch.delenv("VOUCHER_LEDGER_TOKEN_MINUTES", raising=False)
    assert token_minutes() == 30
    monkeypatch.setenv("VOUCHER_LEDGER_TOKEN_MINUTES", "5")
    assert token_minutes() == 5
    monkeypatch.setenv("VOUCHER_LEDGER_TOKEN_MINUTES", "0")
    with pytest.raises(ValueError):
        token_minutes()
