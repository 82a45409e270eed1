"""The CRM: cursor pages, the updated_since filter, batch rules, deletes, auth."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.conftest import COMPANIES, CONTACTS, Tools


async def _walk(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    after = None
    while True:
        page = {**params, **({"after": after} if after else {})}
        response = await client.get(path, params=page)
        assert response.status_code == 200, response.text
        body = response.json()
        records += body["results"]
        if "paging" not in body:
            return records
        after = body["paging"]["next"]["after"]


async def test_cursor_walk_visits_every_record_exactly_once(tools: Tools) -> None:
    """Following `paging.next.after` reads every contact and company once, in id order."""
    contacts = await _walk(tools.crm, "/v1/contacts", limit=100)
    ids = [contact["id"] for contact in contacts]
    assert len(ids) == CONTACTS and len(set(ids)) == CONTACTS and ids == sorted(ids)
    companies = await _walk(tools.crm, "/v1/companies", limit=7)
    assert len({company["domain"] for company in companies}) == len(companies) == COMPANIES


async def test_default_page_is_ten_and_the_last_page_has_no_paging(tools: Tools) -> None:
    """Without `limit` a page holds 10 records; a page that ends the walk has no `paging` key."""
    first = (await tools.crm.get("/v1/contacts")).json()
    assert len(first["results"]) == 10 and "after" in first["paging"]["next"]
    last = (await tools.crm.get("/v1/companies", params={"limit": 100})).json()
    assert len(last["results"]) == COMPANIES and "paging" not in last


async def test_updated_since_walks_later_changes_in_update_order(tools: Tools) -> None:
    """`updated_since` returns exactly the records with updated_at >= it, by (updated_at, id)."""
    everything = await _walk(tools.crm, "/v1/contacts", limit=100, updated_since="2000-01-01")
    stamps = [(record["updated_at"], record["id"]) for record in everything]
    assert stamps == sorted(stamps) and len({s for s, _ in stamps}) == CONTACTS, "no ties"
    since = stamps[150][0]
    later = await _walk(tools.crm, "/v1/contacts", limit=25, updated_since=since)
    assert [r["id"] for r in later] == [record_id for _, record_id in stamps[150:]]

    mark = everything[-1]["updated_at"]
    touched = (
        await tools.anonymous.post(
            f"{tools.endpoints.crm_url}/_sandbox/contacts/touch", json={"count": 5}
        )
    ).json()["results"]
    newer = await _walk(tools.crm, "/v1/contacts", updated_since=mark)
    assert {r["email"] for r in newer if r["updated_at"] > mark} == {r["email"] for r in touched}
    assert len(touched) == 5 and all(r["updated_at"] > mark for r in touched)


async def test_batch_of_101_is_refused_and_nothing_is_written(tools: Tools) -> None:
    """More than 100 inputs is a 400 naming the limit, and none of them is written."""
    inputs = [{"email": f"bulk{i}@example.com"} for i in range(101)]
    response = await tools.crm.post("/v1/contacts/batch/upsert", json={"inputs": inputs})
    assert response.status_code == 400 and "at most 100" in response.json()["message"]
    assert (await tools.crm.get("/v1/contacts/bulk0@example.com")).status_code == 404


async def test_one_bad_input_fails_the_whole_batch(tools: Tools) -> None:
    """A malformed email is reported by index and email, and the valid inputs are not written."""
    inputs = [
        {"email": "good1@example.com", "first_name": "Good"},
        {"email": "not-an-email", "first_name": "Bad"},
        {"email": "good2@example.com", "shoe_size": 44},
    ]
    response = await tools.crm.post("/v1/contacts/batch/upsert", json={"inputs": inputs})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0]["index"] == 1 and errors[0]["email"] == "not-an-email"
    assert errors[1]["index"] == 2 and "shoe_size" in errors[1]["message"]
    for email in ("good1@example.com", "good2@example.com"):
        assert (await tools.crm.get(f"/v1/contacts/{email}")).status_code == 404
    assert (await tools.stats(tools.endpoints.crm_url))["records"]["contacts"] == CONTACTS


async def test_upsert_creates_then_updates_by_email_and_delete_removes(tools: Tools) -> None:
    """Upsert keys on the email (case-insensitive); each real change is a newer updated_at."""
    url = "/v1/contacts/batch/upsert"
    created = (await tools.crm.post(url, json={"inputs": [{"email": "Ann@Example.com"}]})).json()
    first = created["results"][0]
    assert first["email"] == "ann@example.com" and first["created_at"] == first["updated_at"]
    body = {"inputs": [{"email": "ann@example.com", "first_name": "Ann", "id": 999}]}
    second = (await tools.crm.post(url, json=body)).json()["results"][0]
    assert second["id"] == first["id"] and second["first_name"] == "Ann"
    assert second["updated_at"] > first["updated_at"]
    same = (await tools.crm.post(url, json=body)).json()["results"][0]
    assert same["updated_at"] == second["updated_at"], "an upsert that changes nothing"

    assert (await tools.crm.delete("/v1/contacts/ann@example.com")).status_code == 204
    assert (await tools.crm.get("/v1/contacts/ann@example.com")).status_code == 404
    assert (await tools.crm.delete("/v1/contacts/ann@example.com")).status_code == 404


async def test_companies_have_the_same_endpoints_keyed_by_domain(tools: Tools) -> None:
    """Companies upsert by domain, validate their types, and delete like contacts."""
    url = "/v1/companies/batch/upsert"
    ok = await tools.crm.post(url, json={"inputs": [{"domain": "new.example", "employees": 5}]})
    assert ok.status_code == 200 and ok.json()["results"][0]["employees"] == 5
    bad = await tools.crm.post(url, json={"inputs": [{"domain": "x.example", "employees": "5"}]})
    assert bad.status_code == 400 and bad.json()["errors"][0]["domain"] == "x.example"
    assert (await tools.crm.get("/v1/companies/NEW.example")).json()["employees"] == 5
    assert (await tools.crm.delete("/v1/companies/new.example")).status_code == 204


async def test_wrong_or_missing_token_is_401_but_admin_routes_need_none(tools: Tools) -> None:
    """`/v1` needs the bearer token; `/_sandbox` answers without one."""
    url = tools.endpoints.crm_url
    missing = await tools.anonymous.get(f"{url}/v1/contacts")
    wrong = await tools.anonymous.get(
        f"{url}/v1/contacts", headers={"Authorization": "Bearer nope"}
    )
    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["category"] == "INVALID_AUTHENTICATION"
    assert (await tools.anonymous.get(f"{url}/_sandbox/stats")).status_code == 200


async def test_bad_paging_parameters_are_400(tools: Tools) -> None:
    """A limit over 100, a made-up cursor, a cursor from another query and a bad date are 400s."""
    id_cursor = (await tools.crm.get("/v1/contacts")).json()["paging"]["next"]["after"]
    for params in (
        {"limit": 101},
        {"after": "garbage!"},
        {"after": id_cursor, "updated_since": "2020-01-01T00:00:00Z"},
        {"updated_since": "last tuesday"},
    ):
        response = await tools.crm.get("/v1/contacts", params=params)
        assert response.status_code == 400, params
