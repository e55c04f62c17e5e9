"""The public form's checks: every field bounded, each problem named in Vietnamese, photos read
from their content and re-encoded without metadata, offensive words flagged for moderation."""

from __future__ import annotations

import functools
import io
import re

from ccch_core.privacy import (
    PersonalDataError,
    normalise_email_address,
    normalise_phone,
)
from ccch_core.text import clean, nfc

from .settings import KIND_SLUGS, REQUESTER_SLUGS, FeedbackSettings
from .store import Photo, Question

HONEYPOT = "website"
TITLE_MAX = 200
BODY_MAX = 5000
NAME_MAX = 100
FIELDS = ("loai", "nguoi-hoi", "linh-vuc", "don-vi", "tieu-de", "noi-dung", "cong-khai", "dong-y", "ho-ten",
          "dien-thoai", "email", "anh")
LABELS = {
    "loai": "Loại", "nguoi-hoi": "Người gửi", "linh-vuc": "Lĩnh vực", "don-vi": "Đơn vị", "tieu-de": "Tiêu đề",
    "noi-dung": "Nội dung", "cong-khai": "Hình thức trả lời", "dong-y": "Đồng ý", "ho-ten": "Họ tên",
    "dien-thoai": "Số điện thoại", "email": "Thư điện tử", "anh": "Ảnh",
}
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
PHOTO_MAX_SIDE = 1600

# Words that flag an item for moderation (compared on whole words, with their tones: many
# offensive words fold to harmless ones without them). A deployment adds its own.
OFFENSIVE = ("địt", "đụ", "lồn", "cặc", "buồi", "đéo", "đĩ", "đm", "đmm", "dm", "vcl", "vkl", "clgt",
             "súc vật", "óc chó", "mẹ mày", "bố mày", "thằng chó", "con chó")


@functools.lru_cache(maxsize=8)
def _offensive_pattern(extra: tuple[str, ...]) -> re.Pattern:
    words = sorted({w for w in (nfc(w).casefold().strip() for w in (*OFFENSIVE, *extra)) if w}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)")


def offensive_words(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The offensive words ``text`` contains (whole words, case-insensitive, NFC), each once."""
    return sorted(set(_offensive_pattern(tuple(extra)).findall(nfc(text).casefold())))


def _one(form, name: str, limit: int) -> str:
    value = form.get(name, "")
    return value[: limit * 2] if isinstance(value, str) else ""


def check_form(form, files, settings: FeedbackSettings, plan, unit_allowed=None) -> tuple[Question | None, dict[str, str], dict]:
    """The checked question, or None with the errors by field name; also the values to show again.
    ``unit_allowed(unit)``: whether the form may name that unit (default: any unit of the plan)."""
    errors: dict[str, str] = {}
    values = {name: _one(form, name, BODY_MAX) for name in FIELDS if name != "anh"}
    kinds = {v: k for k, v in KIND_SLUGS.items()}
    kind = kinds.get(values["loai"])
    if kind is None:
        errors["loai"] = "Chọn hỏi đáp, phản ánh hoặc kiến nghị."
    requesters = {v: k for k, v in REQUESTER_SLUGS.items()}
    requester = requesters.get(values["nguoi-hoi"])
    if requester is None:
        errors["nguoi-hoi"] = "Chọn cá nhân hoặc doanh nghiệp, tổ chức."
    field = values["linh-vuc"] or None
    if field is not None and field not in dict(settings.fields):
        errors["linh-vuc"] = "Chọn một lĩnh vực trong danh sách."
    about = values["don-vi"] or None
    if about is not None and (len(about) > 100 or not plan.has_unit(about)
                              or (unit_allowed is not None and not unit_allowed(plan.unit(about)))):
        errors["don-vi"] = "Chọn một đơn vị trong danh sách."
    if field is None and about is None and "linh-vuc" not in errors and "don-vi" not in errors:
        errors["linh-vuc"] = "Chọn lĩnh vực thủ tục hoặc đơn vị mà câu hỏi liên quan."
    title = clean(values["tieu-de"])
    if not title:
        errors["tieu-de"] = "Nhập tiêu đề ngắn gọn."
    elif len(title) > TITLE_MAX:
        errors["tieu-de"] = f"Tiêu đề dài quá {TITLE_MAX} ký tự."
    body = nfc(values["noi-dung"]).replace("\r\n", "\n").strip()
    if len(body) < 10:
        errors["noi-dung"] = "Nhập nội dung câu hỏi, phản ánh (ít nhất 10 ký tự)."
    elif len(body) > BODY_MAX:
        errors["noi-dung"] = f"Nội dung dài quá {BODY_MAX:,} ký tự.".replace(",", ".")
    public_wanted = values["cong-khai"] != "rieng"
    if values["cong-khai"] not in ("", "cong-khai", "rieng"):
        errors["cong-khai"] = "Chọn trả lời công khai hoặc trả lời riêng."
    consent = values["dong-y"] == "dong-y"
    name = clean(values["ho-ten"]) or None
    if name and len(name) > NAME_MAX:
        errors["ho-ten"] = f"Họ tên dài quá {NAME_MAX} ký tự."
    phone = email = None
    if values["dien-thoai"].strip():
        try:
            phone = normalise_phone(values["dien-thoai"][:40])
        except PersonalDataError:
            errors["dien-thoai"] = "Số điện thoại chưa đúng (ví dụ 0912 345 678)."
    if values["email"].strip():
        try:
            email = normalise_email_address(values["email"][:254])
        except PersonalDataError:
            errors["email"] = "Địa chỉ thư điện tử chưa đúng (ví dụ ten@example.vn)."
    if (phone or email or name) and not consent:
        errors["dong-y"] = "Đánh dấu đồng ý để cơ quan dùng thông tin liên hệ, hoặc xóa thông tin liên hệ."
    if not public_wanted and not (phone or email) and "cong-khai" not in errors:
        errors["cong-khai"] = ("Muốn nhận trả lời riêng, hãy để lại số điện thoại hoặc thư điện tử và đồng ý "
                               "cho cơ quan dùng; hoặc chọn trả lời công khai.")
    photos: list[Photo] = []
    uploads = [f for f in (files.getlist("anh") if files is not None else []) if f and f.filename]
    if len(uploads) > settings.max_photos:
        errors["anh"] = f"Gửi tối đa {settings.max_photos} ảnh."
    else:
        for upload in uploads:
            photo, problem = read_photo(upload.stream, settings)
            if problem:
                errors["anh"] = problem
                break
            photos.append(photo)
    if errors:
        return None, errors, values
    flagged = offensive_words(f"{title}\n{body}", settings.offensive_words)
    question = Question(
        kind=kind, requester=requester, title=title, body=body, field=field, about_unit=about,
        public_wanted=public_wanted, contact_name=name if consent else None,
        contact_phone=phone if consent else None, contact_email=email if consent else None,
        contact_consent=consent and bool(phone or email or name), photos=tuple(photos),
        flag_reason=("từ ngữ không phù hợp: " + ", ".join(flagged)) if flagged else None)
    return question, {}, values


def read_photo(stream, settings: FeedbackSettings) -> tuple[Photo | None, str | None]:
    """A photo from an upload: at most ``max_photo_bytes`` read; the type read from the content
    (JPEG, PNG, WebP, whatever the name or declared type says); at most ``max_photo_pixels``
    declared before anything is decoded; turned upright, shrunk to 1600 pixels a side and saved
    again as JPEG — which keeps no EXIF, GPS or other metadata. (photo, None) or (None, problem)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    data = stream.read(settings.max_photo_bytes + 1)
    if len(data) > settings.max_photo_bytes:
        return None, f"Mỗi ảnh tối đa {settings.max_photo_bytes // 1_000_000} MB; hãy chọn ảnh nhỏ hơn."
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in PHOTO_FORMATS:
                return None, "Chỉ nhận ảnh JPEG, PNG hoặc WebP."
            width, height = probe.size
            if width * height > settings.max_photo_pixels or width < 1 or height < 1:
                return None, "Ảnh có kích thước quá lớn."
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80, optimize=True)
            return Photo("image/jpeg", image.width, image.height, out.getvalue()), None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, "Tệp không phải ảnh hoặc ảnh bị hỏng."
