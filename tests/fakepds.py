"""A loopback Bluesky PDS: the XRPC methods Goodwill uses, with real response shapes.

Shapes follow the atproto lexicons (com.atproto.server.createSession / refreshSession /
getSession, com.atproto.repo.createRecord / getRecord) and the XRPC error body
``{"error": "Name", "message": "..."}``. Access tokens are JWT-shaped with an ``exp`` claim so
the connector's proactive refresh can be exercised; ``expire_access()`` makes the server answer
``ExpiredToken`` (400) to the current access token, as a PDS does once it lapses.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.connector_tester import FakeServer, Recorded, Reply

DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
HANDLE = "hazelpine.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


def jwt(scope: str, exp: datetime) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {
        "scope": scope,
        "sub": DID,
        "iat": int(datetime.now(UTC).timestamp()),
        "exp": int(exp.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.{secrets.token_hex(16)}"


def xrpc_error(name: str, message: str, status: int = 400, **headers: str) -> Reply:
    return Reply.json({"error": name, "message": message}, status, headers)


@dataclass
class FakePDS:
    server: FakeServer
    access_lifetime: timedelta = timedelta(hours=2)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    valid_access: set[str] = field(default_factory=set)
    valid_refresh: set[str] = field(default_factory=set)
    expired_access: set[str] = field(default_factory=set)
    sessions_created: int = 0

    def install(self) -> FakePDS:
        s = self.server
        s.route("POST", "/xrpc/com.atproto.server.createSession", self._create_session)
        s.route("POST", "/xrpc/com.atproto.server.refreshSession", self._refresh_session)
        s.route("GET", "/xrpc/com.atproto.server.getSession", self._get_session)
        s.route("POST", "/xrpc/com.atproto.repo.createRecord", self._create_record)
        s.route("GET", "/xrpc/com.atproto.repo.getRecord", self._get_record)
        return self

    def expire_access(self) -> None:
        self.expired_access |= self.valid_access
        self.valid_access.clear()

    def revoke_refresh(self) -> None:
        self.valid_refresh.clear()

    def _tokens(self) -> dict[str, str]:
        now = datetime.now(UTC)
        access = jwt("com.atproto.access", now + self.access_lifetime)
        refresh = jwt("com.atproto.refresh", now + timedelta(days=90))
        self.valid_access.add(access)
        self.valid_refresh.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh}

    def _bearer(self, req: Recorded) -> str:
        return req.headers.get("authorization", "").removeprefix("Bearer ")

    def _auth(self, req: Recorded) -> Reply | None:
        token = self._bearer(req)
        if token in self.valid_access:
            return None
        if token in self.expired_access:
            return xrpc_error("ExpiredToken", "Token has expired")
        return xrpc_error("AuthenticationRequired", "Authentication Required", 401)

    def _create_session(self, req: Recorded) -> Reply:
        body = req.json or {}
        if body.get("identifier") != HANDLE or body.get("password") != APP_PASSWORD:
            return xrpc_error("AuthenticationRequired", "Invalid identifier or password", 401)
        self.sessions_created += 1
        return Reply.json(
            {
                **self._tokens(),
                "handle": HANDLE,
                "did": DID,
                "didDoc": {"id": DID, "alsoKnownAs": [f"at://{HANDLE}"]},
                "email": "studio@example.com",
                "emailConfirmed": True,
                "active": True,
            }
        )

    def _refresh_session(self, req: Recorded) -> Reply:
        token = self._bearer(req)
        if token not in self.valid_refresh:
            return xrpc_error("ExpiredToken", "Token has been revoked")
        self.valid_refresh.discard(token)  # refresh tokens are single-use
        return Reply.json({**self._tokens(), "handle": HANDLE, "did": DID, "active": True})

    def _get_session(self, req: Recorded) -> Reply:
        return self._auth(req) or Reply.json(
            {"handle": HANDLE, "did": DID, "email": "studio@example.com", "active": True}
        )

    def _create_record(self, req: Recorded) -> Reply:
        denied = self._auth(req)
        if denied:
            return denied
        body = req.json
        rkey = body.get("rkey")
        if body.get("repo") != DID or body.get("collection") != "app.bsky.feed.post":
            return xrpc_error("InvalidRequest", "Invalid collection or repo")
        if rkey in self.records:
            return xrpc_error("InvalidRequest", f"Record already exists at rkey {rkey}")
        text = body["record"].get("text", "")
        if len(text) > 3000:
            return xrpc_error("InvalidRequest", "Invalid app.bsky.feed.post record: text too long")
        self.records[rkey] = body["record"]
        cid = "bafyreig" + secrets.token_hex(26)
        return Reply.json(
            {
                "uri": f"at://{DID}/app.bsky.feed.post/{rkey}",
                "cid": cid,
                "commit": {"cid": "bafyreib" + secrets.token_hex(26), "rev": "3lbz2qmgj2k2c"},
                "validationStatus": "valid",
            }
        )

    def _get_record(self, req: Recorded) -> Reply:
        rkey = req.query.get("rkey", [""])[0]
        if rkey not in self.records:
            return xrpc_error(
                "RecordNotFound", f"Could not locate record: at://{DID}/app.bsky.feed.post/{rkey}"
            )
        return Reply.json(
            {
                "uri": f"at://{DID}/app.bsky.feed.post/{rkey}",
                "cid": "bafyreig" + "0" * 52,
                "value": self.records[rkey],
            }
        )
