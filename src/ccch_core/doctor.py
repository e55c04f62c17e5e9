"""``ccch doctor``: check a deployment and say what to fix, in Vietnamese and English.

Each check returns a :class:`Finding` — ``ok``, ``warning`` (works, but not as a production
deployment should) or ``problem`` (fix it now: data at risk, or something citizens or officers will
hit) — with the text and the fix in both languages. The checks read files and settings only; they
change nothing and do not need the server to be running.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import attrs

LEVELS = ("ok", "warning", "problem")
GIB = 1024 ** 3
BACKUP_MAX_HOURS = 26  # a nightly timer, with slack for a slow night
LAG_WARNING_SECONDS = 10
LAG_PROBLEM_SECONDS = 60


@attrs.frozen
class Finding:
    """One result: what was checked, how it stands, and what to do (both languages)."""

    check: str
    level: str
    vi: str
    en: str
    fix_vi: str = ""
    fix_en: str = ""

    def as_dict(self, lang: str) -> dict:
        """The finding in one language, for ``--json``."""
        return {"check": self.check, "level": self.level, "text": self.vi if lang == "vi" else self.en,
                "fix": (self.fix_vi if lang == "vi" else self.fix_en) or None}


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


SECRET_KEYS = ("password", "api_key", "secret", "access_token", "refresh_token", "secret_key")


def _holds_secrets(config) -> bool:
    """Whether ``ccch.toml`` itself holds a credential (rather than naming an environment variable)."""
    if config.web.get("secret_key"):
        return True
    channels = config.messages.get("channels", {}) if isinstance(config.messages, dict) else {}
    return any(table.get(key) for table in channels.values() if isinstance(table, dict) for key in SECRET_KEYS)


def check_permissions(config) -> list[Finding]:
    """Files with personal data or secrets are the owner's only; the folder is not writable by others."""
    folder = config.folder
    files = [folder / "secret_key"]
    if _holds_secrets(config):  # otherwise ccch.toml may stay readable (ccch init writes it 644)
        files.append(folder / "ccch.toml")
    if config.database_path != ":memory:":
        database = Path(config.database_path)
        files += [database, Path(str(database) + "-wal"), Path(str(database) + "-shm")]
    loose = [f"{path.name} ({oct(mode)[2:]})" for path in files if (mode := _mode(path)) is not None and mode & 0o077]
    findings = []
    if loose:
        names = ", ".join(loose)
        findings.append(Finding(
            "permissions", "problem",
            f"Tệp chứa dữ liệu cá nhân hoặc khóa bí mật mà người khác trên máy chủ đọc được: {names}.",
            f"Files holding personal data or secrets are readable by other accounts on the server: {names}.",
            f"Chạy: chmod 600 {' '.join(str(folder / n.split(' ')[0]) for n in loose)}",
            f"Run: chmod 600 {' '.join(str(folder / n.split(' ')[0]) for n in loose)}"))
    folder_mode = _mode(folder)
    if folder_mode is not None and folder_mode & 0o002:
        findings.append(Finding(
            "permissions", "problem",
            f"Thư mục triển khai {folder} cho phép mọi tài khoản ghi vào.",
            f"The deployment folder {folder} is writable by every account.",
            f"Chạy: chmod o-w {folder}", f"Run: chmod o-w {folder}"))
    if not findings:
        findings.append(Finding("permissions", "ok", "Quyền truy cập tệp: chỉ tài khoản chạy ccch đọc được.",
                                "File permissions: only the account running ccch can read them."))
    return findings


def check_disk(config) -> list[Finding]:
    """Free space where the database lives."""
    where = Path(config.database_path).parent if config.database_path != ":memory:" else config.folder
    try:
        usage = shutil.disk_usage(where)
    except OSError as exc:
        return [Finding("disk", "problem", f"Không đọc được dung lượng đĩa tại {where}: {exc}.",
                        f"Cannot read the disk space at {where}: {exc}.")]
    free_gib, share = usage.free / GIB, usage.free / usage.total if usage.total else 0
    text = f"{free_gib:.1f} GiB ({share:.0%})"
    if free_gib < 1 or share < 0.05:
        return [Finding("disk", "problem", f"Đĩa chứa cơ sở dữ liệu sắp đầy: còn {text}.",
                        f"The database's disk is nearly full: {text} free.",
                        "Giải phóng dung lượng hoặc mở rộng đĩa ngay: khi đĩa đầy, bài dự thi và phiếu khảo sát "
                        "không lưu được.",
                        "Free space or grow the disk now: when it is full, contest and survey submissions "
                        "cannot be stored.")]
    if free_gib < 5 or share < 0.10:
        return [Finding("disk", "warning", f"Đĩa chứa cơ sở dữ liệu còn ít chỗ: {text}.",
                        f"The database's disk is getting full: {text} free.",
                        "Lên kế hoạch mở rộng đĩa; xóa các bản sao lưu cũ đã chép đi nơi khác.",
                        "Plan to grow the disk; delete old backups already copied elsewhere.")]
    return [Finding("disk", "ok", f"Dung lượng đĩa còn trống: {text}.", f"Free disk space: {text}.")]


def check_backups(config, now: float | None = None) -> list[Finding]:
    """The newest nightly backup in ``[replication] backup_dir``."""
    from .replication import settings_of

    settings = settings_of(config)
    folder = settings.backup_dir if settings else None
    if folder is None:
        return [Finding("backup", "warning", "Chưa khai báo thư mục sao lưu hằng đêm nên không kiểm tra được tuổi "
                        "của bản sao lưu mới nhất.",
                        "No backup folder is configured, so the age of the latest backup cannot be checked.",
                        "Thêm backup_dir = \"/srv/ccch/backups\" vào mục [replication] của ccch.toml (nơi bộ hẹn "
                        "giờ ccch-backup ghi bản sao lưu).",
                        "Add backup_dir = \"/srv/ccch/backups\" to [replication] in ccch.toml (where the "
                        "ccch-backup timer writes).")]
    now = time.time() if now is None else now
    try:
        newest = max((p.stat().st_mtime for p in folder.glob("*.db")), default=None)
    except OSError:
        newest = None
    if newest is None:
        return [Finding("backup", "problem", f"Không có bản sao lưu nào trong {folder}.",
                        f"There is no backup in {folder}.",
                        "Bật bộ hẹn giờ sao lưu (docs/deploy.md, mục 5) và chạy thử: ccch backup "
                        f"{folder}/ccch-thu.db",
                        f"Enable the backup timer (docs/deploy.md, section 5) and try it: ccch backup {folder}/ccch-try.db")]
    hours = (now - newest) / 3600
    if hours > BACKUP_MAX_HOURS:
        return [Finding("backup", "problem", f"Bản sao lưu mới nhất đã cũ {hours:.0f} giờ.",
                        f"The latest backup is {hours:.0f} hours old.",
                        "Xem vì sao bộ hẹn giờ không chạy: systemctl status ccch-backup.timer ccch-backup.service",
                        "See why the timer did not run: systemctl status ccch-backup.timer ccch-backup.service")]
    return [Finding("backup", "ok", f"Bản sao lưu mới nhất: {hours:.1f} giờ trước.",
                    f"Latest backup: {hours:.1f} hours ago.")]


def check_replication(config) -> list[Finding]:
    """The replication lag (Litestream)."""
    from . import replication

    settings = replication.settings_of(config)
    if settings is None:
        return [Finding("replication", "warning", "Chưa bật sao chép liên tục: nếu máy chủ hỏng, dữ liệu từ bản "
                        "sao lưu đêm qua đến lúc hỏng sẽ mất.",
                        "Continuous replication is off: if the server is lost, everything since last night's "
                        "backup is lost.",
                        "Thêm mục [replication] vào ccch.toml và chạy dịch vụ ccch-replication (docs/deploy.md).",
                        "Add a [replication] table to ccch.toml and run the ccch-replication unit (docs/deploy.md).")]
    result = replication.status(config, settings)
    if result.lag_seconds is None:
        return [Finding("replication", "problem", f"Không xác định được độ trễ sao chép: {result.problem}.",
                        f"The replication lag cannot be told: {result.problem}.",
                        "Kiểm tra dịch vụ: systemctl status ccch-replication; journalctl -u ccch-replication",
                        "Check the unit: systemctl status ccch-replication; journalctl -u ccch-replication")]
    lag = result.lag_seconds
    if lag > LAG_PROBLEM_SECONDS:
        level = "problem"
    elif lag > LAG_WARNING_SECONDS:
        level = "warning"
    else:
        return [Finding("replication", "ok", f"Bản sao liên tục chậm {lag:.0f} giây so với cơ sở dữ liệu.",
                        f"The replica is {lag:.0f} s behind the database.")]
    return [Finding("replication", level, f"Bản sao liên tục chậm {lag:.0f} giây: dữ liệu trong khoảng đó chưa "
                    "được chép đi.", f"The replica is {lag:.0f} s behind: writes of that time are not copied yet.",
                    "Kiểm tra Litestream (journalctl -u ccch-replication) và đường mạng tới nơi lưu bản sao.",
                    "Check Litestream (journalctl -u ccch-replication) and the network to the replica.")]


def _local_offset_hours() -> float:
    offset = dt.datetime.now().astimezone().utcoffset()
    return offset.total_seconds() / 3600 if offset is not None else 0.0


def check_time_zone(config, offset_hours: Callable[[], float] = _local_offset_hours) -> list[Finding]:
    """Vietnam's time zone data is present; the server's own clock zone is said."""
    findings = []
    try:
        from .periods import VN_TZ

        dt.datetime(2024, 1, 1, tzinfo=VN_TZ).utcoffset()
    except Exception as exc:  # noqa: BLE001 - any failure means the same thing here
        return [Finding("time_zone", "problem", f"Không nạp được múi giờ Asia/Ho_Chi_Minh: {exc}.",
                        f"The Asia/Ho_Chi_Minh time zone cannot be loaded: {exc}.",
                        "Cài lại gói tzdata trong môi trường ảo của ccch: pip install --upgrade tzdata",
                        "Reinstall tzdata in ccch's virtualenv: pip install --upgrade tzdata")]
    hours = offset_hours()
    if abs(hours - 7) > 0.01:
        findings.append(Finding(
            "time_zone", "warning",
            f"Đồng hồ máy chủ theo múi giờ UTC{hours:+g}, không phải giờ Việt Nam (UTC+7). ccch vẫn tính hạn "
            "nộp và kỳ báo cáo theo giờ Việt Nam, nhưng bộ hẹn giờ systemd (sao lưu 02:30) chạy theo giờ máy chủ.",
            f"The server's clock is on UTC{hours:+g}, not Vietnam time (UTC+7). ccch still computes deadlines and "
            "periods in Vietnam time, but systemd timers (the 02:30 backup) run on the server's time.",
            "Chạy: sudo timedatectl set-timezone Asia/Ho_Chi_Minh", "Run: sudo timedatectl set-timezone Asia/Ho_Chi_Minh"))
    else:
        findings.append(Finding("time_zone", "ok", "Múi giờ: giờ Việt Nam (UTC+7).", "Time zone: Vietnam time (UTC+7)."))
    return findings


def check_public_url(config) -> list[Finding]:
    """The address QR codes and links carry: public, and https."""
    url = config.public_base_url
    host = urlsplit(url).hostname or ""
    private = host in ("localhost",) or host.endswith((".local", ".internal", ".lan"))
    try:
        address = ipaddress.ip_address(host)
        private = private or address.is_private or address.is_loopback or address.is_link_local
    except ValueError:
        pass
    if private:
        return [Finding("public_base_url", "problem",
                        f"Địa chỉ công khai {url} chỉ dùng được trong mạng nội bộ: mã QR trên áp phích sẽ không mở "
                        "được trên điện thoại của người dân.",
                        f"The public address {url} only works inside the office network: QR codes on posters "
                        "will not open on citizens' phones.",
                        "Đặt public_base_url trong ccch.toml là tên miền công khai, ví dụ "
                        "https://cchc.ductho.hatinh.gov.vn, trước khi in áp phích.",
                        "Set public_base_url in ccch.toml to the public name, e.g. https://cchc.ductho.hatinh.gov.vn, "
                        "before printing posters.")]
    if not url.startswith("https://"):
        return [Finding("public_base_url", "warning",
                        f"Địa chỉ công khai {url} không dùng https: mật khẩu và dữ liệu gửi đi không được mã hóa.",
                        f"The public address {url} is not https: passwords and submissions travel unencrypted.",
                        "Cấu hình TLS cho nginx (docs/deploy.md, mục 4) rồi đổi public_base_url sang https://.",
                        "Set up TLS in nginx (docs/deploy.md, section 4), then change public_base_url to https://.")]
    return [Finding("public_base_url", "ok", f"Địa chỉ công khai: {url}.", f"Public address: {url}.")]


def check_secret_key(config) -> list[Finding]:
    """The key that signs sessions and keys the hashes of phone numbers."""
    if config.web.get("secret_key"):
        mode = _mode(config.folder / "ccch.toml") if config.path else None
        if mode is not None and mode & 0o077:
            return [Finding("secret_key", "problem", "Khóa bí mật nằm trong ccch.toml và người khác đọc được tệp này.",
                            "The secret key is in ccch.toml, which other accounts can read.",
                            f"Chạy: chmod 600 {config.path}", f"Run: chmod 600 {config.path}")]
        return [Finding("secret_key", "ok", "Khóa bí mật: đặt trong ccch.toml.", "Secret key: set in ccch.toml.")]
    if os.environ.get("CCCH_SECRET_KEY"):
        return [Finding("secret_key", "ok", "Khóa bí mật: từ biến môi trường CCCH_SECRET_KEY.",
                        "Secret key: from the CCCH_SECRET_KEY environment variable.")]
    path = config.folder / "secret_key"
    if not path.exists():
        return [Finding("secret_key", "warning", f"Chưa có tệp khóa bí mật {path}; ccch sẽ tạo khi chạy lần đầu.",
                        f"There is no secret key file {path} yet; ccch creates it on first use.",
                        "Sau khi ccch tạo tệp, chép nó vào nơi cất bản sao lưu: thiếu nó, không kiểm tra được "
                        "“mỗi số điện thoại một lượt” với dữ liệu cũ.",
                        "Once ccch has created it, keep a copy with the backups: without it, \"one entry per phone "
                        "number\" cannot be checked against old entries.")]
    if len(path.read_text(encoding="utf-8").strip()) < 32:
        return [Finding("secret_key", "problem", f"Khóa bí mật trong {path} quá ngắn (dưới 32 ký tự).",
                        f"The secret key in {path} is too short (under 32 characters).",
                        "Thay bằng khóa mới dài (mọi người dùng sẽ phải đăng nhập lại): "
                        f"python3 -c 'import secrets; print(secrets.token_urlsafe(48))' > {path}",
                        "Replace it with a long new key (everyone signs in again): "
                        f"python3 -c 'import secrets; print(secrets.token_urlsafe(48))' > {path}")]
    return [Finding("secret_key", "ok", f"Khóa bí mật: {path} (nhớ cất kèm bản sao lưu).",
                    f"Secret key: {path} (keep it with the backups).")]


def check_mail(config) -> list[Finding]:
    """Messages go out through real senders, with their credentials present."""
    channels = config.messages.get("channels", {}) if isinstance(config.messages, dict) else {}
    if not channels:
        return [Finding("mail", "warning", "Chưa cấu hình kênh gửi tin (thư điện tử, SMS, Zalo): mã xác thực và "
                        "nhắc báo cáo sẽ không được gửi.",
                        "No message channels (e-mail, SMS, Zalo) are configured: one-time codes and report "
                        "reminders will not be sent.",
                        "Thêm [messages.channels.email] với sender = \"smtp\" (docs/messages.md).",
                        "Add [messages.channels.email] with sender = \"smtp\" (docs/messages.md).")]
    findings = []
    for channel, table in sorted(channels.items()):
        sender = table.get("sender")
        if sender == "folder":
            findings.append(Finding(
                "mail", "warning",
                f"Kênh {channel} chỉ ghi tin ra thư mục (chế độ thử nghiệm): không tin nào đến được người nhận.",
                f"Channel {channel} only writes messages to a folder (development): nothing reaches anyone.",
                f"Đặt sender thật cho [messages.channels.{channel}] (smtp, http_sms, zalo_zns; docs/messages.md) "
                f"rồi thử: ccch messages test {channel} <địa chỉ>",
                f"Set a real sender for [messages.channels.{channel}] (smtp, http_sms, zalo_zns; docs/messages.md), "
                f"then try: ccch messages test {channel} <address>"))
            continue
        missing = [f"{key[:-4]} ({table[key]})" for key in table if key.endswith("_env") and not os.environ.get(str(table[key]))]
        if missing:
            names = ", ".join(missing)
            findings.append(Finding(
                "mail", "problem",
                f"Kênh {channel}: thiếu biến môi trường chứa thông tin đăng nhập: {names}.",
                f"Channel {channel}: the environment variables holding credentials are not set: {names}.",
                "Đặt chúng trong /etc/ccch/messages.env (EnvironmentFile của dịch vụ) rồi khởi động lại dịch vụ. "
                "ccch doctor cần chạy với cùng môi trường đó.",
                "Set them in /etc/ccch/messages.env (the units' EnvironmentFile) and restart. Run ccch doctor with "
                "that environment too."))
            continue
        findings.append(Finding("mail", "ok", f"Kênh {channel}: gửi qua {sender}.", f"Channel {channel}: sent by {sender}."))
    return findings


def check_wal(config) -> list[Finding]:
    """A WAL file that keeps growing means nothing checkpoints it (Litestream stopped)."""
    if config.database_path == ":memory:":
        return []
    try:
        size = os.stat(str(config.database_path) + "-wal").st_size
    except OSError:
        return []
    if size > GIB:
        return [Finding("wal", "problem", f"Tệp WAL của cơ sở dữ liệu đã lớn {size / GIB:.1f} GiB: không có gì "
                        "gộp nó vào cơ sở dữ liệu.", f"The database's WAL file is {size / GIB:.1f} GiB: nothing "
                        "checkpoints it.",
                        "Khi đã bật sao chép, Litestream gộp WAL: kiểm tra systemctl status ccch-replication.",
                        "With replication on, Litestream checkpoints the WAL: check systemctl status ccch-replication.")]
    return []


CHECKS: tuple[Callable, ...] = (check_permissions, check_disk, check_backups, check_replication, check_wal,
                                check_time_zone, check_public_url, check_secret_key, check_mail)


def run_checks(config) -> list[Finding]:
    """Every check, in order."""
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(config))
    return findings


MARKS = {"ok": "✓", "warning": "!", "problem": "✗"}
HEADINGS = {"vi": ("Kiểm tra triển khai", "cần xử lý", "cảnh báo", "Cách sửa"),
            "en": ("Deployment check", "problems", "warnings", "Fix")}


def render(findings: list[Finding], lang: str = "vi") -> str:
    """The findings as text for a terminal, in ``lang`` (``vi`` or ``en``)."""
    title, problems, warnings, fix = HEADINGS[lang]
    lines = []
    for finding in findings:
        lines.append(f"{MARKS[finding.level]} {finding.vi if lang == 'vi' else finding.en}")
        advice = finding.fix_vi if lang == "vi" else finding.fix_en
        if advice and finding.level != "ok":
            lines.append(f"    {fix}: {advice}")
    count_p = sum(f.level == "problem" for f in findings)
    count_w = sum(f.level == "warning" for f in findings)
    return f"{title}: {count_p} {problems}, {count_w} {warnings}\n" + "\n".join(lines)
