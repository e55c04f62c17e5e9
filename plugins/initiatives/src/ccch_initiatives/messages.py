"""Messages the plugin queues through the core's outbox (``register_message_templates``): the
author's receipt, and a notice when an entry is changed (an author learns it if someone else holds
their tracking code). Both go by e-mail only, where the deployment has an e-mail sender, in the
entry's own write transaction; a public form must not make the deployment a mail cannon, so each
has a daily cap and a refusal (cap reached, no sender) never refuses the entry."""

from __future__ import annotations

from ccch_core.messages import (
    ChannelUnavailable,
    DailyCapReached,
    MessageError,
    MessageTemplate,
    queue_message,
)

TEMPLATES = (
    MessageTemplate(
        "initiatives.receipt", "Biên nhận bài dự thi viết sáng kiến", ("call", "title", "code", "closes"),
        "Đã nhận bài dự thi {code}",
        "Ban tổ chức {call} đã nhận bài dự thi của bạn.\nTên sáng kiến: {title}\nMã hồ sơ: {code}\n\n"
        "Với mã hồ sơ, bạn có thể sửa thông tin hoặc thay tài liệu trước {closes} (giờ Việt Nam) ở trang Tra cứu "
        "của cuộc thi. Ai có mã đều sửa được bài: đừng chia sẻ mã.\n",
        "Da nhan bai du thi {code}.", daily_cap=500),
    MessageTemplate(
        "initiatives.changed", "Báo bài dự thi viết sáng kiến đã được sửa", ("call", "title", "code"),
        "Bài dự thi {code} vừa được sửa",
        "Bài dự thi {code} ({title}) của {call} vừa được sửa bằng mã hồ sơ. Nếu không phải bạn sửa, hãy báo ngay "
        "cho ban tổ chức.\n",
        "Bai du thi {code} vua duoc sua.", daily_cap=500),
)


def notify(deployment, template: str, address: str | None, code: str, params: dict, *, key: str) -> bool:
    """Queue an e-mail to the entry's contact when the deployment can send one; False when not."""
    if not address or not deployment.messaging.available("email"):
        return False
    try:
        queue_message(deployment, channel="email", address=address, template=template, params={**params, "code": code},
                      idempotency_key=key, source="initiatives")
    except (ChannelUnavailable, DailyCapReached, MessageError):
        return False
    return True
