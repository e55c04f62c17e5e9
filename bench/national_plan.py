"""Generate a plan the size of the country and its year of data (#26 part 5).

Since the 2025 reform Vietnam has 34 provinces and 3,321 communes. This script writes, into a
folder, the files a ministry running one CCHC communication plan for all of them would load with
the documented commands (docs/cli.md):

- ``plan.toml``: 36,647 units — the ministry at the root (Bộ Nội vụ), 34 provinces, 102 provincial
  units (Sở Nội vụ, Sở Văn hóa, Thể thao và Du lịch and the public-service centre of each), 3,321
  communes and 33,189 facilities under them (one-stop desk, radio station, post-culture point,
  portal, health station and villages); 10 indicators on kind-based unit groups; one reporting
  rule, monthly, by every commune;
- ``measurements/YYYY-MM.csv``: each month's values (43,186 rows; 518,232 in the year), for
  ``ccch measure import``;
- ``activity/YYYY-MM.csv``: each month's activity reports of every commune (3,321 reports of 1–3
  items; 39,852 reports in the year), for ``ccch report-activity --from-csv``;
- ``manifest.json``: what was written (counts, seed, scale, year).

The same seed and scale write the same bytes. ``--scale 0.1`` writes a tenth of the communes and
facilities (all 34 provinces down to 0.1; below, one per ten communes), for tests and quick runs. Nothing it writes is
committed: the default folder is a new temporary one.

    .venv/bin/python bench/national_plan.py                      # full size, into a temp folder
    .venv/bin/python bench/national_plan.py /tmp/national --scale 0.1 --seed 7

The files load as they are: ``ccch plan validate plan.toml``; ``ccch init`` a deployment and raise
its import limit (a month's CSV has more rows than the default ``[limits] max_rows`` of 20,000), as
``bench/national_bench.py`` does.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import sys
import tempfile
from pathlib import Path

# The 34 provinces and centrally-run cities since 12 June 2025 (Resolution 202/2025/QH15).
PROVINCES = (
    "Hà Nội", "Huế", "Hải Phòng", "Đà Nẵng", "Hồ Chí Minh", "Cần Thơ",
    "Lai Châu", "Điện Biên", "Sơn La", "Lạng Sơn", "Quảng Ninh", "Thanh Hóa", "Nghệ An", "Hà Tĩnh",
    "Cao Bằng", "Tuyên Quang", "Lào Cai", "Thái Nguyên", "Phú Thọ", "Bắc Ninh", "Hưng Yên",
    "Ninh Bình", "Quảng Trị", "Quảng Ngãi", "Gia Lai", "Khánh Hòa", "Lâm Đồng", "Đắk Lắk",
    "Đồng Nai", "Tây Ninh", "Vĩnh Long", "Đồng Tháp", "Cà Mau", "An Giang",
)
COMMUNES = 3_321
FACILITIES = 33_189
FACILITIES_PER_COMMUNE = 10  # 5 services and up to 5 villages; 21 communes have 4 villages
VILLAGES = 5

# Provincial units of each province: (id suffix, name, kind).
PROVINCIAL_UNITS = (
    ("so-noi-vu", "Sở Nội vụ", "provincial_department"),
    ("so-vhttdl", "Sở Văn hóa, Thể thao và Du lịch", "provincial_department"),
    ("trung-tam-phvhc", "Trung tâm Phục vụ hành chính công", "centre"),
)
# Facilities of each commune besides its villages: (id suffix, name, kind).
SERVICES = (
    ("mot-cua", "Bộ phận một cửa", "one_stop_desk"),
    ("truyen-thanh", "Đài truyền thanh", "radio_station"),
    ("buu-dien", "Điểm Bưu điện - Văn hóa xã", "post_culture_point"),
    ("trang-ttdt", "Trang thông tin điện tử", "portal"),
    ("tram-y-te", "Trạm y tế", "centre"),
)
# Syllables for made-up commune and village names (real-sounding, no digits).
SYLLABLES = (
    "An", "Bình", "Cẩm", "Diễn", "Đông", "Gia", "Hòa", "Hưng", "Kim", "Lâm", "Long", "Minh", "Nam",
    "Ngọc", "Phú", "Phước", "Quang", "Sơn", "Tân", "Thạch", "Thanh", "Thịnh", "Thuận", "Tiến",
    "Trung", "Vĩnh", "Xuân", "Yên", "Hải", "Hồng", "Lộc", "Mỹ", "Nghĩa", "Phong", "Quý", "Tường",
)
VILLAGE_WORDS = ("Một", "Hai", "Ba", "Bốn", "Năm")

# The 10 indicators: (code, kind, group id, extra TOML lines).
INDICATORS = (
    ("I1", "share_of_units", "dai-truyen-thanh",
     ('text = "100% đài truyền thanh cấp xã có chuyên mục tuyên truyền CCHC hằng tháng."\ntarget = 100\n'
     'condition = "Đài truyền thanh có chuyên mục CCHC phát sóng trong tháng"')),
    ("I2", "ratio", "bo-phan-mot-cua",
     ('text = "100% TTHC được niêm yết, công khai đúng quy định tại Bộ phận một cửa cấp xã."\ntarget = 100\n'
     'numerator = "Số TTHC được niêm yết đúng quy định"\ndenominator = "Tổng số TTHC thuộc thẩm quyền tiếp nhận"')),
    ("I3", "count", "diem-buu-dien",
     ('text = "Mỗi điểm Bưu điện - Văn hóa xã phát 50 tờ gấp về dịch vụ công trực tuyến mỗi tháng."\n'
     'target = 50\ntarget_per = "month"\nscope = "each"\nunit_label = "tờ gấp"')),
    ("I4", "count", "trang-ttdt",
     ('text = "Mỗi trang thông tin điện tử cấp xã đăng 24 tin, bài về CCHC trong năm."\n'
     'target = 24\ntarget_per = "year"\nscope = "each"\nunit_label = "tin, bài"')),
    ("I5", "yes_no", "tram-y-te",
     'text = "Trạm y tế cấp xã niêm yết hướng dẫn thủ tục khám chữa bệnh bảo hiểm y tế trực tuyến."\ntarget = 1'),
    ("I6", "share_of_units", "thon-to-dan-pho",
     ('text = "100% thôn, tổ dân phố có bảng tin CCHC được cập nhật hằng tháng."\ntarget = 100\n'
     'condition = "Bảng tin của thôn có nội dung CCHC mới trong tháng"')),
    ("I7", "count", "cac-xa",
     ('text = "Mỗi xã phát 01 mục “Nêu gương người tốt, việc tốt về cải cách hành chính” mỗi tháng."\n'
     'target = 1\ntarget_per = "month"\nscope = "each"\nunit_label = "mục"')),
    ("I8", "yes_no", "cac-xa",
     'text = "Đưa nội dung CCHC vào sinh hoạt Ngày pháp luật hằng tháng."\ntarget = 1'),
    ("I9", "percentage", "cac-xa",
     'text = "Mức độ hài lòng của người dân đối với việc giải quyết TTHC cấp xã đạt trên 90%."\ntarget = 90'),
    ("I10", "count", "cac-tinh",
     ('text = "Mỗi tỉnh có 24 chuyên mục CCHC trên báo, đài của tỉnh trong năm."\n'
     'target = 24\ntarget_per = "year"\nscope = "each"\nunit_label = "chuyên mục"')),
)
GROUPS = (
    ("cac-tinh", "UBND các tỉnh, thành phố", "province"),
    ("cac-xa", "UBND các xã, phường", "commune"),
    ("dai-truyen-thanh", "Đài truyền thanh cấp xã", "radio_station"),
    ("bo-phan-mot-cua", "Bộ phận một cửa cấp xã", "one_stop_desk"),
    ("diem-buu-dien", "Điểm Bưu điện - Văn hóa xã", "post_culture_point"),
    ("trang-ttdt", "Trang thông tin điện tử cấp xã", "portal"),
    ("tram-y-te", "Trạm y tế cấp xã", "centre"),
    ("thon-to-dan-pho", "Thôn, tổ dân phố", "village"),
)
CATEGORIES = ("published", "broadcast", "printed", "training", "meeting", "other")


def q(text: str) -> str:
    """A TOML basic string."""
    return json.dumps(text, ensure_ascii=False)


class NationalPlan:
    """The units of the generated plan, computed from ``scale`` (names drawn from ``seed``)."""

    def __init__(self, scale: float = 1.0, seed: int = 2024, year: int = 2024):
        if not 0 < scale <= 1:
            raise ValueError(f"scale {scale} must be in (0, 1]")
        self.scale, self.seed, self.year = scale, seed, year
        rng = random.Random(seed)
        n_communes = max(2, round(COMMUNES * scale))
        # All 34 provinces down to a tenth of the size (so pages keep their shape); fewer below,
        # about ten communes each.
        n_provinces = min(len(PROVINCES), max(2, math.ceil(n_communes / 10)))
        n_facilities = round(FACILITIES * scale) if scale < 1 else FACILITIES
        # Communes that have one village fewer, so that the facilities add up to the count.
        short = max(0, min(n_communes, n_communes * FACILITIES_PER_COMMUNE - n_facilities))
        self.provinces: list[tuple[str, str]] = []  # (id, name)
        self.provincial: list[tuple[str, str, str, str]] = []  # (id, name, kind, parent)
        self.communes: list[tuple[str, str, str]] = []  # (id, name, parent)
        self.facilities: list[tuple[str, str, str, str]] = []  # (id, name, kind, parent)
        for p in range(n_provinces):
            pid = f"t{p + 1:02d}"
            province = f"{'thành phố' if p < 6 else 'tỉnh'} {PROVINCES[p]}"  # the six cities come first
            self.provinces.append((pid, f"UBND {province}"))
            for suffix, name, kind in PROVINCIAL_UNITS:
                self.provincial.append((f"{pid}.{suffix}", f"{name} {province}", kind, pid))
        for c in range(n_communes):
            pid = self.provinces[c % n_provinces][0]
            cid = f"{pid}.x{c // n_provinces + 1:03d}"
            name = f"{rng.choice(SYLLABLES)} {rng.choice(SYLLABLES)}"
            self.communes.append((cid, f"UBND xã {name}", pid))
            for suffix, fname, kind in SERVICES:
                self.facilities.append((f"{cid}.{suffix}", f"{fname} xã {name}", kind, cid))
            for v in range(VILLAGES - (1 if c >= n_communes - short else 0)):
                self.facilities.append((f"{cid}.thon-{v + 1}", f"Thôn {VILLAGE_WORDS[v]} xã {name}", "village", cid))

    @property
    def unit_count(self) -> int:
        return 1 + len(self.provinces) + len(self.provincial) + len(self.communes) + len(self.facilities)

    def plan_toml(self) -> str:
        """The plan file (format 2)."""
        y = self.year
        out = [
            "# A generated plan the size of the country (bench/national_plan.py, #26): not a real plan.",
            "format = 2", "",
            "[plan]",
            f'id = "quoc-gia-{y}"',
            f"title = {q(f'Kế hoạch tuyên truyền cải cách hành chính toàn quốc năm {y} (kế hoạch sinh tự động để đo hiệu năng)')}",
            'symbol = "KH-BNV"',
            'issuing_unit = "bo-noi-vu"',
            'place = "Hà Nội"',
            f"year = {y}",
            f"starts_on = {y}-01-01",
            f"ends_on = {y}-12-31",
            "",
            "[[unit_kinds]]",
            'id = "village"',
            'label = "Thôn, tổ dân phố"',
            "",
            "[[units]]",
            'id = "bo-noi-vu"',
            'name = "Bộ Nội vụ"',
            'kind = "central"',
        ]

        def unit(uid: str, name: str, kind: str, parent: str) -> None:
            out.extend(["", "[[units]]", f'id = "{uid}"', f"name = {q(name)}", f'kind = "{kind}"', f'parent = "{parent}"'])

        for pid, name in self.provinces:
            unit(pid, name, "province", "bo-noi-vu")
        for uid, name, kind, parent in self.provincial:
            unit(uid, name, kind, parent)
        for uid, name, parent in self.communes:
            unit(uid, name, "commune", parent)
        for uid, name, kind, parent in self.facilities:
            unit(uid, name, kind, parent)
        for gid, name, kind in GROUPS:
            out.extend(["", "[[unit_groups]]", f'id = "{gid}"', f"name = {q(name)}", f'kinds = ["{kind}"]'])
        for code, kind, group, extra in INDICATORS:
            out.extend(["", "[[indicators]]", f'code = "{code}"', f'kind = "{kind}"', f'applies_to = ["{group}"]',
                        'period_type = "month"', extra])
        out.extend([
            "", "[[reporting_rules]]",
            'id = "bao-cao-thang"',
            'what = "Báo cáo kết quả công tác tuyên truyền CCHC hằng tháng"',
            'reporters = ["cac-xa"]',
            'to = "bo-noi-vu"',
            'frequency = "month"',
            "due_day = 5",
        ])
        return "\n".join(out) + "\n"

    def measurement_rows(self, month: int):
        """One month's measurement rows: one value per facility, three per commune, one per province."""
        rng = random.Random(f"{self.seed}-m-{month}")
        period = f"{self.year}-{month:02d}"
        by_kind = {"radio_station": "I1", "one_stop_desk": "I2", "post_culture_point": "I3", "portal": "I4",
                   "centre": "I5", "village": "I6"}
        for uid, _name, kind, _parent in self.facilities:
            code = by_kind[kind]
            if code == "I2":
                den = rng.randint(80, 400)
                yield (code, uid, period, "", den - rng.choice((0, 0, 0, 1, 3)), den, "")
            elif code in ("I1", "I5", "I6"):
                yield (code, uid, period, int(rng.random() < 0.9), "", "", "")
            else:
                yield (code, uid, period, rng.randint(0, 60) if code == "I3" else rng.randint(0, 4), "", "", "")
        for uid, _name, _parent in self.communes:
            yield ("I7", uid, period, rng.choice((0, 1, 1, 1, 2)), "", "", "")
            yield ("I8", uid, period, int(rng.random() < 0.85), "", "", "")
            yield ("I9", uid, period, round(rng.uniform(80, 100), 1), "", "", "")
        for pid, _name in self.provinces:
            yield ("I10", pid, period, rng.randint(1, 3), "", "", "")

    def activity_rows(self, month: int):
        """One month's activity rows: every commune reports 1–3 items, submitted in the next month
        (Vietnam time), most by the 5th (the due day), some later."""
        rng = random.Random(f"{self.seed}-a-{month}")
        period = f"{self.year}-{month:02d}"
        next_year, next_month = (self.year + 1, 1) if month == 12 else (self.year, month + 1)
        for uid, _name, _parent in self.communes:
            day = rng.choice((1, 2, 3, 3, 4, 4, 5, 5, 5, 6, 8))
            submitted = f"{next_year}-{next_month:02d}-{day:02d} {rng.randint(7, 16):02d}:{rng.randint(0, 59):02d}"
            for index, category in enumerate(rng.sample(CATEGORIES, rng.choice((1, 2, 2, 3)))):
                yield (uid, period, category, rng.randint(1, 12), f"Hoạt động tuyên truyền CCHC tháng {month}",
                       "", "", "Báo cáo nhập từ tệp" if index == 0 else "", submitted)


MEASUREMENT_HEADER = ("indicator", "unit", "period", "value", "numerator", "denominator", "note")
ACTIVITY_HEADER = ("unit", "period", "category", "count", "title", "link", "task", "note", "submitted_at")


def write_csv(path: Path, header, rows) -> int:
    """Write ``rows`` under ``header``; the number of data rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def small_plan(folder: Path) -> Path:
    """The generator's plan at 5 % (1,894 units: more than a form lists, with communes of one name
    in several provinces) and one month of data, written into ``folder``; the plan file's path.
    What the national-size tests load."""
    generate(folder, scale=0.05, months=1)
    return folder / "plan.toml"


def namesake_communes(plan) -> tuple:
    """Two communes of one name (in different provinces) of a loaded plan this generator made: a
    name alone must not choose between them, which the unit pickers' tests need."""
    seen = {}
    for unit in plan.units:
        if unit.kind == "commune":
            if unit.name in seen:
                return seen[unit.name], unit
            seen[unit.name] = unit
    raise AssertionError("the generated plan has no two communes of one name")


def generate(folder: Path, scale: float = 1.0, seed: int = 2024, year: int = 2024, months: int = 12) -> dict:
    """Write the plan, the measurement and activity CSVs and ``manifest.json`` into ``folder``;
    returns the manifest (paths relative to ``folder``)."""
    plan = NationalPlan(scale, seed, year)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plan.toml").write_text(plan.plan_toml(), encoding="utf-8")
    (folder / "measurements").mkdir(exist_ok=True)
    (folder / "activity").mkdir(exist_ok=True)
    manifest = {
        "seed": seed, "scale": scale, "year": year, "plan": "plan.toml", "plan_id": f"quoc-gia-{year}",
        "units": plan.unit_count, "provinces": len(plan.provinces), "provincial_units": len(plan.provincial),
        "communes": len(plan.communes), "facilities": len(plan.facilities), "indicators": len(INDICATORS),
        "measurements": [], "activity": [],
    }
    for month in range(1, months + 1):
        name = f"{year}-{month:02d}.csv"
        rows = write_csv(folder / "measurements" / name, MEASUREMENT_HEADER, plan.measurement_rows(month))
        manifest["measurements"].append({"file": f"measurements/{name}", "rows": rows})
        rows = write_csv(folder / "activity" / name, ACTIVITY_HEADER, plan.activity_rows(month))
        manifest["activity"].append({"file": f"activity/{name}", "rows": rows, "reports": len(plan.communes)})
    manifest["measurement_rows"] = sum(m["rows"] for m in manifest["measurements"])
    manifest["reports"] = sum(a["reports"] for a in manifest["activity"])
    manifest["activity_rows"] = sum(a["rows"] for a in manifest["activity"])
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, help="where to write (default: a new temporary folder)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the communes and facilities (0 < s ≤ 1)")
    parser.add_argument("--seed", type=int, default=2024, help="random seed (same seed, same files)")
    parser.add_argument("--year", type=int, default=2024, help="the plan's year")
    parser.add_argument("--months", type=int, default=12, choices=range(1, 13), metavar="1-12",
                        help="how many months of data to write")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale {args.scale}: give a number above 0 and at most 1")
    folder = args.folder or Path(tempfile.mkdtemp(prefix="ccch-national-"))
    m = generate(folder, args.scale, args.seed, args.year, args.months)
    print(f"{folder}: {m['units']:,} units ({m['provinces']} provinces, {m['provincial_units']} provincial units, "
          f"{m['communes']:,} communes, {m['facilities']:,} facilities), {m['indicators']} indicators; "
          f"{m['measurement_rows']:,} measurements, {m['reports']:,} reports ({m['activity_rows']:,} activity rows) "
          f"in {len(m['measurements'])} month(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
