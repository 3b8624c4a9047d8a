from __future__ import annotations

import pytest
import yaml

from signdesk import paths
from signdesk.config import load_settings
from signdesk.errors import ConfigError


def write_user(settings: dict) -> None:
    path = paths.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(settings))


def test_defaults_come_from_the_packaged_file():
    settings = load_settings()
    assert settings["model.id"] == "OpenGVLab/InternVL3-2B-hf"
    assert settings["frames"] == 8
    assert settings["mode"] == "vocab"


def test_precedence_defaults_user_env_flags(monkeypatch):
    write_user({"model": {"id": "user/model"}, "frames": 4, "device": "cpu"})
    assert load_settings()["model.id"] == "user/model"
    assert load_settings()["frames"] == 4

    monkeypatch.setenv("SIGNDESK_MODEL", "env/model")
    settings = load_settings()
    assert settings["model.id"] == "env/model"
    assert settings["frames"] == 4  # the user file still holds for keys the environment leaves alone

    flagged = load_settings({"model.id": "flag/model", "frames": 16})
    assert flagged["model.id"] == "flag/model"
    assert flagged["frames"] == 16
    assert flagged["device"] == "cpu"


def test_signdesk_home_relocates_every_user_folder(signdesk_home):
    for folder in (paths.config_dir(), paths.data_dir(), paths.cache_dir(), paths.log_dir(), paths.models_cache_dir()):
        assert signdesk_home in folder.parents


@pytest.mark.parametrize(
    ("user", "words"),
    [
        ({"frame": 8}, ["unknown setting 'frame'"]),
        ({"frames": "eight"}, ["'frames'", "an integer from 1 to 64", "'eight'"]),
        ({"frames": 0}, ["'frames'", "an integer from 1 to 64"]),
        ({"frames": True}, ["'frames'"]),
        ({"mode": "chat"}, ["'mode'", "vocab | free"]),
        ({"live": {"threshold": 2}}, ["'live.threshold'", "from 0.0 to 1.0"]),
        ({"model": {"id": ""}}, ["'model.id'", "non-empty"]),
    ],
)
def test_bad_user_settings_name_file_key_and_what_is_allowed(user, words):
    write_user(user)
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert str(paths.settings_file()) in message
    for word in words:
        assert word in message


def test_bad_yaml_names_the_file_and_line():
    path = paths.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("frames: 8\nmode: [vocab\n")
    with pytest.raises(ConfigError, match=r"settings.yaml: not valid YAML at line \d"):
        load_settings()


def test_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("SIGNDESK_DEVICE", "tpu")
    with pytest.raises(ConfigError, match=r"environment variable SIGNDESK_DEVICE.*'device'"):
        load_settings()


def test_bad_flag_value_is_refused():
    with pytest.raises(ConfigError, match="command line: setting 'top_k'"):
        load_settings({"top_k": 0})


def test_save_round_trip_keeps_only_the_user_layer():
    settings = load_settings()
    settings.set_user("frames", 12)
    settings.set_user("live.threshold", 0.5)
    settings.save()
    again = load_settings()
    assert again["frames"] == 12
    assert again["live.threshold"] == 0.5
    saved = yaml.safe_load(paths.settings_file().read_text())
    assert saved == {"frames": 12, "live": {"threshold": 0.5}}
    assert not list(paths.settings_file().parent.glob(".*.tmp"))  # the atomic write left nothing behind


def test_set_user_validates():
    settings = load_settings()
    with pytest.raises(ConfigError):
        settings.set_user("device", "gpu")


def test_a_chosen_value_is_told_from_a_default_in_every_layer(monkeypatch):
    """What an adapter may fill in: keys no layer above the packaged defaults set, even to the default value."""
    assert not load_settings().explicit
    write_user({"glossary": "core-320"})  # the default value, but chosen
    monkeypatch.setenv("SIGNDESK_MODEL", "env/model")
    settings = load_settings({"frames": 8, "top_k": None})
    assert settings.explicit == {"glossary", "model.id", "frames"}
    later = settings.with_overrides({"mode": "free"}, source="settings panel")
    assert later.is_explicit("mode") and later.is_explicit("glossary") and not later.is_explicit("device")
    later.set_user("device", "cpu")
    assert later.is_explicit("device") and not settings.is_explicit("device")


def test_an_unknown_setting_lists_the_known_ones_sorted_and_numbers_keep_their_type():
    from signdesk.config import SCHEMA

    known = r"\(known settings: backend, cpu_arithmetic, device, "
    with pytest.raises(ConfigError, match=r"^flags: unknown setting .x. " + known):
        SCHEMA.validate({"x": 1}, "flags")
    assert type(SCHEMA.validate({"live.threshold": 1}, "flags")["live.threshold"]) is int
    assert SCHEMA.validate({"model.adapter": None}, "flags") == {"model.adapter": None}
