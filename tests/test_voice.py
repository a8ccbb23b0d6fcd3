"""The owner's voice: rotating openers, comments that win, hashtags, UTM tags, typography."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from goodwill import text as textlib
from goodwill.attribution import useful_author
from goodwill.cli import main
from goodwill.config import Config, HashtagRule, Utm, Voice
from goodwill.drafting import draft, redraft
from goodwill.events import RecordingSink
from goodwill.store import Store
from goodwill.voice import (
    NARROW_NBSP,
    NBSP,
    channel_order,
    choose_opener,
    excerpt,
    french_typography,
    hashtag_cap,
    hashtags_for,
    tag_link,
)
from tests.helpers_cli import json_out
from tests.helpers_voice import add_items, write_config

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NN, NB = NARROW_NBSP, NBSP


# --------------------------------------------------------------------------- openers


@pytest.mark.parametrize("memory", [0, 1, 3, 5])
@pytest.mark.parametrize("count", [1, 2, 4, 6])
def test_openers_never_repeat_within_the_memory(memory: int, count: int) -> None:
    openers = [f"o{i}" for i in range(count)]
    recent: list[str | None] = []
    used: list[str] = []
    for _ in range(30):
        chosen = choose_opener(openers, recent, memory)
        used.append(chosen)
        recent = [chosen, *recent]
    window = min(memory, count - 1)  # with fewer openers than memory + 1, repeats must happen
    for i in range(len(used)):
        assert used[i] not in used[max(0, i - window) : i], (used, window)
    if count > 1 and memory > 0:
        assert set(used) == set(openers)  # every opener takes its turn


def test_opener_rotation_survives_a_restart_through_the_store() -> None:
    openers = ["A", "B", "C"]
    # The channel's latest posts (newest first) used A then B: C comes next, then A.
    assert choose_opener(openers, ["B", "A"], 2) == "C"
    assert choose_opener(openers, ["C", "B", "A"], 2) == "A"
    assert choose_opener(openers, [None, "A"], 2) == "B"  # own posts have no opener


# --------------------------------------------------------------------------- typography


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("À lire : le mariage", f"À lire{NB}: le mariage"),
        ("À lire: le mariage", f"À lire{NB}: le mariage"),
        ("Vraiment ? Oui !", f"Vraiment{NN}? Oui{NN}!"),
        ("Quoi?! Non; si.", f"Quoi{NN}?! Non{NN}; si."),
        ('Il a dit "bonjour" hier', f"Il a dit «{NB}bonjour{NB}» hier"),
        ("« déjà »", f"«{NB}déjà{NB}»"),
        ("«collé»", f"«{NB}collé{NB}»"),
        # Times, URLs, handles and hashtags are never touched.
        ("Rendez-vous à 14:30 !", f"Rendez-vous à 14:30{NN}!"),
        ("Lien : https://ex.com/a?b=1&c=d:e !", f"Lien{NB}: https://ex.com/a?b=1&c=d:e{NN}!"),
        ("via @jane@photog.social #photo", "via @jane@photog.social #photo"),
        ("Déjà bien espacé\u00a0:", "Déjà bien espacé\u00a0:"),
    ],
)
def test_french_typography(raw: str, expected: str) -> None:
    assert french_typography(raw) == expected
    assert french_typography(expected) == expected  # idempotent


# --------------------------------------------------------------------------- hashtags and UTM


def test_hashtags_by_rule_capped_and_never_repeating_the_title() -> None:
    voice = Voice(
        hashtags={"curated": ["photography", "news"]},
        hashtag_rules=[
            HashtagRule(match=["wedding", "bride"], tag="#weddingphotography"),
            HashtagRule(match=["portrait"], tag="portraits", categories=["tip"]),
        ],
        max_hashtags=2,
    )
    assert hashtags_for(voice, "curated", "A bride in the rain") == [
        "weddingphotography",
        "photography",
    ]
    assert hashtags_for(voice, "curated", "Street photography now") == ["news"]
    assert hashtags_for(voice, "curated", "A portrait session") == ["photography", "news"]
    assert hashtags_for(voice, "tip", "A portrait session") == ["portraits"]
    assert hashtags_for(voice.model_copy(update={"max_hashtags": 0}), "curated", "x") == []


def test_rule_words_with_a_star_match_prefixes_and_networks_cap_tags() -> None:
    voice = Voice(
        hashtag_rules=[HashtagRule(match=["photo*"], tag="photography")],
        max_hashtags=2,
        hashtag_limits={"facebook": 0},
    )
    assert hashtags_for(voice, "curated", "Photographers at work") == ["photography"]
    assert hashtags_for(voice, "curated", "A telephoto lens") == []  # whole words only
    assert (hashtag_cap(voice, "facebook"), hashtag_cap(voice, "x")) == (0, 2)


def test_a_network_limit_can_raise_the_cap_as_well_as_lower_it() -> None:
    voice = Voice(
        hashtags={"curated": ["photography", "news", "light"]},
        max_hashtags=1,
        hashtag_limits={"mastodon": 3, "facebook": 0},
    )
    assert hashtags_for(voice, "curated", "A story") == ["photography"]
    assert hashtags_for(voice, "curated", "A story", network="x") == ["photography"]
    assert hashtags_for(voice, "curated", "A story", network="mastodon") == [
        "photography",
        "news",
        "light",
    ]
    assert hashtags_for(voice, "curated", "A story", network="facebook") == []


@pytest.mark.parametrize(
    ("author", "source", "credit"),
    [
        ("Jane Doe", "Photo Daily", "Jane Doe"),
        ("David", "David duChemin", "David duChemin"),  # a first name the source carries
        ("Johnny", "Spoon & Tamago", "Johnny, Spoon & Tamago"),
        ("admin", "Photo Daily", None),
        ("news@example.org (Desk)", "Photo Daily", None),
        (None, "Photo Daily", None),
    ],
)
def test_feed_authors_become_credits_a_reader_recognises(
    author: str | None, source: str, credit: str | None
) -> None:
    assert useful_author(author, source) == credit


def test_excerpt_drops_feed_boilerplate_and_keeps_whole_sentences() -> None:
    text = (
        "First sentence here. Second one is a little longer than the first. Third! "
        "The post Something appeared first on Some Blog."
    )
    assert excerpt(text, 60) == "First sentence here."
    assert excerpt(text, 200) == (
        "First sentence here. Second one is a little longer than the first. Third!"
    )
    assert excerpt("one " * 100, 30).endswith("…") and len(excerpt("one " * 100, 30)) <= 30


def test_channels_start_the_rotation_at_different_openers() -> None:
    openers = [f"o{i}" for i in range(6)]
    starts = {channel_order(openers, f"channel-{i}")[0] for i in range(12)}
    assert len(starts) > 1
    assert channel_order(openers, "a") == channel_order(openers, "a")  # stable across runs
    assert sorted(channel_order(openers, "a")) == openers


def test_utm_only_on_the_owners_own_links() -> None:
    voice = Voice(utm=Utm(source="{network}", medium="social", campaign="spring"))
    own = tag_link(
        "https://www.studio.example/weddings?ref=1", voice, "x", "https://studio.example"
    )
    assert own == (
        "https://www.studio.example/weddings?ref=1&utm_source=x&utm_medium=social&utm_campaign=spring"
    )
    assert tag_link(
        "https://blog.studio.example/p", voice, "mastodon", "https://studio.example"
    ) == ("https://blog.studio.example/p?utm_source=mastodon&utm_medium=social&utm_campaign=spring")
    for other in ("https://petapixel.com/a", "https://studio.example.evil.com/x"):
        assert tag_link(other, voice, "x", "https://studio.example") == other
    assert tag_link("https://studio.example/a", Voice(), "x", "https://studio.example") == (
        "https://studio.example/a"
    )


# --------------------------------------------------------------------------- drafting


VOICE_EN = """language: en
openers: {curated: ["One:", "Two:", "Three:", "Four:"]}
opener_memory: 3
hashtags: {curated: [photography]}
hashtag_rules: [{match: [wedding], tag: weddingphotography}]
max_hashtags: 2
utm: {campaign: test}
"""

VOICE_FR = """language: fr
openers: {curated: ["À lire :", "On a aimé :"]}
opener_memory: 1
hashtags: {curated: [photographie]}
"""

CHANNELS = """channels:
  - {name: cx, network: outbox, preview_as: x, slots: {daily: ['09:00']}}
  - {name: cm, network: outbox, preview_as: mastodon, slots: {daily: ['09:00']}}
  - {name: fr-m, network: outbox, preview_as: mastodon, language: fr, slots: {daily: ['09:00']}}
"""


@pytest.fixture
def config(tmp_path: Path, brand: str) -> Config:
    return write_config(
        tmp_path / "config",
        brand,
        sources=(
            "sources:\n  - {name: Site, url: 'https://news.example/feed', "
            "credit: {x: '@site', mastodon: '@site@news.example'}}\n"
            "  - {name: Studio blog, url: 'https://studio.example/feed'}\n"
        ),
        channels=CHANNELS,
        voice=VOICE_EN,
        voice_fr=VOICE_FR,
        policy="ratio: 2\nmax_queued: 20\nmax_item_age: 30d\ndiscover_credits: false\n",
    )


def test_drafts_rotate_openers_per_channel_across_runs(config: Config, store: Store) -> None:
    for run in range(3):  # three draft runs: the rotation continues from the store
        add_items(
            store,
            "Site",
            [(f"https://news.example/{run}-{i}", f"Story {run}-{i} about light") for i in range(3)],
            NOW,
        )
        draft(config, store, NOW, RecordingSink())
    posts = sorted(store.posts.find(channel="cx"), key=lambda p: p.id or 0)
    openers = [p.opener for p in posts]
    assert len(openers) == 9
    for i in range(len(openers)):
        assert openers[i] not in openers[max(0, i - 3) : i], openers
    assert all(p.text.startswith(p.opener or "") for p in posts)


def test_french_channel_gets_french_voice_and_typography(config: Config, store: Store) -> None:
    add_items(store, "Site", [("https://news.example/a?x=1", 'A "wedding" story: what now?')], NOW)
    draft(config, store, NOW, RecordingSink())
    [fr] = store.posts.find(channel="fr-m")
    [en] = store.posts.find(channel="cm")
    assert fr.opener in ("À lire :", "On a aimé :")
    assert fr.text == (
        f"{french_typography(fr.opener)} A «{NB}wedding{NB}» story{NB}: what now{NN}?\n\n"
        "https://news.example/a?x=1\nvia @site@news.example #photographie"
    )
    assert en.text == (
        f'{en.opener} A "wedding" story: what now?\n\nhttps://news.example/a?x=1\n'
        "via @site@news.example #weddingphotography #photography"  # the rule's tag first
    )


def test_hashtags_are_dropped_before_the_title_is_cut(config: Config, store: Store) -> None:
    title = "A very long headline about " + "wedding light " * 13  # fits X alone, not with tags
    add_items(store, "Site", [("https://news.example/long", title.strip())], NOW)
    draft(config, store, NOW, RecordingSink())
    [x] = store.posts.find(channel="cx")
    assert "#" not in x.text and title.strip() in x.text and x.text.endswith("via @site")
    assert textlib.length(x.text, "x") <= 280


def test_drafts_take_the_networks_hashtag_limit_above_max_hashtags(
    tmp_path: Path, brand: str, database_url: str
) -> None:
    config = write_config(
        tmp_path / "config",
        brand,
        channels=CHANNELS,
        voice="language: en\nhashtags: {curated: [photography, news, light]}\n"
        "max_hashtags: 1\nhashtag_limits: {mastodon: 3}\n",
        policy="ratio: 2\nmax_queued: 20\nmax_item_age: 30d\ndiscover_credits: false\n",
    )
    store = Store.open(config.brand.name, url=database_url)
    try:
        add_items(store, "Site", [("https://example.org/a", "A story")], NOW)
        draft(config, store, NOW, RecordingSink())
        [cm] = store.posts.find(channel="cm")
        [cx] = store.posts.find(channel="cx")
        assert cm.text.endswith(" #photography #news #light")
        assert cx.text.endswith("Site #photography")
    finally:
        store.close()


def test_own_links_get_utm_tags_others_do_not(config: Config, store: Store) -> None:
    add_items(store, "Studio blog", [("https://studio.example/journal/1", "Our journal")], NOW)
    add_items(store, "Site", [("https://news.example/b", "Their story")], NOW)
    draft(config, store, NOW, RecordingSink())
    texts = {p.link: p.text for p in store.posts.find(channel="cx")}
    assert (
        "https://studio.example/journal/1?utm_source=x&utm_medium=social&utm_campaign=test"
        in (texts["https://studio.example/journal/1"])
    )
    assert "https://news.example/b\nvia @site" in texts["https://news.example/b"]
    assert "utm_" not in texts["https://news.example/b"]


def test_the_owners_comment_wins_over_the_opener(
    config: Config, store: Store, use_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    add_items(store, "Site", [("https://news.example/c", "Rain on a wedding day")], NOW)
    draft(config, store, NOW, RecordingSink())
    [fr] = store.posts.find(channel="fr-m")
    post = redraft(config, store, fr.id or 0, NOW, comment="Ça nous parle: la pluie porte bonheur!")
    assert post.text.startswith(f"Ça nous parle{NB}: la pluie porte bonheur{NN}! Rain on a wedding")
    assert post.comment == "Ça nous parle: la pluie porte bonheur!"
    assert fr.opener and french_typography(fr.opener) not in post.text

    [cx] = store.posts.find(channel="cx")
    cfg = ["--config", str(config.dir), "--no-prefect", "--json"]
    assert (
        main(["comment", *cfg, str(cx.id), "We", "shot", "one", "like", "this", "in", "May."]) == 0
    )
    row = json_out(capsys.readouterr().out)
    assert row["text"].startswith("We shot one like this in May. Rain on a wedding day")
    assert row["comment"] == "We shot one like this in May."
    # Removing the comment brings the template's opener back.
    assert main(["comment", *cfg, str(cx.id), ""]) == 0
    row = json_out(capsys.readouterr().out)
    assert row["text"].startswith(f"{cx.opener} Rain on a wedding day") and row["comment"] is None


# --------------------------------------------------------------------------- languages in config


def test_a_french_studio_writes_in_french_everywhere(config_dir: Path) -> None:
    from goodwill.config import load_config

    brand = config_dir / "brand.yaml"
    brand.write_text(brand.read_text().replace("language: en", "language: fr"))
    config = load_config(config_dir)
    assert {config.voice_for(c).language for c in config.channels} == {"fr"}
    assert config.voice_for(config.channels[0]).openers["curated"][0] == "À lire :"


def test_voice_files_are_checked_with_file_and_line(config_dir: Path) -> None:
    from goodwill.config import load_config
    from goodwill.errors import ConfigError

    (config_dir / "voice.de.yaml").write_text("language: fr\nopners: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(config_dir)
    lines = err.value.errors
    assert any(
        line.endswith("voice.de.yaml:2: opners: unknown key 'opners'; did you mean 'openers'?")
        for line in lines
    ), lines
    (config_dir / "voice.de.yaml").write_text("language: fr\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(config_dir)
    assert err.value.errors[0].endswith(
        "voice.de.yaml:1: language: 'fr' in voice.de.yaml; write 'de' or rename the file"
    )
