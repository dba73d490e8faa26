from __future__ import annotations

import stat
from pathlib import Path

import pytest

from server.settings import ConfigurationError, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("PODIUM_") and not key.startswith("PODIUM_TEST_"):
            monkeypatch.delenv(key)


def test_embedded_default_uses_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.is_embedded
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/podium.sqlite3"


def test_env_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PODIUM_DATABASE_URL", "postgresql://u@db/podium")
    monkeypatch.setenv("PODIUM_REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("PODIUM_SECRET_KEY", "s3cret")
    monkeypatch.setenv("PODIUM_PLUGINS", "points, medals")
    monkeypatch.setenv("PODIUM_DISABLE_PLUGINS", "json_snapshot")
    settings = load_settings()
    assert not settings.is_embedded
    assert settings.database_url == "postgresql+asyncpg://u@db/podium"
    assert settings.plugins == ("points", "medals")
    assert settings.disable_plugins == ("json_snapshot",)
    assert settings.secret == "s3cret"


def test_toml_file_is_read_and_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "podium.toml"
    config.write_text('log_level = "DEBUG"\nredis_prefix = "club:"\ndefault_theme = "dark"\n')
    monkeypatch.setenv("PODIUM_CONFIG", str(config))
    monkeypatch.setenv("PODIUM_DEFAULT_THEME", "projector")
    settings = load_settings()
    assert settings.log_level == "DEBUG"
    assert settings.redis_prefix == "club:"
    assert settings.default_theme == "projector"


def test_toml_in_the_data_dir_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "podium.toml").write_text('log_level = "WARNING"\n')
    monkeypatch.setenv("PODIUM_DATA_DIR", str(tmp_path))
    assert load_settings().log_level == "WARNING"


def test_missing_config_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PODIUM_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigurationError, match="no such file"):
        load_settings()


def test_production_without_secret_key_fails_at_start_up(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0")
    with pytest.raises(ConfigurationError, match="PODIUM_SECRET_KEY is not set"):
        settings.check()
    assert not (tmp_path / "secret_key").exists()


def test_embedded_mode_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).secret
    assert len(first) >= 40
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path).secret == first


def test_bad_database_url_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PODIUM_DATABASE_URL"):
        load_settings(database_url="mysql://x/y", data_dir=tmp_path)


def test_explicit_mode_overrides_detection(tmp_path: Path) -> None:
    assert not Settings(data_dir=tmp_path, mode="production").is_embedded
    assert Settings(data_dir=tmp_path, mode="embedded",
                    database_url="postgresql+asyncpg://x/y").is_embedded
