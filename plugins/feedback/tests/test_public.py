"""The public pages: the form (bounded, filled in again when refused, the same refusal whatever the
reason), photos (type from content, no EXIF/GPS kept), the status page, and the page sizes."""

from __future__ import annotations

import io

import pytest
from ccch_feedback import store
from ccch_feedback_testing import ask, code_of, form_data, open_form
from PIL import Image

PAGE_LIMIT = 30_000


def css_size(client) -> int:
    return len(client.get("/static/public.css").data)


def test_form_page_is_small_and_needs_no_javascript(app):
    client = app.test_client()
    page = client.get("/hoi-dap/gui")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<script" not in html
    assert "Gửi câu hỏi, phản ánh, kiến nghị" in html and "Hộ tịch" in html
    assert len(page.data) + css_size(client) < PAGE_LIMIT, len(page.data)
    assert page.headers["Cache-Control"] == "no-store"


def test_form_prefilled_from_the_url_and_odd_values_ignored(app):
    client = app.test_client()
    html = client.get("/hoi-dap/gui?linh-vuc=dat-dai&don-vi=xa-an-dung&loai=kien-nghi").get_data(as_text=True)
    assert 'value="dat-dai" selected' in html and 'value="xa-an-dung" selected' in html
    assert 'value="kien-nghi" checked' in html
    for odd in ("linh-vuc=%00", "don-vi=" + "x" * 5000, "loai=¹", "linh-vuc=khong-co"):
        assert client.get("/hoi-dap/gui?" + odd).status_code == 200


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"tieu-de": ""}, "tieu-de", "Tiêu đề"),
    ({"noi-dung": "ngắn"}, "noi-dung", "ít nhất 10 ký tự"),
    ({"noi-dung": "x" * 5001}, "noi-dung", "5.000"),
    ({"loai": "khac"}, "loai", "hỏi đáp"),
    ({"linh-vuc": "", "don-vi": ""}, "linh-vuc", "lĩnh vực"),
    ({"don-vi": "khong-co"}, "don-vi", "Đơn vị"),
    ({"dien-thoai": "12345", "dong-y": "dong-y"}, "dien-thoai", "Số điện thoại"),
    ({"email": "khong-phai-thu", "dong-y": "dong-y"}, "email", "thư điện tử"),
    ({"dien-thoai": "0912345678"}, "dong-y", "đồng ý"),
    ({"nguoi-hoi": "ai-do"}, "nguoi-hoi", "doanh nghiệp"),
])
def test_refused_form_comes_back_filled_in(app, dep, overrides, field, words):
    response = ask(app.test_client(), **overrides)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'href="#{field}"' in html and words in html
    if overrides.get("tieu-de", None) != "":
        assert "Giấy khai sinh bản sao" in html  # what was typed is kept
    assert dep.db.execute("select count(*) from feedback_items").fetchone()[0] == 0


def test_token_required_and_double_submission_stores_one(app, dep):
    client = app.test_client()
    assert client.post("/hoi-dap/gui", data=form_data()).status_code == 400
    token, sid = open_form(client)
    assert client.post("/hoi-dap/gui", data={"csrf_token": token, "sid": "khac", **form_data()}).status_code == 400
    first = client.post("/hoi-dap/gui", data={"csrf_token": token, "sid": sid, **form_data()})
    again = client.post("/hoi-dap/gui", data={"csrf_token": token, "sid": sid, **form_data()})
    assert code_of(first) == code_of(again)
    assert dep.db.execute("select count(*) from feedback_items").fetchone()[0] == 1


def test_honeypot_and_rate_limit_read_the_same(feedback_deployment, make_app):
    dep = feedback_deployment(asks_per_address_per_hour=2)
    client = make_app(dep).test_client()
    bot = ask(client, website="http://spam.example")
    code_of(ask(client))
    code_of(ask(client))
    limited = ask(client)
    assert bot.status_code == limited.status_code == 429
    assert bot.get_data() == limited.get_data()
    assert dep.db.execute("select count(*) from feedback_items").fetchone()[0] == 2


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (2400, 1200), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90°
    gps = {1: "N", 2: (21.0, 1.0, 2.0), 3: "E", 4: (105.0, 50.0, 3.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_photos_lose_their_metadata_and_are_shrunk(app, dep):
    data = jpeg_with_gps()
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(0x8825)  # the upload does carry a location
    token, sid = open_form(app.test_client())
    client = app.test_client()
    token, sid = open_form(client)
    response = client.post("/hoi-dap/gui", data={"csrf_token": token, "sid": sid, **form_data(),
                                                 "anh": [(io.BytesIO(data), "anh.txt")]},
                           content_type="multipart/form-data")
    item = store.item_by_code(dep.db, code_of(response))
    (photo,) = store.photos_of(dep.db, item.id)
    media_type, stored = store.photo_data(dep.db, item.id, 1)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and media_type == "image/jpeg"
        assert len(image.getexif()) == 0 and not image.info.get("exif")
        # Turned upright (the orientation tag said 90°) and shrunk to 1600 pixels a side.
        assert image.size == (800, 1600) == (photo["width"], photo["height"])
    assert b"PhoneMaker" not in stored


@pytest.mark.parametrize(("payload", "name", "words"), [
    (b"GIF89a" + b"\x00" * 100, "anh.jpg", "Tệp không phải ảnh"),
    (b"<?php echo 1; ?>", "anh.jpg", "Tệp không phải ảnh"),
    (b"\xff\xd8\xff" + b"\x00" * 50, "anh.jpg", "Tệp không phải ảnh"),
])
def test_bad_photos_refused_with_the_form_kept(app, dep, payload, name, words):
    client = app.test_client()
    token, sid = open_form(client)
    response = client.post("/hoi-dap/gui", data={"csrf_token": token, "sid": sid, **form_data(),
                                                 "anh": [(io.BytesIO(payload), name)]},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and ("Ảnh" in html and ("không phải ảnh" in html or "Chỉ nhận" in html))
    assert "Giấy khai sinh bản sao" in html


def test_gif_is_not_a_photo_type_we_take(app):
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    client = app.test_client()
    token, sid = open_form(client)
    response = client.post("/hoi-dap/gui", data={"csrf_token": token, "sid": sid, **form_data(),
                                                 "anh": [(io.BytesIO(out.getvalue()), "anh.jpg")]},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "Chỉ nhận ảnh JPEG, PNG hoặc WebP" in response.get_data(as_text=True)


def test_too_many_and_too_large_photos(feedback_deployment, make_app):
    dep = feedback_deployment(max_photos=1, max_photo_bytes=50_000)
    client = make_app(dep).test_client()
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "PNG")
    token, sid = open_form(client)
    two = client.post("/hoi-dap/gui", data={"csrf_token": token, "sid": sid, **form_data(),
                                            "anh": [(io.BytesIO(out.getvalue()), "a.png"),
                                                    (io.BytesIO(out.getvalue()), "b.png")]},
                      content_type="multipart/form-data")
    assert two.status_code == 422 and "tối đa 1 ảnh" in two.get_data(as_text=True)
    big = client.post("/hoi-dap/gui", data={"csrf_token": token, "sid": sid, **form_data(),
                                            "anh": [(io.BytesIO(b"\xff" * 60_000), "a.jpg")]},
                      content_type="multipart/form-data")
    assert big.status_code == 422 and "ảnh nhỏ hơn" in big.get_data(as_text=True)
    huge = client.post("/hoi-dap/gui", data={"csrf_token": token, "sid": sid, **form_data(),
                                             "anh": [(io.BytesIO(b"\xff" * 400_000), "a.jpg")]},
                       content_type="multipart/form-data")
    assert huge.status_code == 413


def test_pixel_bomb_refused_before_decoding(feedback_deployment, make_app):
    dep = feedback_deployment(max_photo_pixels=100_000)
    out = io.BytesIO()
    Image.new("1", (1000, 1000)).save(out, "PNG")  # tiny file, a million pixels declared
    client = make_app(dep).test_client()
    token, sid = open_form(client)
    response = client.post("/hoi-dap/gui", data={"csrf_token": token, "sid": sid, **form_data(),
                                                 "anh": [(io.BytesIO(out.getvalue()), "a.png")]},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "kích thước quá lớn" in response.get_data(as_text=True)


def test_status_page_and_lookup(app, dep):
    client = app.test_client()
    response = ask(client)
    code = code_of(response)
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Đã tiếp nhận" in html and store.format_code(code) in html
    assert "Hạn trả lời" in html
    assert len(page.data) + css_size(client) < PAGE_LIMIT
    lookup = client.get(f"/hoi-dap/theo-doi?ma={code[:5].lower()}-{code[5:]}")
    assert lookup.status_code == 303 and lookup.headers["Location"].endswith(f"/theo-doi/{code}")
    bad = client.get("/hoi-dap/theo-doi?ma=" + "Đ" * 500)
    assert bad.status_code == 422 and "10 chữ và số" in bad.get_data(as_text=True)
    assert client.get("/hoi-dap/theo-doi/ABCDEFGHJK").status_code == 404
    assert client.get("/hoi-dap/theo-doi/" + "9" * 4000).status_code == 404


def test_unknown_codes_are_limited_then_every_code_is_refused(feedback_deployment, make_app):
    dep = feedback_deployment(lookups_per_address_per_hour=3)
    client = make_app(dep).test_client()
    code = code_of(ask(client))
    for _ in range(4):
        assert client.get("/hoi-dap/theo-doi/ABCDEFGHJK").status_code == 404
    refused_unknown = client.get("/hoi-dap/theo-doi/ABCDEFGHJK")
    refused_known = client.get(f"/hoi-dap/theo-doi/{code}")
    assert refused_unknown.status_code == refused_known.status_code == 429
    assert refused_unknown.get_data() == refused_known.get_data()


def test_numbers_in_urls_are_bounded(app):
    client = app.test_client()
    for url in ("/hoi-dap/?trang=0", "/hoi-dap/?trang=99999999999999999999", "/hoi-dap/?trang=²",
                "/hoi-dap/99999999999999999999", "/hoi-dap/0"):
        assert client.get(url).status_code in (400, 404), url
    assert client.get("/hoi-dap/?trang=501").status_code == 404
    assert client.get("/hoi-dap/?q=" + "a " * 3000).status_code == 200


def test_offensive_words_whole_words_with_tones():
    from ccch_feedback.forms import offensive_words

    assert set(offensive_words("Đồ SÚC VẬT, đm")) == {"súc vật", "đm"}
    assert offensive_words("cho tôi hỏi về con chó nhà hàng xóm") == ["con chó"]
    assert offensive_words("Tôi muốn đăng ký cho con") == []  # "cho", "con" alone are not offensive
    assert offensive_words("dmm đăng ký") == []  # whole words only
    assert offensive_words("thật là đồ khốn", ("khốn",)) == ["khốn"]


def test_photos_only_for_the_officers_of_the_item(app, dep, make_user):
    from ccch_core.testing import login

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 0)).save(out, "PNG")
    client = app.test_client()
    token, sid = open_form(client)
    item = store.item_by_code(dep.db, code_of(client.post(
        "/hoi-dap/gui", data={"csrf_token": token, "sid": sid, **form_data(), "anh": [(io.BytesIO(out.getvalue()),
                                                                                       "a.png")]},
        content_type="multipart/form-data")))
    assert client.get(f"/phan-anh/{item.id}/anh/1").status_code == 302  # anonymous: to the login page
    admin = app.test_client()
    login(admin, make_user(dep, "plan_admin")[0])
    photo = admin.get(f"/phan-anh/{item.id}/anh/1")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.data[:2] == b"\xff\xd8"
    assert photo.headers["Cache-Control"] == "no-store"
    assert f'href="/phan-anh/{item.id}/anh/1"' in admin.get(f"/phan-anh/{item.id}").get_data(as_text=True)
    assert admin.get(f"/phan-anh/{item.id}/anh/2").status_code == 404
    other = app.test_client()
    login(other, make_user(dep, "unit_officer", "xa-an-dung")[0])
    assert other.get(f"/phan-anh/{item.id}/anh/1").status_code == 404


def test_units_outside_the_deployment_are_not_offered_nor_taken(app, dep):
    # Đức Thọ's plan names Sở Nội vụ and UBND tỉnh (external): nobody in the district answers for them.
    html = app.test_client().get("/hoi-dap/gui").get_data(as_text=True)
    assert 'value="xa-an-dung"' in html
    assert 'value="so-noi-vu"' not in html and "Sở Nội vụ" not in html
    refused = ask(app.test_client(), **{"don-vi": "so-noi-vu"})
    assert refused.status_code == 422 and 'href="#don-vi"' in refused.get_data(as_text=True)
