"""Bearer tokens for DICOMweb (publisher.db.tokens) on SQLite, PostgreSQL and MariaDB: a token
acts as its user with that user's role, only its hash is kept, revoking or disabling ends it."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from publisher.db.models import ApiToken
from publisher.db.tokens import list_tokens, make_token, revoke_token, user_of_token
from publisher.db.users import set_disabled
from tests.support.web_site import Site


def test_tokens_act_as_their_user_until_revoked_or_disabled(site: Site) -> None:
    site.app.state.archive = site.archive
    token = make_token(site.db, "rad", "script")
    with site.db.session() as s:
        (stored,) = s.scalars(select(ApiToken.token_sha256))
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    user = user_of_token(site.db, token)
    assert user is not None and user.username == "rad"
    bearer = {"Authorization": f"Bearer {token}"}
    c = site.client()
    r = c.get("/dicomweb/studies", headers=bearer)
    assert r.status_code == 200 and r.headers["content-type"] == "application/dicom+json"
    assert c.get("/api/patients", headers=bearer).status_code == 401  # a token opens DICOMweb only
    desk = make_token(site.db, "desk")
    assert c.get("/dicomweb/studies", headers={"Authorization": f"Bearer {desk}"}).status_code == 403
    # A session works too, and nobody else.
    assert site.login("rad").get("/dicomweb/studies").status_code == 200
    assert c.get("/dicomweb/studies").status_code == 401
    assert c.get("/dicomweb/studies", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    set_disabled(site.db, "rad", True)
    assert c.get("/dicomweb/studies", headers=bearer).status_code == 401
    set_disabled(site.db, "rad", False)
    assert c.get("/dicomweb/studies", headers=bearer).status_code == 200
    (first, _second) = list_tokens(site.db)
    assert first.username == "rad" and first.label == "script" and not first.revoked
    assert revoke_token(site.db, first.id) and not revoke_token(site.db, 10**6)
    assert c.get("/dicomweb/studies", headers=bearer).status_code == 401
