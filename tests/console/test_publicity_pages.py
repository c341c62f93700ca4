"""公示 in the console: the operator publishes and records an objection, the approver decides
it, refusals show with their code, and the public page needs no sign-in."""

from __future__ import annotations

import datetime as dt

import pytest
from console_helpers import csrf_of, sign_in
from review_helpers import AWARDS, applied_award, user_by

from ledger.awards import publicity
from ledger.awards.award import approve_award, get_award
from ledger.core.db import transaction

START = dt.date(2022, 12, 2)
LIST = "/operator/awards/publications"


@pytest.fixture
def clock(monkeypatch):
    day = {"today": START}
    monkeypatch.setattr(publicity, "today", lambda: day["today"])
    return day


def _approved(sessions, document_no: str, tier: str):
    award = applied_award(sessions, document_no=document_no, tier=tier)
    with transaction(sessions) as s:
        return approve_award(s, award.id, by=user_by(sessions, "demo-approver"))


def _post(client, page: str, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def test_publish_object_decide_and_the_public_page(client, sessions, world, clock):
    kept = _approved(sessions, "辽科发〔2022〕1号", "gazelle")
    objected = _approved(sessions, "辽科发〔2022〕2号", "unicorn")
    sign_in(client, "demo-operator")
    assert 'id="publish-form"' in client.get(LIST).text
    published = _post(client, LIST, LIST, {"programme": AWARDS, "award_ids": ""})
    assert published.status_code == 303
    page_url = published.headers["location"]
    page = client.get(page_url).text
    with transaction(sessions) as s:
        pub = publicity.get_publication(s, publicity.list_publications(s, limit=1).items[0].id)
    assert page_url == f"{LIST}/{pub.id}"
    assert pub.head_hash in page and "2022-12-02" in page and "2022-12-08" in page
    assert [i.award_id for i in pub.items] == [kept.id, objected.id]
    assert pub.items[0].firm_name in page and pub.items[0].credit_code in page
    # Nothing left to publish: the form again, with the code by the programme field.
    again = _post(client, LIST, LIST, {"programme": AWARDS, "award_ids": ""})
    assert again.status_code == 409 and 'data-code="nothing_to_publish"' in again.text
    bad = _post(client, LIST, LIST, {"programme": AWARDS, "award_ids": "x"})
    assert bad.status_code == 422 and 'data-code="invalid_input"' in bad.text
    recorded = _post(client, page_url, f"{page_url}/objections", {
        "award_id": str(objected.id), "raised_by": "某同行企业", "text": "认定材料存疑"})
    assert recorded.status_code == 303
    shown = client.get(page_url).text
    assert "某同行企业" in shown
    # The list's period and the objection in their own words (not a hold's 冻结中).
    assert '<dd id="publication-state">公示中</dd>' in shown
    assert '<td class="objection-status">待处理</td>' in shown and "冻结中" not in shown
    # The approver decides it: upheld, the award is rejected.
    client.post("/sign-out", data={"csrf_token": csrf_of(client.get(page_url).text)})
    sign_in(client, "demo-approver")
    page = client.get(page_url).text
    with transaction(sessions) as s:
        objection = publicity.get_publication(s, pub.id).objections[0]
    assert f'id="decide-{objection.id}"' in page and 'id="objection-form"' not in page
    decided = _post(client, page_url, f"/approver/objections/{objection.id}/decide",
                    {"decision": "upheld", "reason": "经核实成立"})
    assert decided.status_code == 303
    twice = _post(client, page_url, f"/approver/objections/{objection.id}/decide",
                  {"decision": "dismissed", "reason": "再议"})
    assert twice.status_code == 409 and 'data-code="objection_already_decided"' in twice.text
    with transaction(sessions) as s:
        assert get_award(s, objected.id).status == "rejected"
        assert get_award(s, kept.id).status == "approved"
    # After the period the operator may not record one.
    clock["today"] = dt.date(2022, 12, 9)
    client.post("/sign-out", data={"csrf_token": csrf_of(client.get(page_url).text)})
    sign_in(client, "demo-operator")
    assert 'id="objection-form"' not in client.get(page_url).text
    late = _post(client, LIST, f"{page_url}/objections", {
        "award_id": str(kept.id), "raised_by": "某人", "text": "迟到"})
    assert late.status_code == 409 and 'data-code="outside_publicity_period"' in late.text
    # The public page: no sign-in, the list without who objected.
    client.cookies.clear()
    public = client.get(f"/public/awards/publications/{pub.id}")
    assert public.status_code == 200
    assert pub.items[1].credit_code in public.text and pub.head_hash in public.text
    assert "某同行企业" not in public.text and "认定材料存疑" not in public.text
    pdf = client.get(f"/public/awards/publications/{pub.id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_batch_page_offers_an_award_once_its_publicity_has_ended(client, sessions, world,
                                                                    clock):
    award = _approved(sessions, "辽科发〔2022〕3号", "gazelle")
    operator = user_by(sessions, "demo-operator")
    sign_in(client, "demo-operator")
    chooser = f"/operator/batches/new?programme={AWARDS}"
    line = {"programme": AWARDS, "line": f"award:{award.id}"}
    # Unpublished: not offered; the page says how many wait and why, in the code's sentence.
    page = client.get(chooser).text
    assert f'value="award:{award.id}"' not in page
    assert ('<li data-code="award_not_published">1 · 该奖励尚未公示，公示期满后方可拨付。 '
            "<code>award_not_published</code></li>") in page
    refused = _post(client, chooser, "/operator/batches/new", line)
    assert refused.status_code == 409 and 'data-code="award_not_published"' in refused.text
    # Published, its period running: still not offered, refused with the period's code.
    with transaction(sessions) as s:
        pub = publicity.publish_awards(s, AWARDS, by=operator)
    page = client.get(chooser).text
    assert f'value="award:{award.id}"' not in page
    assert '<li data-code="award_in_publicity">1 · ' in page
    refused = _post(client, chooser, "/operator/batches/new", line)
    assert refused.status_code == 409 and 'data-code="award_in_publicity"' in refused.text
    # The day after the period: offered and batched.
    clock["today"] = pub.ends_on + dt.timedelta(days=1)
    page = client.get(chooser).text
    assert f'value="award:{award.id}"' in page and 'id="awards-waiting"' not in page
    created = _post(client, chooser, "/operator/batches/new", line)
    assert created.status_code == 303
    with transaction(sessions) as s:
        assert get_award(s, award.id).status == "in_payment"


def test_firms_do_not_open_the_operator_pages(client, world):
    sign_in(client, "demo-firm")
    assert client.get(LIST).status_code == 403
