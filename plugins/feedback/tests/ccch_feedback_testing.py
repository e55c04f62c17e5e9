"""Helpers shared by the feedback plugin's test modules (imported as ``ccch_feedback_testing``)."""

from __future__ import annotations

import json
import re

FEEDBACK_INDICATORS = '''

[[indicators]]
code = "PA1"
short_name = "Trả lời phản ánh, kiến nghị đúng hạn"
text = "100% câu hỏi, phản ánh, kiến nghị được trả lời đúng hạn"
kind = "ratio"
target = 100
applies_to = ["phong-tu-phap", "phong-noi-vu"]
numerator = "Số câu trả lời đúng hạn"
denominator = "Số câu hỏi đến hạn"
source = "plugin:feedback_on_time"
period_type = "month"

[[indicators]]
code = "PA6"
short_name = "Doanh nghiệp được trả lời đúng hạn"
text = "100% doanh nghiệp được hỏi đáp trực tuyến với cơ quan nhà nước khi có nhu cầu"
kind = "ratio"
target = 100
applies_to = ["phong-tu-phap"]
numerator = "Số câu hỏi của doanh nghiệp được trả lời đúng hạn"
denominator = "Số câu hỏi của doanh nghiệp đến hạn"
source = "plugin:feedback_business_on_time"
period_type = "month"
'''

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
SID_RE = re.compile(r'name="sid" value="([^"]+)"')


def form_data(**overrides) -> dict:
    """A valid public form: a citizen's public question on civil status."""
    data = {"loai": "hoi-dap", "nguoi-hoi": "ca-nhan", "linh-vuc": "ho-tich", "tieu-de": "Giấy khai sinh bản sao",
            "noi-dung": "Tôi cần xin cấp bản sao giấy khai sinh ở đâu và mất bao lâu?", "cong-khai": "cong-khai"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def open_form(client, url="/hoi-dap/gui"):
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return TOKEN_RE.search(html).group(1), SID_RE.search(html).group(1)


def ask(client, url="/hoi-dap/gui", **overrides):
    """Open the public form and send it; returns the response."""
    token, sid = open_form(client, url)
    return client.post(url, data={"csrf_token": token, "sid": sid, **form_data(**overrides)})


def code_of(response) -> str:
    """The tracking code in the redirect after a successful submission."""
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return re.search(r"/theo-doi/([A-Z0-9]{10})/da-gui$", response.headers["Location"]).group(1)


def messages(dep, template=None) -> list[dict]:
    """Messages in the outbox (optionally of one template), oldest first, params decoded."""
    sql = "select channel, address, template, params, unit_id, idempotency_key from messages"
    args = []
    if template:
        sql += " where template = ?"
        args.append(template)
    rows = dep.db.execute(sql + " order by id", args).fetchall()
    return [{"channel": r[0], "address": r[1], "template": r[2], "params": json.loads(r[3] or "{}"),
             "unit_id": r[4], "key": r[5]} for r in rows]
