"""The texts of the messages the plugin queues (``register_message_templates``); a deployment can
override each in ``[messages.templates.<key>]``.

Assignment and "an answer is ready" use the core's own ``question_assigned`` and ``answer_ready``."""

from __future__ import annotations

from ccch_core.messages import MessageTemplate

TEMPLATES = (
    MessageTemplate(
        "feedback.ack", "Xác nhận đã tiếp nhận câu hỏi, phản ánh", ("code", "due", "url"),
        "Đã tiếp nhận câu hỏi, phản ánh {code}",
        "Cơ quan đã tiếp nhận câu hỏi, phản ánh của Ông/Bà.\nMã theo dõi: {code}\nHạn trả lời: {due}\n"
        "Theo dõi tại: {url}\n",
        "Da tiep nhan cau hoi {code}, han tra loi {due}. Theo doi: {url}"),
    MessageTemplate(
        "feedback.received", "Câu hỏi, phản ánh mới chờ phân loại", ("code", "title", "due", "url"),
        "Câu hỏi, phản ánh mới {code} chờ phân loại",
        "Có câu hỏi, phản ánh mới cần phân loại và giao đơn vị trả lời.\n{code}: {title}\nHạn trả lời: {due}\n{url}\n",
        "Cau hoi moi {code} cho phan loai, han {due}. {url}"),
    MessageTemplate(
        "feedback.due_soon", "Nhắc hạn trả lời câu hỏi, phản ánh", ("code", "title", "due", "url", "unit"),
        "Sắp đến hạn trả lời {code}",
        "{unit}: câu hỏi, phản ánh {code} sắp đến hạn trả lời ({due}).\n{title}\n{url}\n",
        "Sap den han tra loi {code} ({due}). {url}"),
    MessageTemplate(
        "feedback.overdue", "Báo quá hạn trả lời câu hỏi, phản ánh", ("code", "title", "due", "url", "unit"),
        "Quá hạn trả lời {code}",
        "{unit}: câu hỏi, phản ánh {code} đã quá hạn trả lời (hạn {due}).\n{title}\n{url}\n",
        "Qua han tra loi {code} (han {due}). {url}"),
    MessageTemplate(
        "feedback.escalated", "Báo Phòng tiếp nhận: đơn vị quá hạn trả lời", ("code", "title", "due", "url", "unit"),
        "{unit} quá hạn trả lời {code}",
        "{unit} chưa trả lời câu hỏi, phản ánh {code} (hạn {due}).\n{title}\n{url}\n",
        "{unit} qua han tra loi {code} (han {due}). {url}"),
    MessageTemplate(
        "feedback.answer", "Gửi câu trả lời riêng cho người hỏi", ("code", "answer", "url"),
        "Trả lời câu hỏi, phản ánh {code}",
        "Trả lời câu hỏi, phản ánh {code} của Ông/Bà:\n\n{answer}\n\nTheo dõi: {url}\n",
        "Tra loi {code}: {answer}"),
    MessageTemplate(
        "feedback.refused", "Báo người hỏi: từ chối tiếp nhận", ("code", "reason", "url"),
        "Câu hỏi, phản ánh {code} không được tiếp nhận",
        "Câu hỏi, phản ánh {code} của Ông/Bà không được tiếp nhận.\nLý do: {reason}\n{url}\n",
        "Cau hoi {code} khong duoc tiep nhan: {reason}"),
)
