from pathlib import Path

import pytest

from assistant.exceptions import SettingsError
from assistant.settings import SECTIONS, Settings, environment_names


def test_default_folders_are_relative_to_the_working_directory():
    settings = Settings()
    assert settings.corpus_dir == Path("corpus") and settings.index_dir == Path("index")
    assert settings.app.feedback_file == Path("var/feedback.jsonl")


def test_config_file_then_environment_then_overrides(tmp_path):
    config = tmp_path / "assistant.toml"
    config.write_text('index_dir = "/srv/a"\n[chunking]\nsize = 400\n[retrieval]\nfusion_alpha = 0.5\n')
    environ = {"ASSISTANT_INDEX_DIR": "/srv/b", "ASSISTANT_CHUNKING_UNIT_VECTORS": "false"}
    settings = Settings.load(config, environ=environ)
    assert settings.chunking.size == 400 and settings.retrieval.fusion_alpha == 0.5
    assert settings.index_dir == Path("/srv/b") and settings.chunking.unit_vectors is False
    changed = settings.replace(index_dir=None, chunking={"size": 300})  # None = not given
    assert changed.chunking.size == 300 and changed.chunking.unit_vectors is False
    assert changed.index_dir == Path("/srv/b")


def test_the_config_file_is_found_in_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "assistant.toml").write_text("[answering]\npassages = 7\n")
    monkeypatch.chdir(tmp_path)
    assert Settings.load(environ={}).answering.passages == 7
    assert Settings.load(environ={"ASSISTANT_CONFIG": str(tmp_path / "fehlt.toml")}).answering.passages == 5


@pytest.mark.parametrize("content, named", [
    ("chunk_sise = 400\n", "chunk_sise"),
    ("[chunking]\nsise = 400\n", "sise"),
    ("[abschnitt]\nsize = 400\n", "abschnitt"),
    ("chunking = 400\n", "chunking"),
    ("[chunking]\nsize = 'gross'\n", "chunking.size"),
])
def test_unknown_or_invalid_settings_are_named(tmp_path, content, named):
    config = tmp_path / "assistant.toml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=named):
        Settings.load(config, environ={})


def test_a_value_of_the_wrong_kind_in_the_environment_is_named():
    with pytest.raises(SettingsError, match="app.workers: 'vier'"):
        Settings.load(environ={"ASSISTANT_APP_WORKERS": "vier"})


def test_every_setting_has_one_environment_variable():
    names = [name for name, _, _ in environment_names()]
    assert len(names) == len(set(names)) == sum(1 for _ in environment_names())
    assert {"ASSISTANT_INDEX_DIR", "ASSISTANT_ADMIN_PASSWORD", "ASSISTANT_LLM_URL", "ASSISTANT_APP_API_ORIGINS",
            "ASSISTANT_EMBEDDING_MODEL", "ASSISTANT_ANSWERING_MIN_SIMILARITY_ENGLISH"} <= set(names)
    assert set(SECTIONS) == {"embedding", "chunking", "retrieval", "answering", "llm", "app", "admin"}


def test_repr_hides_the_admin_password_and_api_key():
    settings = Settings().replace(admin={"password": "Zugang-geheim", "staff_token": "token-geheim"},
                                  llm={"api_key": "sk-geheim"})
    for shown in (repr(settings), str(settings), f"{settings}", f"{settings!r}", repr(settings.admin)):
        assert "geheim" not in shown and "password='***'" in shown and "staff_token='***'" in shown
    assert "api_key='***'" in repr(settings)
    assert "password=''" in repr(Settings())  # unset stays visible as unset


def test_admin_limits_and_lists_come_from_the_environment():
    settings = Settings.load(environ={"ASSISTANT_ADMIN_SESSION_MINUTES": "10", "ASSISTANT_ADMIN_MAX_FAILURES": "3",
                                      "ASSISTANT_APP_API_ORIGINS": "https://a.example, https://b.example"})
    admin = settings.admin
    assert (admin.session_minutes, admin.max_failures, admin.lockout_minutes) == (10, 3, 15)
    assert settings.app.api_origins == ("https://a.example", "https://b.example")
