"""Same-story detection: the prefix-filtered index finds exactly what comparing every pair
would find (below its hostile-input budget)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from goodwill.dedupe import MIN_TOKENS, SAME_STORY, StoryIndex, title_key, title_tokens

WORDS = ["lens", "bride", "camera", "light", "studio", "film", "flash", "print", "drone", "iso"]
T0 = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = timedelta(days=3)

titles = st.lists(st.sampled_from(WORDS), min_size=1, max_size=9).map(" ".join)
entries = st.lists(
    st.tuples(titles, st.sampled_from(["a", "b", "c"]), st.integers(0, 6 * 24)),
    min_size=1,
    max_size=60,
)


def brute(
    source: str, when: datetime, key: str, seen: list[tuple[int, str, datetime, str]]
) -> set[int]:
    tokens = title_tokens(key)
    out = set()
    for id_, s, w, k in seen:
        if s == source or abs(w - when) > WINDOW:
            continue
        if k == key:
            out.add(id_)
            continue
        other = title_tokens(k)
        if (
            len(tokens) >= MIN_TOKENS
            and len(other) >= MIN_TOKENS
            and len(tokens & other) / len(tokens | other) >= SAME_STORY
        ):
            out.add(id_)
    return out


@settings(max_examples=300, deadline=None)
@given(entries, st.booleans())
def test_index_matches_brute_force(batch: list[tuple[str, str, int]], use_freq: bool) -> None:
    keyed = [(title_key(t), s, T0 + timedelta(hours=h)) for t, s, h in batch]
    freq = Counter(tok for k, _, _ in keyed for tok in title_tokens(k)) if use_freq else None
    index = StoryIndex(WINDOW, freq)
    seen: list[tuple[int, str, datetime, str]] = []
    for i, (key, source, when) in enumerate(keyed):
        assert set(index.match(source, when, key)) == brute(source, when, key, seen)
        index.add(i, source, when, key)
        seen.append((i, source, when, key))


def test_same_story_across_sources_only() -> None:
    index = StoryIndex(WINDOW)
    index.add(1, "PetaPixel", T0, title_key("Lumora X9 Pro: a 61MP sensor, reviewed"))
    assert index.match("DPReview", T0, title_key("Lumora X9 Pro — a 61MP Sensor Reviewed")) == [1]
    assert index.match("PetaPixel", T0, title_key("Lumora X9 Pro a 61MP sensor reviewed")) == []
    assert index.match("DPReview", T0 + 2 * WINDOW, title_key("Lumora X9 Pro 61MP sensor")) == []


def test_title_key_folds_case_accents_and_punctuation() -> None:
    assert title_key("Café — CRÈME, brûlée!") == "cafe creme brulee"
    assert title_key("Plain ASCII: Title") == "plain ascii title"


def _title_key_reference(title: str) -> str:
    """title_key as first written, one regex for every title (the oracle for its ASCII path)."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFKD", title.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())[:200]


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.text(st.characters(max_codepoint=127)), st.text(max_size=300)))
def test_title_key_agrees_with_the_regex_version(title: str) -> None:
    assert title_key(title) == _title_key_reference(title)


def test_index_matches_brute_force_on_near_copies() -> None:
    """Many long titles, a third of them an earlier one with a word changed, added or dropped:
    matches that hinge on one word, where the length and positional filters prune most."""
    import random

    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(40)]
    weights = [1 / (r + 1) for r in range(len(vocab))]
    raw: list[list[str]] = []
    for _ in range(700):
        if raw and rng.random() < 0.35:
            words = list(rng.choice(raw))
            edit = rng.randrange(3)
            if edit == 0:
                words[rng.randrange(len(words))] = rng.choice(vocab)
            elif edit == 1:
                words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
            elif len(words) > 1:
                words.pop(rng.randrange(len(words)))
        else:
            words = rng.choices(vocab, weights=weights, k=rng.randint(3, 14))
        raw.append(words)
    keyed = [
        (title_key(" ".join(w)), rng.choice("abcd"), T0 + timedelta(hours=rng.randint(0, 200)))
        for w in raw
    ]
    freq = Counter(tok for k, _, _ in keyed for tok in title_tokens(k))
    index = StoryIndex(WINDOW, freq)
    seen: list[tuple[int, str, datetime, str]] = []
    matched = 0
    for i, (key, source, when) in enumerate(keyed):
        found = set(index.match(source, when, key))
        assert found == brute(source, when, key, seen)
        matched += bool(found)
        index.add(i, source, when, key)
        seen.append((i, source, when, key))
    assert matched > 50  # the case really is full of same stories


def test_a_key_longer_than_title_key_makes_still_matches() -> None:
    """Stored keys come from ``title_key`` (200 characters at most), but one written by hand
    into the store may be longer: it is matched like any other, not an error."""
    words = [f"w{i}" for i in range(300)]
    index = StoryIndex(WINDOW)
    index.add(1, "a", T0, " ".join(words))
    assert index.match("b", T0, " ".join(words[:-1])) == [1]


def test_index_matches_brute_force_when_words_are_shared_by_hundreds() -> None:
    """Four hundred titles, most of them one rare word and common ones: that word's posting
    list grows past the point where it is split by source, and lookups stay under the
    candidate budget."""
    import random

    import goodwill.dedupe

    rng = random.Random(8)
    keyed = [
        (
            title_key(" ".join([*(["zoom"] if k < 320 else []), *rng.sample(WORDS[:6], 4)])),
            rng.choice("abcd"),
            T0 + timedelta(hours=rng.randint(0, 200)),
        )
        for k in range(400)
    ]
    rng.shuffle(keyed)
    index = StoryIndex(WINDOW, Counter(t for k, _, _ in keyed for t in title_tokens(k)))
    seen: list[tuple[int, str, datetime, str]] = []
    for i, (key, source, when) in enumerate(keyed):
        assert set(index.match(source, when, key)) == brute(source, when, key, seen)
        index.add(i, source, when, key)
        seen.append((i, source, when, key))
    split = [p for p in index._by_token.values() if isinstance(p, dict)]
    assert split and all(len(p) > 1 for p in split)
    assert max(sum(map(len, p.values())) for p in split) > goodwill.dedupe._SPLIT
