"""The dashboard's pages, in-process: who may see them, what they show, and replay and
discard from the page, on a workspace a real run left a constraint and a dead letter in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncwell import Engine, load_workspace
from syncwell.api import create_app
from syncwell.api.auth import SESSION_COOKIE, csrf_token
from syncwell.store import ROLES, Role, open_store
from syncwell.workspace import Workspace
from tests.api.dashkit import fix_the_warehouse, write_workspace
from tests.asgi import serving

PAGES = [
    "/",
    "/integrations/warehouse",
    "/integrations/warehouse?window=7d",
    "/integrations/tool",
    "/incidents",
    "/dead-letters",
    "/dead-letters?status=all",
]


@pytest.fixture
async def workspace(tmp_path: Path) -> Workspace:
    loaded = load_workspace(write_workspace(tmp_path))
    await Engine(loaded).run(once=True)
    return loaded


async def _token(workspace: Workspace, role: Role) -> str:
    store = await open_store(workspace.state)
    try:
        return (await store.tokens.create(role, f"a {role}"))[1]
    finally:
        await store.close()


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _cookie(session: str) -> dict[str, str]:
    return {"cookie": f"{SESSION_COOKIE}={session}"}


async def _session(client: httpx.AsyncClient, token: str) -> str:
    """Log in with `token` through the form: the session the cookie carries."""
    answer = await client.post("/login", data={"token": token})
    assert answer.status_code == 303, answer.text
    client.cookies.clear()  # the tests say which cookie each request carries
    return str(answer.cookies[SESSION_COOKIE])


async def test_a_browser_without_a_token_goes_to_the_login_form_and_back(
    client: httpx.AsyncClient,
) -> None:
    """Every page sends a browser without a token to the login form, which sends it back to
    that page once logged in; a `next` off this site is refused (no open redirect)."""
    for page in PAGES:
        answer = await client.get(page)
        assert answer.status_code == 303, page
        assert answer.headers["location"].startswith("/login?next=%2F") or answer.headers[
            "location"
        ].startswith("/login?next=/"), answer.headers["location"]
    form = await client.get("/login?next=/incidents")
    assert 'name="next" value="/incidents"' in form.text
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        form = await client.get("/login", params={"next": elsewhere})
        assert 'name="next" value="/"' in form.text, elsewhere


async def test_logging_in_returns_to_the_page_asked_for(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """The form posts `next` along: a good token lands on that page, an outside one on /."""
    viewer = await _token(workspace, "viewer")
    back = await client.post("/login", data={"token": viewer, "next": "/incidents"})
    assert back.status_code == 303 and back.headers["location"] == "/incidents"
    away = await client.post("/login", data={"token": viewer, "next": "//evil.example"})
    assert away.headers["location"] == "/"


async def test_every_page_shows_a_viewer_no_secret_and_no_buttons(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """A viewer sees every page (strict CSP, never cached); the token's text is in none of
    them, and no replay, discard or analyse button is offered to a viewer."""
    viewer = await _token(workspace, "viewer")
    session = await _session(client, viewer)
    for page in PAGES:
        answer = await client.get(page, headers=_cookie(session))
        assert answer.status_code == 200, (page, answer.text[:300])
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        assert viewer not in answer.text and viewer.split("_")[-1] not in answer.text
        assert ">Replay<" not in answer.text and "Analyse now" not in answer.text


async def test_the_overview_highlights_the_constraint_with_its_evidence(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """Before any analysis the overview says so; after an operator's, it names the tool
    (polled every 4h against 30m) as the constraint, with the evidence and advice, marks it on
    the map and in the integrations' table."""
    operator = await _token(workspace, "operator")
    before = await client.get("/", headers=_bearer(operator))
    assert "No analysis yet" in before.text and "Analyse now" in before.text
    made = await client.post("/analyse", headers=_bearer(operator))
    assert made.status_code == 303 and made.headers["location"] == "/"
    page = (await client.get("/", headers=_bearer(operator))).text
    constraint = page[page.index('id="constraint"') :]
    assert re.search(r">tool</a></h2>", constraint)
    assert "poll interval" in constraint and "every 4h" in constraint
    assert "<h3>Advice</h3>" in constraint
    arrow = re.search(r'<g id="flow-\d+" class="flow [a-z ]*constraint">\s*<title>([^<]*)', page)
    assert arrow is not None and arrow.group(1).startswith("tasks: core → tool")
    row = re.search(r'<tr class="is-constraint">.*?</tr>', page, re.S)
    assert row is not None and "/integrations/tool" in row.group(0)


async def test_replay_from_the_page_needs_an_operator_and_the_csrf_token(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """A viewer's replay gets 403, and an operator's cookie without the page's CSRF token
    too; with it the letter goes back to the journal and shows waiting, then, once the
    destination is fixed and the engine runs, delivered."""
    viewer = await _session(client, await _token(workspace, "viewer"))
    operator = await _session(client, await _token(workspace, "operator"))
    page = (await client.get("/dead-letters", headers=_cookie(operator))).text
    (letter,) = re.findall(r'id="letter-(\d+)" data-status="open"', page)
    assert f'name="csrf" value="{csrf_token(operator)}"' in page
    replay = f"/dead-letters/{letter}/replay"
    refused = await client.post(replay, headers=_cookie(viewer), data={"csrf": csrf_token(viewer)})
    assert refused.status_code == 403
    forged = await client.post(replay, headers=_cookie(operator), data={"csrf": "0" * 32})
    assert forged.status_code == 403
    done = await client.post(replay, headers=_cookie(operator), data={"csrf": csrf_token(operator)})
    assert done.status_code == 303 and done.headers["location"] == "/dead-letters?status=replayed"
    shown = (await client.get(done.headers["location"], headers=_cookie(operator))).text
    assert f'id="letter-{letter}" data-status="replayed" data-outcome="waiting"' in shown
    fix_the_warehouse(Path(workspace.root))
    await Engine(workspace).run(once=True)
    shown = (await client.get(done.headers["location"], headers=_cookie(operator))).text
    assert f'id="letter-{letter}" data-status="replayed" data-outcome="delivered"' in shown


async def test_htmx_gets_the_page_back_with_a_notice(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """A replay or discard from htmx answers with the list to swap in, a notice, and the
    address to show, the flow filter kept; a second one of the same letter says it was not
    open and changes nothing."""
    operator = await _token(workspace, "operator")
    headers = {**_bearer(operator), "hx-request": "true"}
    page = (await client.get("/dead-letters?flow=rows", headers=headers)).text
    (letter,) = re.findall(r'id="letter-(\d+)" data-status="open"', page)
    assert f'hx-post="/dead-letters/{letter}/replay?status=open&amp;flow=rows"' in page
    first = await client.post(f"/dead-letters/{letter}/discard?flow=rows", headers=headers)
    assert first.status_code == 200 and f"Dead letter #{letter} discarded." in first.text
    assert first.headers["hx-push-url"] == "/dead-letters?status=open&flow=rows"
    again = await client.post(f"/dead-letters/{letter}/discard?flow=rows", headers=headers)
    assert f"Dead letter #{letter} was not open" in again.text
    # the next refresh asks for the list, not the POST
    assert 'hx-get="/dead-letters?status=open&amp;flow=rows"' in again.text
    shown = (await client.get("/dead-letters?status=discarded", headers=headers)).text
    assert "1 discarded dead letter, the newest discarded first." in shown


async def test_a_refresh_after_the_session_ended_sends_the_page_to_log_in(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """When a page's refresh (htmx) finds its token revoked, the answer tells htmx to take
    the whole page to the login form, rather than swap in nothing."""
    viewer = await _session(client, await _token(workspace, "viewer"))
    store = await open_store(workspace.state)
    try:
        (token,) = [t for t in await store.tokens.list() if t.role == "viewer"]
        await store.tokens.revoke(token.id)
    finally:
        await store.close()
    answer = await client.get("/incidents", headers={**_cookie(viewer), "hx-request": "true"})
    assert answer.status_code == 401
    assert answer.headers["hx-redirect"] == "/login?next=/incidents"


async def test_errors_are_pages_for_browsers_and_json_for_the_api(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """A browser asking for an unknown integration or a window not offered gets a page that
    says so (and which htmx swaps in); the REST API still answers JSON."""
    page = {**_bearer(await _token(workspace, "viewer")), "accept": "text/html"}
    missing = await client.get("/integrations/nope", headers=page)
    assert missing.status_code == 404 and "There is no integration &#39;nope&#39;." in missing.text
    assert (
        'id="live"' in missing.text
        and "script-src 'self'" in missing.headers["content-security-policy"]
    )
    bad = await client.get("/integrations/tool?window=5y", headers=page)
    assert bad.status_code == 422 and "window" in bad.text and "<html" in bad.text
    api = await client.get("/api/v1/dead-letters/99", headers=page)
    assert api.status_code == 404 and api.json()["detail"]


async def test_logging_in_or_out_from_another_site_is_refused(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """Another site's page cannot log a person in with its token, or out: the browser says
    where the request came from (Sec-Fetch-Site, or Origin in older browsers)."""
    viewer = await _token(workspace, "viewer")
    form = {"token": viewer}
    for elsewhere in ({"sec-fetch-site": "cross-site"}, {"origin": "https://evil.example"}):
        assert (await client.post("/login", data=form, headers=elsewhere)).status_code == 403
        assert (await client.post("/logout", headers=elsewhere)).status_code == 403
    ours = {"sec-fetch-site": "same-origin", "origin": "http://syncwell"}
    assert (await client.post("/login", data=form, headers=ours)).status_code == 303


async def test_the_form_warns_when_the_cookie_cannot_be_kept(workspace: Workspace) -> None:
    """Over plain HTTP from another machine the browser drops the Secure cookie: the form
    says so, and how to fix it; on loopback it does not."""
    app = create_app(workspace=workspace)
    for base, warned in (("http://192.0.2.7:8100", True), ("http://127.0.0.1:8100", False)):
        async with serving(app, base_url=base) as client:
            form = (await client.get("/login")).text
        assert ("HTTPS proxy" in form) is warned, base


async def test_every_route_but_webhooks_health_and_login_needs_a_token(
    workspace: Workspace,
) -> None:
    """Walk every route the app has, with no token, a viewer's, an operator's and an
    admin's: without one each answers 401 (an API) or sends the browser to log in (a page); a
    viewer reads every page and API but gets 403 from what changes state; an operator and an
    admin get through everywhere. The exceptions are exactly webhooks, health, login, the
    OpenAPI document and static files."""
    app = create_app(workspace=workspace)
    fastapi_app = app._app  # type: ignore[attr-defined]
    roles = {role: _bearer(await _token(workspace, role)) for role in ROLES}
    open_routes = {"/healthz", "/readyz", "/login", "/logout", "/api/v1/openapi.json", "/static"}
    checked: set[str] = set()
    async with serving(app) as client:
        for route in _routes(fastapi_app.routes):
            path = route.path
            if path in open_routes:
                continue
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                if method == "HEAD":
                    continue
                url = path.replace("{dead_letter_id}", "1").replace("{name}", "tool")
                url = url.replace("{verb}", "replay")
                bare = await client.request(method, url)
                assert bare.status_code in {401, 303}, (method, path, bare.status_code)
                if bare.status_code == 303:
                    assert bare.headers["location"].startswith("/login?next=")
                for role, headers in roles.items():
                    answer = (await client.request(method, url, headers=headers)).status_code
                    if method == "GET":
                        assert answer in {200, 404}, (path, role, answer)
                    elif role == "viewer":
                        assert answer == 403, (method, path)
                    else:  # done, or not there / not open any more: never refused
                        assert answer in {200, 303, 404, 409}, (method, path, role, answer)
                checked.add(f"{method} {path}")
    assert {
        "GET /metrics",
        "GET /",
        "POST /analyse",
        "POST /dead-letters/{dead_letter_id}/{verb}",
        "POST /api/v1/dead-letters/{dead_letter_id}/replay",
        "GET /api/v1/constraint/history",
    } <= checked
    assert len(checked) >= 19  # 12 of the REST API, 5 of the pages, 1 action, /metrics


def _routes(routes: list[Any]) -> list[Any]:
    """The routes with a path, those of included routers too (FastAPI 0.165 keeps those
    behind `original_router`)."""
    found = []
    for route in routes:
        if hasattr(route, "path"):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _routes(route.original_router.routes)
    return found
