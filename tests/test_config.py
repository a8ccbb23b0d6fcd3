"""Config validation: every error names FILE:LINE: key.path with a hint; secrets never echoed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from goodwill.cli import main
from goodwill.config import SecretRef, load_config, parse_duration
from goodwill.errors import ConfigError
from tests.helpers_cli import json_out

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<key>\S+): (?P<msg>.+)$")


def errors_for(config_dir: Path) -> list[re.Match[str]]:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    matches = [LINE.match(e) for e in info.value.errors]
    assert all(matches), info.value.errors
    return [m for m in matches if m]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_sample_config_is_valid(config_dir: Path) -> None:
    config = load_config(config_dir)
    assert len(config.sources) >= 8
    assert {c.network for c in config.channels} == {"outbox"}
    assert config.policy.ratio == 4
    assert config.policy.kind_of("promotion") == "promotion"


def test_unknown_key_is_named_with_line_and_suggestion(config_dir: Path) -> None:
    path = config_dir / "channels.yaml"
    edit(path, "    review: required", "    reveiw: required")
    [err] = errors_for(config_dir)
    assert Path(err["file"]).name == "channels.yaml"
    assert int(err["line"]) == line_of(path, "reveiw")
    assert err["key"] == "channels[3].reveiw"
    assert "did you mean 'review'" in err["msg"]


def test_unknown_network(config_dir: Path) -> None:
    path = config_dir / "channels.yaml"
    edit(
        path,
        "    network: outbox\n    preview_as: mastodon",
        "    network: myspace\n    preview_as: mastodon",
    )
    [err] = errors_for(config_dir)
    assert err["key"] == "channels[1].network"
    assert int(err["line"]) == line_of(path, "myspace")
    assert "unknown network" in err["msg"] and "mastodon" in err["msg"]


def test_literal_secret_is_refused_and_never_echoed(config_dir: Path) -> None:
    path = config_dir / "channels.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text + "  - name: live\n    network: mastodon\n    base_url: https://mastodon.social\n"
        "    access_token: s3cr3t-T0KEN-value\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    message = str(info.value)
    assert "s3cr3t" not in message
    assert "channels[4].access_token" in message and "env:NAME" in message


def test_secret_reference_resolves_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = SecretRef("env", "GOODWILL_TEST_TOKEN")
    with pytest.raises(ConfigError, match="export GOODWILL_TEST_TOKEN"):
        ref.resolve()
    monkeypatch.setenv("GOODWILL_TEST_TOKEN", "abc123")
    value = ref.resolve()
    assert value.get_secret_value() == "abc123"
    assert "abc123" not in repr(value) and "abc123" not in str(value)


def test_bad_timezone_slot_and_duration(config_dir: Path) -> None:
    edit(config_dir / "brand.yaml", "timezone: Europe/London", "timezone: Europe/Londres")
    edit(config_dir / "channels.yaml", '{daily: ["09:00", "19:00"]}', '{daily: ["9am"]}')
    edit(config_dir / "policy.yaml", "max_item_age: 3d", "max_item_age: three days")
    errs = {Path(e["file"]).name: e for e in errors_for(config_dir)}
    assert "unknown timezone" in errs["brand.yaml"]["msg"]
    assert errs["channels.yaml"]["key"] == "channels[1].slots"
    assert errs["policy.yaml"]["key"] == "max_item_age"
    assert "30m, 12h, 3d" in errs["policy.yaml"]["msg"]


def test_yaml_syntax_error_has_line(config_dir: Path) -> None:
    path = config_dir / "sources.yaml"
    edit(path, "  - name: Shutterbug", "  - name: Shutterbug: [")
    [err] = errors_for(config_dir)
    assert Path(err["file"]).name == "sources.yaml"
    assert abs(int(err["line"]) - line_of(path, "Shutterbug: [")) <= 1


def test_cross_file_unknown_category_and_channel(config_dir: Path) -> None:
    path = config_dir / "posts.yaml"
    edit(path, "    category: tip", "    category: tips\n    channels: [studio-tiktok]")
    errs = errors_for(config_dir)
    messages = {e["key"]: e["msg"] for e in errs}
    assert "did you mean 'tip'" in messages["posts[1].category"]
    assert "unknown channel 'studio-tiktok'" in messages["posts[1].channels[0]"]


def test_openers_for_an_undeclared_category_name_the_voice_file_and_line(
    config_dir: Path,
) -> None:
    for name in ("voice.yaml", "voice.fr.yaml"):
        edit(config_dir / name, "openers:\n  curated:", "openers:\n  curatd:")
    errs = errors_for(config_dir)
    assert sorted(Path(e["file"]).name for e in errs) == ["voice.fr.yaml", "voice.yaml"]
    for e in errs:
        assert e["key"] == "openers.curatd" and "did you mean 'curated'" in e["msg"]
        assert int(e["line"]) == line_of(Path(e["file"]), "curatd:")


def test_missing_required_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="goodwill init"):
        load_config(tmp_path / "nope")
    (tmp_path / "c").mkdir()
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "c")
    assert len(info.value.errors) == 3


def test_duplicate_names_are_errors(config_dir: Path) -> None:
    edit(config_dir / "sources.yaml", "  - name: Fstoppers", "  - name: PetaPixel")
    [err] = errors_for(config_dir)
    assert "appears twice" in err["msg"]


@pytest.mark.parametrize(
    ("text", "minutes"), [("30m", 30), ("12h", 720), ("3d", 4320), ("2w", 20160), (15, 15)]
)
def test_durations(text: object, minutes: int) -> None:
    assert parse_duration(text).total_seconds() == minutes * 60


def test_check_command_exit_codes_and_json(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--config", str(config_dir)]) == 0
    edit(config_dir / "policy.yaml", "ratio: 4", "ratio: -1")
    assert main(["check", "--config", str(config_dir), "--json"]) == 2
    captured = capsys.readouterr()

    result = json_out(captured.out)
    assert result["ok"] is False and len(result["errors"]) == 1
    assert re.match(r".*policy\.yaml:\d+: ratio: ", captured.err)
    assert "Traceback" not in captured.err
