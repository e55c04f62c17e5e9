"""``ccch survey`` refuses what would print useless posters or silently empty results: a public base
URL citizens cannot reach, and unit, kind, survey or placement options that name nothing."""

from __future__ import annotations

import pytest
from ccch_survey import posters
from ccch_survey.store import add_placement, place_for_kind, retire_placement
from ccch_survey_testing import count, store_response
from click.testing import CliRunner

from ccch_core.cli import make_cli


@pytest.fixture
def cli_at(dep):
    """Factory: run ``ccch`` on ``dep`` with ``public_base_url`` set to a given URL."""

    def factory(base_url: str = "https://cchc.example.gov.vn"):
        path = dep.config.folder / "ccch.toml"
        path.write_text(
            '[deployment]\nname = "Huyện Đức Thọ"\nplan = "plan.toml"\ndatabase = "ccch.db"\n'
            f'public_base_url = "{base_url}"\nplugins = ["survey"]\n', encoding="utf-8")

        def run(*args):
            return CliRunner().invoke(make_cli(path), list(args), catch_exceptions=False)

        return run

    return factory


@pytest.fixture
def cli(cli_at):
    return cli_at()


# -- the public base URL ------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000", "http://localhost:8000", "https://[::1]", "http://0.0.0.0:8000",
    "http://192.168.1.20", "https://10.1.2.3", "https://172.16.0.9:8443", "http://169.254.10.1",
    "https://[fe80::1]", "https://[fd12:3456::1]", "http://[::ffff:192.168.0.1]",
    "https://cchc.ductho.local", "https://app.localhost", "https://cchc.corp.internal", "https://may-chu",
])
def test_unreachable_public_urls_are_blocking(url):
    problem = posters.public_url_problem(url)
    assert problem is not None and problem.blocking
    assert url in problem.message and "ccch.toml" in problem.message and "public_base_url" in problem.message


def test_plain_http_on_a_public_host_is_a_warning():
    problem = posters.public_url_problem("http://cchc.ductho.hatinh.gov.vn")
    assert problem is not None and not problem.blocking
    assert "https" in problem.message and "ccch.toml" in problem.message


@pytest.mark.parametrize("url", ["https://cchc.ductho.hatinh.gov.vn", "https://cchc.ductho.hatinh.gov.vn:8443/ks",
                                 "https://203.113.131.5", "https://172.32.0.1"])
def test_public_https_urls_pass(url):
    assert posters.public_url_problem(url) is None


def test_posters_refuse_the_default_loopback_url_and_create_nothing(cli_at, dep, tmp_path):
    """The reviewer's case: `ccch init` without --public-base-url, then posters --create."""
    cli = cli_at("http://127.0.0.1:8000")
    out = tmp_path / "posters.pdf"
    result = cli("survey", "posters", "sipas", "--kind", "one_stop_desk", "--create", "-o", str(out))
    assert result.exit_code != 0
    assert "127.0.0.1" in result.output and "public_base_url" in result.output
    assert str(dep.config.folder / "ccch.toml") in result.output and "--allow-local-url" in result.output
    assert not out.exists() and count(dep.db, "survey_placements") == 0
    png = tmp_path / "qr.png"
    code = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh").code
    result = cli("survey", "qr", code, "-o", str(png))
    assert result.exit_code != 0 and "--allow-local-url" in result.output and not png.exists()


def test_allow_local_url_prints_for_a_local_network(cli_at, dep, tmp_path):
    cli = cli_at("http://192.168.1.20:8000")
    out = tmp_path / "posters.pdf"
    result = cli("survey", "posters", "sipas", "--kind", "one_stop_desk", "--create", "--allow-local-url",
                 "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "16 posters written" in result.output and "Cảnh báo" in result.stderr and "192.168.1.20" in result.stderr
    png = tmp_path / "qr.png"
    code = next(dep.db.query("select code from survey_placements"))["code"]
    assert cli("survey", "qr", code.lower(), "-o", str(png), "--allow-local-url").exit_code == 0
    assert png.read_bytes().startswith(b"\x89PNG")


def test_plain_http_warns_but_prints(cli_at, dep, tmp_path):
    cli = cli_at("http://cchc.ductho.hatinh.gov.vn")
    code = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh").code
    out = tmp_path / "posters.pdf"
    result = cli("survey", "posters", "sipas", "--code", code, "-o", str(out))
    assert result.exit_code == 0 and out.exists()
    assert "Cảnh báo" in result.stderr and "https" in result.stderr


# -- options that name nothing ------------------------------------------------------------------

def _with_a_response(dep):
    placement = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy")
    store_response(dep, placement, {"chung": "5"})
    return placement


def test_results_with_an_unknown_unit_is_an_error(cli, dep):
    _with_a_response(dep)
    result = cli("survey", "results", "sipas", "--period", "all", "--unit", "khong-co")
    assert result.exit_code != 0
    assert "--unit “khong-co”" in result.output and "không có đơn vị" in result.output
    assert "Unit" not in result.output  # no (empty) table


def test_a_mistyped_unit_suggests_close_ids(cli, dep):
    result = cli("survey", "results", "sipas", "--unit", "xa-an-dug.mot-cua")
    assert result.exit_code != 0 and "Có phải: xa-an-dung.mot-cua" in result.output
    import unicodedata

    typed = unicodedata.normalize("NFD", dep.plan.unit("xa-an-dung").name)  # a decomposing input method
    by_name = cli("survey", "results", "sipas", "--unit", typed)
    assert by_name.exit_code != 0 and "Mã của đơn vị tên này là: xa-an-dung." in by_name.output


def test_export_with_an_unknown_unit_writes_nothing(cli, dep, tmp_path):
    _with_a_response(dep)
    out = tmp_path / "out.csv"
    result = cli("survey", "export", "sipas", "--unit", "khong-co", "-o", str(out))
    assert result.exit_code != 0 and "--unit “khong-co”" in result.output
    assert "responses" not in result.output and not out.exists()
    assert "1 responses" in cli("survey", "export", "sipas", "--unit", "xa-an-dung", "-o", str(out)).output


def test_posters_with_an_unknown_within_kind_or_code_write_nothing(cli, dep, tmp_path):
    place_for_kind(dep.db, dep.plan, "sipas", "one_stop_desk")
    out = tmp_path / "posters.pdf"
    result = cli("survey", "posters", "sipas", "--within", "khong-co", "-o", str(out))
    assert result.exit_code != 0 and "--within “khong-co”" in result.output
    result = cli("survey", "posters", "sipas", "--kind", "one_stop_dsk", "-o", str(out))
    assert result.exit_code != 0 and "--kind “one_stop_dsk”" in result.output and "one_stop_desk" in result.output
    result = cli("survey", "posters", "sipas", "--kind", "khong_co", "--create", "-o", str(out))
    assert result.exit_code != 0 and "--kind “khong_co”" in result.output
    result = cli("survey", "posters", "sipas", "--code", "ZZZZZZ", "-o", str(out))
    assert result.exit_code != 0 and "--code “ZZZZZZ”" in result.output and "không có nơi đặt" in result.output
    assert not out.exists()


def test_posters_name_a_code_that_the_other_options_exclude(cli, dep, tmp_path):
    """A real code that --within, --kind or retirement leaves out is named, not silently dropped."""
    created, _ = place_for_kind(dep.db, dep.plan, "sipas", "one_stop_desk")
    an_dung = next(p for p in created if p.unit_id == "xa-an-dung.mot-cua")
    other = next(p for p in created if p.unit_id != "xa-an-dung.mot-cua")
    out = tmp_path / "posters.pdf"
    result = cli("survey", "posters", "sipas", "--within", "xa-an-dung", "--code", an_dung.code,
                 "--code", other.code, "-o", str(out))
    assert result.exit_code != 0 and f"--code “{other.code}”" in result.output and "--within" in result.output
    result = cli("survey", "posters", "sipas", "--kind", "post_culture_point", "--code", an_dung.code, "-o", str(out))
    assert result.exit_code != 0 and f"--code “{an_dung.code}”" in result.output and "--kind" in result.output
    retire_placement(dep.db, other.code)
    result = cli("survey", "posters", "sipas", "--code", other.code, "-o", str(out))
    assert result.exit_code != 0 and "đã gỡ" in result.output
    assert not out.exists()
    result = cli("survey", "posters", "sipas", "--within", "xa-an-dung", "--code", an_dung.code.lower(), "-o", str(out))
    assert result.exit_code == 0 and "1 posters written" in result.output


def test_placements_and_place_kind_check_their_options(cli, dep):
    result = cli("survey", "placements", "--within", "khong-co")
    assert result.exit_code != 0 and "--within “khong-co”" in result.output
    result = cli("survey", "placements", "--survey", "sipa")
    assert result.exit_code != 0 and "--survey “sipa”" in result.output and "Có phải: sipas" in result.output
    result = cli("survey", "place-kind", "sipas", "one_stop_desk", "--within", "khong-co")
    assert result.exit_code != 0 and "--within “khong-co”" in result.output
    result = cli("survey", "place-kind", "sipas", "one_stop_dsk")
    assert result.exit_code != 0 and "KIND “one_stop_dsk”" in result.output
    result = cli("survey", "retally", "sipa")
    assert result.exit_code != 0 and "SURVEY_ID “sipa”" in result.output
    assert count(dep.db, "survey_placements") == 0


# -- the same check on the officers' web pages -------------------------------------------------

@pytest.mark.parametrize(("base_url", "kind"), [("http://127.0.0.1:8000", "blocking"),
                                                ("http://cchc.ductho.hatinh.gov.vn", "warning"),
                                                ("https://cchc.ductho.hatinh.gov.vn", None)])
def test_the_placements_page_and_downloads_show_an_unreachable_public_url(make_deployment, survey_plan_path, sipas,
                                                                          base_url, kind):
    from ccch_survey.store import save_survey

    from ccch_core import accounts
    from ccch_core.testing import login
    from ccch_core.web import create_app

    dep = make_deployment(plugins=("survey",), plan_path=survey_plan_path, public_base_url=base_url)
    save_survey(dep.db, sipas)
    placement = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung", "Quầy tiếp nhận hồ sơ")
    accounts.create_user(dep.db, dep.plan, "vhtt", "mat-khau-thu-nghiem-2024", "plan_admin")
    client = create_app(dep.config.path).test_client()
    login(client, "vhtt")
    page = client.get("/khao-sat/noi-dat").get_data(as_text=True)
    pdf = client.get(f"/khao-sat/noi-dat/{placement.code}/poster.pdf")
    png = client.get(f"/khao-sat/noi-dat/{placement.code}/qr.png")
    assert pdf.status_code == 200 and png.status_code == 200  # a test print on a local network stays possible
    assert pdf.headers.get("X-Survey-Url-Problem") == kind and png.headers.get("X-Survey-Url-Problem") == kind
    if kind == "blocking":
        assert "Chưa nên in poster" in page and "127.0.0.1" in page and "public_base_url" in page
    elif kind == "warning":
        assert "Lưu ý trước khi in poster" in page and "Chưa nên in poster" not in page
    else:
        assert 'id="dia-chi-cong-khai"' not in page
