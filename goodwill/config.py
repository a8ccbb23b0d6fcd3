"""The owner's YAML, validated once into typed models; every error names FILE:LINE: key.path.

Files in the config folder: ``brand.yaml``, ``sources.yaml``, ``channels.yaml`` (required);
``voice.yaml``, ``policy.yaml``, ``posts.yaml`` (optional, sensible defaults). Unknown keys are
errors (typos must not be silently ignored). Credentials are references (``env:NAME``),
never values.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from goodwill.errors import ConfigError
from goodwill.models import Kind
from goodwill.slots import WeeklySlot, parse_weekly_slots

__all__ = [
    "Brand",
    "Channel",
    "Config",
    "Evergreen",
    "HashtagRule",
    "OwnPost",
    "Policy",
    "Price",
    "SecretRef",
    "Source",
    "Utm",
    "Voice",
    "load_config",
    "parse_duration",
]

CONFIG_FILES = (
    "brand.yaml",
    "sources.yaml",
    "channels.yaml",
    "voice.yaml",
    "policy.yaml",
    "posts.yaml",
)
REQUIRED_FILES = ("brand.yaml", "sources.yaml", "channels.yaml")

# --------------------------------------------------------------------------- value types

_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: object) -> timedelta:
    """``"30m"``, ``"12h"``, ``"3d"``, ``"2w"`` (or a number of minutes) → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(minutes=value)
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    raise ValueError(f"not a duration: {value!r}; write e.g. 30m, 12h, 3d or 2w")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]

_SECRET_REF = re.compile(r"^(env|secret|file):(\S+)$")


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a credential lives: ``env:NAME``, ``secret:prefect-block`` or ``file:/path``."""

    scheme: str
    name: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.name}"

    def resolve(self) -> SecretStr:
        """The credential's value, masked. Raises ConfigError when it cannot be found."""
        if self.scheme == "env":
            value = os.environ.get(self.name)
            if not value:
                raise ConfigError(f"credential {self} is not set: export {self.name}=...")
            return SecretStr(value)
        if self.scheme == "file":
            path = Path(self.name).expanduser()
            try:
                return SecretStr(path.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigError(f"credential {self} cannot be read: {exc.strerror}") from None
        raise ConfigError(f"credential {self}: Prefect Secret blocks are resolved by the flows")


def _secret_ref(value: object) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    if isinstance(value, str) and (m := _SECRET_REF.match(value.strip())):
        return SecretRef(m.group(1), m.group(2))
    # Never echo the value: it may be a real token pasted by mistake.
    raise ValueError(
        "credentials are references, never values: write env:NAME (and export NAME), "
        "secret:BLOCK or file:/path/outside/the/repo"
    )


SecretReference = Annotated[
    SecretRef, BeforeValidator(_secret_ref), PlainSerializer(str, return_type=str)
]


def _zone(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an IANA timezone name such as Europe/Paris")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r}; use an IANA name such as Europe/Paris or America/New_York"
        ) from None
    return value


TimeZoneName = Annotated[str, BeforeValidator(_zone)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- files


class Brand(_Model):
    name: str
    timezone: TimeZoneName = "UTC"
    language: str = "en"
    website: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Filters(_Model):
    include: list[str] = []
    exclude: list[str] = []


class Source(_Model):
    name: str
    url: Annotated[str, Field(pattern=r"^https?://")]
    credit: dict[Literal["x", "facebook", "linkedin", "mastodon", "bluesky", "outbox"], str] = {}
    site: str | None = None
    weight: float = 1.0
    enabled: bool = True
    include: list[str] = []
    exclude: list[str] = []


class SourcesFile(_Model):
    sources: list[Source]
    filters: Filters = Filters()

    @model_validator(mode="after")
    def _unique(self) -> SourcesFile:
        _require_unique([s.name for s in self.sources], "sources", "source name")
        return self


class _ChannelBase(_Model):
    name: Name
    review: Literal["auto", "required"] = "auto"
    timezone: TimeZoneName | None = None
    slots: dict[str, list[str]] = {"weekdays": ["09:30", "17:30"]}
    categories: list[str] | None = None  # None: every category
    max_per_day: int | None = Field(default=None, ge=1)
    enabled: bool = True
    language: str | None = None

    @field_validator("slots")
    @classmethod
    def _slots(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        parse_weekly_slots(value)
        return value

    @property
    def weekly_slots(self) -> list[WeeklySlot]:
        return parse_weekly_slots(self.slots)

    @property
    def style(self) -> str:
        """The network whose text rules drafts follow (its own, except for previews)."""
        network: str = self.network  # type: ignore[attr-defined]  # each subclass declares it
        return network


class OutboxChannel(_ChannelBase):
    network: Literal["outbox"]
    path: str = "outbox.jsonl"
    #: Draft for this network (limits, credit handles) while writing to the local file.
    preview_as: Literal["x", "facebook", "linkedin", "mastodon", "bluesky"] | None = None

    @property
    def style(self) -> str:
        return self.preview_as or "facebook"


class MastodonChannel(_ChannelBase):
    network: Literal["mastodon"]
    base_url: Annotated[str, Field(pattern=r"^https?://")]
    access_token: SecretReference
    visibility: Literal["public", "unlisted", "private"] = "public"


class BlueskyChannel(_ChannelBase):
    network: Literal["bluesky"]
    handle: str
    app_password: SecretReference
    base_url: Annotated[str, Field(pattern=r"^https?://")] = "https://bsky.social"


def _http_url(value: str) -> str:
    return value.rstrip("/")


BaseURL = Annotated[str, Field(pattern=r"^https?://"), AfterValidator(_http_url)]


class XChannel(_ChannelBase):
    """An X account: OAuth 1.0a user context (four keys) or OAuth 2.0 PKCE (a token file)."""

    network: Literal["x"]
    # OAuth 1.0a user context: the app's key and secret, the account's token and secret.
    api_key: SecretReference | None = None
    api_secret: SecretReference | None = None
    access_token: SecretReference | None = None
    access_token_secret: SecretReference | None = None
    # OAuth 2.0 PKCE: the app's client id (public), its secret for confidential clients, and a
    # JSON token file (access token, offline.access refresh token, expiry) rewritten on refresh.
    client_id: str | None = None
    client_secret: SecretReference | None = None
    oauth2_token: SecretReference | None = None
    base_url: BaseURL = "https://api.x.com"
    #: Where the OAuth 2.0 authorize page lives, and the loopback redirect registered in the
    #: app (``goodwill auth``).
    auth_base_url: BaseURL = "https://x.com"
    redirect_uri: Annotated[str, Field(pattern=r"^http://(127\.0\.0\.1|localhost):")] = (
        "http://127.0.0.1:8765/callback"
    )
    #: X bills each post: stop (hold posts) before this many dollars a calendar month (UTC).
    monthly_budget: float | None = Field(default=None, ge=0)
    #: Overrides of policy.yaml ``prices.x`` for this account.
    price_per_post: float | None = Field(default=None, ge=0)
    price_per_post_with_url: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_auth(self) -> XChannel:
        oauth1 = [self.api_key, self.api_secret, self.access_token, self.access_token_secret]
        if any(oauth1):
            if not all(oauth1):
                raise ValueError(
                    "OAuth 1.0a needs all four of api_key, api_secret, access_token, "
                    "access_token_secret (or use client_id + oauth2_token)"
                )
            if self.oauth2_token:
                raise ValueError("use either the OAuth 1.0a keys or oauth2_token, not both")
        elif self.oauth2_token is None or self.client_id is None:
            raise ValueError(
                "credentials missing: give api_key, api_secret, access_token and "
                "access_token_secret, or client_id and oauth2_token (`goodwill auth` writes them)"
            )
        if self.oauth2_token is not None and self.oauth2_token.scheme != "file":
            raise ValueError(
                "oauth2_token must be file:/path: X rotates the refresh token on every refresh "
                "and Goodwill writes the new one back to that file"
            )
        return self


class FacebookChannel(_ChannelBase):
    """A Facebook Page, posted to with a (long-lived) Page access token."""

    network: Literal["facebook"]
    page_id: Annotated[str, Field(pattern=r"^[0-9]+$")]
    page_access_token: SecretReference
    base_url: BaseURL = "https://graph.facebook.com"
    #: The Graph API version every request names (facebook-sdk's own check stops at v3.1).
    graph_version: Annotated[str, Field(pattern=r"^v[0-9]+\.[0-9]+$")] = "v21.0"
    #: Only for `goodwill auth` (the long-lived token exchange).
    app_id: str | None = None
    app_secret: SecretReference | None = None


class LinkedInChannel(_ChannelBase):
    """A LinkedIn member or organization, posting through the versioned Posts API."""

    network: Literal["linkedin"]
    author: Annotated[str, Field(pattern=r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")]
    access_token: SecretReference
    base_url: BaseURL = "https://api.linkedin.com"
    #: ``LinkedIn-Version`` header (YYYYMM); LinkedIn supports each version for a year.
    api_version: Annotated[str, Field(pattern=r"^20[0-9]{2}(0[1-9]|1[0-2])$")] = "202510"
    #: When the 60-day access token expires (``goodwill auth`` also keeps it in the token file).
    token_expires: date | None = None
    #: Only for `goodwill auth` (the three-legged flow).
    client_id: str | None = None
    client_secret: SecretReference | None = None
    auth_base_url: BaseURL = "https://www.linkedin.com"
    redirect_uri: Annotated[str, Field(pattern=r"^http://(127\.0\.0\.1|localhost):")] = (
        "http://127.0.0.1:8765/callback"
    )


Channel = Annotated[
    OutboxChannel | MastodonChannel | BlueskyChannel | XChannel | FacebookChannel | LinkedInChannel,
    Field(discriminator="network"),
]


class ChannelsFile(_Model):
    channels: list[Channel]

    @model_validator(mode="after")
    def _unique(self) -> ChannelsFile:
        _require_unique([c.name for c in self.channels], "channels", "channel name")
        return self


class HashtagRule(_Model):
    """Add ``tag`` when one of ``match`` (words, case-insensitive) is in the title or summary."""

    match: list[str] = Field(min_length=1)
    tag: str = Field(pattern=r"^#?\w+$")
    categories: list[str] | None = None  # None: every category


class Utm(_Model):
    """Campaign tags added to the owner's own links (never to anyone else's)."""

    source: str = "{network}"
    medium: str = "social"
    campaign: str = "goodwill"


class Voice(_Model):
    """How drafts sound: openers rotate per category; templates per category and network.

    One voice per language: ``voice.yaml`` (the brand's language) and ``voice.LANG.yaml``
    (e.g. ``voice.fr.yaml``) for channels whose ``language`` differs.
    """

    language: str | None = None
    openers: dict[str, list[str]] = {
        "curated": [
            "Worth a read:",
            "Good one from the industry:",
            "Interesting:",
            "This caught our eye:",
        ]
    }
    #: An opener is not used again until this many other posts went out on the channel.
    opener_memory: int = Field(default=4, ge=0)
    templates: dict[str, dict[str, str]] = {}
    hashtags: dict[str, list[str]] = {}
    hashtag_rules: list[HashtagRule] = []
    max_hashtags: int = Field(default=2, ge=0)
    #: Per-network caps that override max_hashtags, e.g. {facebook: 0}.
    hashtag_limits: dict[
        Literal["x", "facebook", "linkedin", "mastodon", "bluesky"], Annotated[int, Field(ge=0)]
    ] = {}
    #: Typography of the language: "auto" follows ``language`` (fr: no-break spaces, « »).
    typography: Literal["auto", "fr", "plain"] = "auto"
    utm: Utm | None = None


class Category(_Model):
    kind: Kind


class Price(_Model):
    """What a network bills per post, in dollars (X, 2026: $0.015, $0.20 with a URL)."""

    per_post: float = Field(ge=0)
    per_post_with_url: float | None = Field(default=None, ge=0)


class Policy(_Model):
    ratio: int = Field(default=4, ge=0)
    max_item_age: Duration = timedelta(days=3)
    grace: Duration = timedelta(minutes=45)
    dedupe_window: Duration = timedelta(days=3)
    max_queued: int = Field(default=10, ge=1)
    max_per_day: int = Field(default=4, ge=1)
    fetch_timeout: Duration = timedelta(seconds=20)
    max_feed_bytes: int = Field(default=10_000_000, ge=1024)
    # Connections in flight: cheap with asyncio, and limit_per_host (4) protects each site.
    concurrency: int = Field(default=128, ge=1, le=512)
    #: Never share the same link twice on a channel within this window.
    link_window: Duration = timedelta(days=14)
    #: Read an article's page (once) for its author's handles when sources.yaml has none.
    discover_credits: bool = True
    page_timeout: Duration = timedelta(seconds=8)
    max_page_bytes: int = Field(default=1_000_000, ge=1024)
    categories: dict[Name, Category] = {
        "curated": Category(kind=Kind.VALUE),
        "tip": Category(kind=Kind.VALUE),
        "personal": Category(kind=Kind.VALUE),
        "promotion": Category(kind=Kind.PROMOTION),
    }
    #: Per-network post prices (a channel may override); networks absent here are free.
    prices: dict[str, Price] = {"x": Price(per_post=0.015, per_post_with_url=0.20)}

    @field_validator("fetch_timeout", "page_timeout", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return timedelta(seconds=value)
        if isinstance(value, str) and value.strip().endswith("s") and value.strip()[:-1].isdigit():
            return timedelta(seconds=int(value.strip()[:-1]))
        return value

    @model_validator(mode="after")
    def _builtin_categories(self) -> Policy:
        if "curated" not in self.categories:
            raise ValueError("categories must keep 'curated' (the shared news)")
        return self

    def kind_of(self, category: str) -> Kind:
        return self.categories[category].kind


class OwnPost(_Model):
    """A post the owner wrote: promotions, tips, personal news. ``key`` keeps it unique."""

    key: Name
    category: str
    text: str = Field(min_length=1)
    link: str | None = Field(default=None, pattern=r"^https?://")
    channels: list[str] | None = None  # None: every channel that takes the category
    at: datetime | None = None
    start: date | None = None
    end: date | None = None
    #: Evergreen posts come back after ``evergreen.min_gap``; the best (highest weight) first.
    evergreen: bool = False
    weight: float = Field(default=1.0, gt=0)
    #: Only channels writing in this language (default: every channel).
    language: str | None = None
    #: The text in other languages, for channels that write in them: {fr: "..."}.
    translations: dict[str, str] = {}


class Evergreen(_Model):
    """How the owner's evergreen posts are recycled."""

    min_gap: Duration = timedelta(days=30)
    #: At most this many recycled posts waiting per channel.
    max_queued: int = Field(default=1, ge=0)


class PostsFile(_Model):
    posts: list[OwnPost] = []
    evergreen: Evergreen = Evergreen()

    @model_validator(mode="after")
    def _unique(self) -> PostsFile:
        _require_unique([p.key for p in self.posts], "posts", "post key")
        return self


# --------------------------------------------------------------------------- the whole config


@dataclass(frozen=True)
class Config:
    """Everything the owner configured, validated together."""

    dir: Path
    brand: Brand
    sources: list[Source]
    filters: Filters
    channels: list[Any]  # list[Channel]; Any keeps attribute access simple for the union
    voice: Voice
    policy: Policy
    posts: list[OwnPost] = field(default_factory=list)
    evergreen: Evergreen = field(default_factory=Evergreen)
    #: Voices by language (``voice.yaml`` under its language, ``voice.LANG.yaml`` under LANG).
    voices: dict[str, Voice] = field(default_factory=dict)

    def channel_language(self, channel: Any) -> str:
        return str(channel.language or self.brand.language)

    def voice_for(self, channel: Any) -> Voice:
        """The voice a channel writes in: its language's voice file, else ``voice.yaml``."""
        return self.voices.get(self.channel_language(channel), self.voice)

    def channel(self, name: str) -> Any:
        for channel in self.channels:
            if channel.name == name:
                return channel
        known = ", ".join(c.name for c in self.channels) or "none"
        from goodwill.errors import NotFound

        raise NotFound(f"unknown channel {name!r}; channels: {known}")

    def channels_to_run(self, only: str | None = None) -> list[Any]:
        """Enabled channels, or just the one named ``only`` (the per-channel steps' loop)."""
        return [c for c in self.channels if c.enabled and (only is None or c.name == only)]

    def channel_tz(self, channel: Any) -> ZoneInfo:
        return ZoneInfo(channel.timezone or self.brand.timezone)

    def channel_takes(self, channel: Any, category: str) -> bool:
        return channel.categories is None or category in channel.categories

    def resolve_path(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.dir / p


def _require_unique(names: list[str], where: str, what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} {name!r} appears twice in {where}; names must be unique")
        seen.add(name)


# --------------------------------------------------------------------------- YAML with lines


@dataclass
class _Document:
    path: Path
    data: Any
    lines: dict[tuple[str | int, ...], int]  # key path -> 1-based line


class _LineLoader(yaml.SafeLoader):
    """A safe loader that keeps each node's position (no Python tags, no aliases bombs)."""


def _load_yaml(path: Path) -> _Document:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}:1: (file): not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}:1: (file): cannot be read: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            f"{path}:{line}: (yaml): {problem}; check indentation and quoting near this line"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}:1: (yaml): {exc}") from None
    lines: dict[tuple[str | int, ...], int] = {}
    data = _construct(node, (), lines, path) if node is not None else None
    return _Document(path, data, lines)


def _construct(
    node: yaml.Node, at: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int], path: Path
) -> Any:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in out:
                raise ConfigError(
                    f"{path}:{key_node.start_mark.line + 1}: {_dotted((*at, key))}: "
                    "key appears twice; keep one"
                )
            out[key] = _construct(value_node, (*at, key), lines, path)
            lines[(*at, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, (*at, i), lines, path) for i, v in enumerate(node.value)]
    loader = _LineLoader("")
    return loader.construct_object(node, deep=True)


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top)"


def _error_lines(doc: _Document, exc: ValidationError, root: tuple[str, ...] = ()) -> Iterator[str]:
    for err in exc.errors(include_url=False):
        raw = (*root, *err["loc"])
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            raw = (*raw, "network")  # pydantic points at the item; the culprit is its network
        loc = _data_path(doc.data, raw)
        line = _line_for(doc.lines, loc)
        yield f"{doc.path}:{line}: {_dotted(loc)}: {_message(err, doc, loc)}"


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Pydantic's error location without union tags, as a path into the YAML data."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        in_list = isinstance(cur, list) and isinstance(part, int) and part < len(cur)
        if in_list or (isinstance(cur, dict) and part in cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str) and part != cur.get("network"):
            out.append(part)  # a missing key: name it, line of its parent
            cur = None
        elif cur is None:
            break
        # else: a discriminator tag such as 'mastodon' in ('channels', 0, 'mastodon', 'x'): skip
    return tuple(out)


def _line_for(lines: Mapping[tuple[str | int, ...], int], loc: tuple[str | int, ...]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _message(err: Any, doc: _Document, loc: tuple[str | int, ...]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        known = _known_keys(doc, loc)
        hint = difflib.get_close_matches(key, known, n=1)
        if hint:
            return f"unknown key {key!r}; did you mean {hint[0]!r}?"
        return f"unknown key {key!r}" + (f"; known keys: {', '.join(known)}" if known else "")
    if kind == "missing":
        return "required key is missing; add it"
    if kind == "union_tag_invalid":
        return "unknown network; use one of x, facebook, linkedin, mastodon, bluesky, outbox"
    if kind == "union_tag_not_found":
        return (
            "network is missing; add network: x | facebook | linkedin | mastodon | bluesky | outbox"
        )
    if kind == "literal_error":
        return f"{err['msg'].lower()}"
    message = str(err["msg"])
    return message.removeprefix("Value error, ")


def _known_keys(doc: _Document, loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed where ``loc`` points: the model whose fields best match the siblings."""
    if len(loc) == 1:  # a top-level key: the file says which model
        name = doc.path.name
        top = _FILE_MODELS.get("voice.yaml" if name.startswith("voice.") else name)
        if top is not None:
            return sorted(top.model_fields)
    parent: Any = doc.data
    for part in loc[:-1]:
        parent = parent[part] if isinstance(parent, dict | list) else None  # type: ignore[index]
    if not isinstance(parent, dict):
        return []
    siblings = set(parent) - {loc[-1]}
    models: list[type[BaseModel]] = [
        Brand,
        SourcesFile,
        Source,
        Filters,
        ChannelsFile,
        Voice,
        HashtagRule,
        Utm,
        Policy,
        Category,
        Price,
        PostsFile,
        OwnPost,
        Evergreen,
        OutboxChannel,
        MastodonChannel,
        BlueskyChannel,
        XChannel,
        FacebookChannel,
        LinkedInChannel,
    ]
    network = parent.get("network")
    if network:
        models = [
            m
            for m in models
            if m.model_fields.get("network") is not None
            and network in str(m.model_fields["network"].annotation)
        ]
    best = max(models, key=lambda m: len(siblings & set(m.model_fields)), default=None)
    return sorted(best.model_fields) if best else []


_FILE_MODELS: dict[str, type[BaseModel]] = {
    "brand.yaml": Brand,
    "sources.yaml": SourcesFile,
    "channels.yaml": ChannelsFile,
    "voice.yaml": Voice,
    "policy.yaml": Policy,
    "posts.yaml": PostsFile,
}


def _validate(doc: _Document, model: type[BaseModel], errors: list[str]) -> Any:
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        errors.append(f"{doc.path}:1: (top): expected a mapping of keys to values")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors.extend(_error_lines(doc, exc))
        return None


def load_config(config_dir: str | os.PathLike[str]) -> Config:
    """Read and validate every config file; raise ConfigError listing every problem found."""
    root = Path(config_dir)
    if not root.is_dir():
        raise ConfigError(
            f"{root}:1: (folder): config folder not found; create one with `goodwill init {root}`"
        )
    errors: list[str] = []
    docs: dict[str, _Document] = {}
    for name in CONFIG_FILES:
        path = root / name
        if not path.exists():
            if name in REQUIRED_FILES:
                errors.append(f"{path}:1: (file): missing; `goodwill init` writes a starter")
            continue
        try:
            docs[name] = _load_yaml(path)
        except ConfigError as exc:
            errors.extend(exc.errors)
    for path in sorted(root.glob("voice.*.yaml")):
        try:
            docs[path.name] = _load_yaml(path)
        except ConfigError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigError(errors)

    def doc(name: str) -> _Document:
        return docs.get(name) or _Document(root / name, {}, {})

    brand = _validate(doc("brand.yaml"), Brand, errors)
    sources = _validate(doc("sources.yaml"), SourcesFile, errors)
    channels = _validate(doc("channels.yaml"), ChannelsFile, errors)
    voice = _validate(doc("voice.yaml"), Voice, errors)
    policy = _validate(doc("policy.yaml"), Policy, errors)
    posts = _validate(doc("posts.yaml"), PostsFile, errors)
    extra_voices: dict[str, Voice] = {}
    for name in sorted(docs):
        if name.startswith("voice.") and name != "voice.yaml":
            lang = name.removeprefix("voice.").removesuffix(".yaml")
            parsed = _validate(docs[name], Voice, errors)
            if parsed is not None:
                if parsed.language and parsed.language != lang:
                    errors.append(
                        f"{docs[name].path}:{_line_for(docs[name].lines, ('language',))}: "
                        f"language: {parsed.language!r} in {name}; write {lang!r} or rename "
                        "the file"
                    )
                extra_voices[lang] = parsed
    if errors:
        raise ConfigError(errors)

    voices = {voice.language or brand.language: voice, **extra_voices}
    cross = _cross_check(docs, channels, voice, policy, posts)
    for lang, extra in extra_voices.items():
        cross.extend(_voice_categories(docs, f"voice.{lang}.yaml", extra, policy))
    if cross:
        raise ConfigError(cross)
    return Config(
        dir=root.resolve(),
        brand=brand,
        sources=sources.sources,
        filters=sources.filters,
        channels=list(channels.channels),
        voice=voice,
        policy=policy,
        posts=posts.posts,
        evergreen=posts.evergreen,
        voices=voices,
    )


def _cross_check(
    docs: dict[str, _Document],
    channels: ChannelsFile,
    voice: Voice,
    policy: Policy,
    posts: PostsFile,
) -> list[str]:
    """Checks that span files: categories and channels named elsewhere must exist."""
    errors: list[str] = []
    categories = set(policy.categories)
    channel_names = {c.name for c in channels.channels}

    def err(file: str, loc: tuple[str | int, ...], message: str) -> None:
        errors.append(_located(docs, file, loc, message))

    def unknown_category(name: str) -> str:
        return _unknown_category(name, categories)

    for i, ch in enumerate(channels.channels):
        for j, cat in enumerate(ch.categories or []):
            if cat not in categories:
                err("channels.yaml", ("channels", i, "categories", j), unknown_category(cat))
    for i, post in enumerate(posts.posts):
        if post.category not in categories:
            err("posts.yaml", ("posts", i, "category"), unknown_category(post.category))
        for j, name in enumerate(post.channels or []):
            if name not in channel_names:
                err(
                    "posts.yaml",
                    ("posts", i, "channels", j),
                    f"unknown channel {name!r}; channels: {', '.join(sorted(channel_names))}",
                )
        if post.start and post.end and post.end < post.start:
            err("posts.yaml", ("posts", i, "end"), "end is before start")
    errors.extend(_voice_categories(docs, "voice.yaml", voice, policy))
    return errors


def _voice_categories(
    docs: dict[str, _Document], file: str, voice: Voice, policy: Policy
) -> list[str]:
    """A voice's openers must be for declared categories."""
    categories = set(policy.categories)
    return [
        _located(docs, file, ("openers", cat), _unknown_category(cat, categories))
        for cat in voice.openers
        if cat not in categories
    ]


def _located(
    docs: dict[str, _Document], file: str, loc: tuple[str | int, ...], message: str
) -> str:
    """``message`` about the key at ``loc`` of ``file``, as "path:line: key: message"."""
    d = docs.get(file)
    line = _line_for(d.lines, loc) if d else 1
    return f"{Path(d.path if d else file)}:{line}: {_dotted(loc)}: {message}"


def _unknown_category(name: str, categories: set[str]) -> str:
    hint = difflib.get_close_matches(name, sorted(categories), n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"unknown category {name!r}{extra} (declare it in policy.yaml categories)"
