from pathlib import Path

import pytest

from assistant.settings import Settings


def test_defaults_point_at_the_project_folders():
    settings = Settings()
    assert settings.corpus_dir.name == "corpus" and settings.index_dir.name == "index"


def test_config_file_then_environment_then_overrides(tmp_path):
    config = tmp_path / "assistant.toml"
    config.write_text('chunk_size = 400\nindex_dir = "/srv/a"\nfusion_alpha = 0.5\n')
    settings = Settings.load(config, environ={"ASSISTANT_INDEX_DIR": "/srv/b", "ASSISTANT_UNIT_VECTORS": "false"})
    assert settings.chunk_size == 400 and settings.fusion_alpha == 0.5
    assert settings.index_dir == Path("/srv/b") and settings.unit_vectors is False
    assert settings.replace(index_dir=None, chunk_size=300).chunk_size == 300  # None = not given


def test_unknown_setting_in_config_is_an_error(tmp_path):
    config = tmp_path / "assistant.toml"
    config.write_text("chunk_sise = 400\n")
    with pytest.raises(ValueError, match="chunk_sise"):
        Settings.load(config, environ={})


def test_repr_hides_the_admin_password_and_api_key():
    settings = Settings().replace(admin_password="Zugang-geheim", llm_api_key="sk-geheim")
    for shown in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        assert "geheim" not in shown and "admin_password='***'" in shown and "llm_api_key='***'" in shown
    assert "admin_password=''" in repr(Settings())  # unset stays visible as unset


def test_admin_limits_come_from_the_environment():
    settings = Settings.load(environ={"ASSISTANT_ADMIN_SESSION_MINUTES": "10", "ASSISTANT_ADMIN_MAX_FAILURES": "3"})
    assert (settings.admin_session_minutes, settings.admin_max_failures, settings.admin_lockout_minutes) == (10, 3, 15)
