# Vendor header cells are Chinese by nature.
"""Every loader, fed 1,000 generated files each, raises nothing but the project's named errors.

Each file is structurally plausible for its layout (the header rows a Wind, EDB, bulletin, ICAP,
plain or ICE-style file has) and then corrupted at random: cells that are not numbers, NaN, inf,
negative or huge; dates that are blank, impossible, before 1678 or after 2261, or in other
formats; rows duplicated, shuffled, cut short or lengthened; blank lines; columns dropped; any of
five encodings (GB18030, UTF-8 with or without BOM, UTF-16, Latin-1), and LF, CRLF, bare CR or a
mix of them; a few random bytes. The workbook test writes the same tables to .xlsx, its cells
typed or text. A load may succeed, or raise ``DataError`` or ``ConfigurationError``; any other
exception, or a warning other than ``DataWarning`` (warnings are errors in pytest here), fails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import market_data as md
from engine.errors import ConfigurationError

FUZZ = settings(
    max_examples=1000,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MARKETS = ("cea", "eua", "gdea", "nzu", "series")

# --- cells -------------------------------------------------------------------------------------

GOOD_DATE_FORMATS = ("{y:04d}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y:04d}{m:02d}{d:02d}")
BAD_DATES = (
    "", " ", "N/A", "2025-02-30", "2025-13-01", "0000-00-00", "1600-01-01", "1677-12-31",
    "2262-04-12", "9999-12-31", "99999-01-01", "-2025-01-01", "2025", "01/02/2025",
    "2025-01-01T25:00:00", "日期", "数据来源：Wind", "\x00", "2025-1-1 99:99",
)  # fmt: skip
BAD_NUMBERS = (
    "", " ", "NaN", "nan", "inf", "-inf", "1e400", "-1e400", "1e-400", "#N/A", "--", "-", "x",
    "70,10", "1,234,567.5", "0", "-0", "-1", "-48.13", "1.2E7", "9" * 400, "0x1A", "1_000",
    "四十八", "\u00a048.1", "48.13.2", "+", "e5",
)  # fmt: skip


@st.composite
def dates(draw) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(BAD_DATES) | st.text(max_size=12))
    day = draw(st.dates(dt.date(1970, 1, 1), dt.date(2060, 12, 31)))
    form = draw(st.sampled_from(GOOD_DATE_FORMATS))
    return form.format(y=day.year, m=day.month, d=day.day)


@st.composite
def numbers(draw) -> str:
    pick = draw(st.integers(0, 9))
    if pick == 0:
        return draw(st.sampled_from(BAD_NUMBERS) | st.text(max_size=8))
    if pick == 1:
        return repr(draw(st.floats(allow_nan=True, allow_infinity=True)))
    return f"{draw(st.floats(1, 200)):.2f}"


def data_rows(draw, width: int, *, date_first: bool = True) -> list[list[str]]:
    """Dated rows, oldest first, with prices that walk; some cells corrupted."""
    count = draw(st.integers(0, 10))
    start = draw(st.dates(dt.date(2013, 1, 1), dt.date(2026, 6, 30)))
    price = draw(st.floats(5, 150))
    rows = []
    for i in range(count):
        price *= 1 + draw(st.floats(-0.12, 0.12))
        day = start + dt.timedelta(days=i + draw(st.integers(0, 2)))
        cells = [f"{price * (1 + 0.01 * (j % 3 - 1)):.2f}" for j in range(width)]
        if draw(st.integers(0, 3)) == 0:
            j = draw(st.integers(0, width - 1))
            cells[j] = draw(numbers())
        date = day.isoformat() if draw(st.booleans()) else f"{day.year}/{day.month}/{day.day}"
        if draw(st.integers(0, 15)) == 0:
            date = draw(dates())
        rows.append([date, *cells] if date_first else cells)
    return rows


# --- rows and files ----------------------------------------------------------------------------


def corrupt_rows(draw, rows: list[list[str]], protect: int) -> list[list[str]]:
    """Duplicates, swaps, cut or lengthened rows and blank rows, below the first ``protect``."""
    rows = [list(r) for r in rows]
    for _ in range(draw(st.integers(0, 3))):
        if len(rows) <= protect:
            break
        i = draw(st.integers(protect, len(rows) - 1))
        action = draw(st.sampled_from(("duplicate", "swap", "cut", "extend", "blank", "drop")))
        if action == "duplicate":
            rows.insert(i, list(rows[i]))
        elif action == "swap":
            j = draw(st.integers(protect, len(rows) - 1))
            rows[i], rows[j] = rows[j], rows[i]
        elif action == "cut":
            rows[i] = rows[i][: draw(st.integers(0, max(len(rows[i]) - 1, 0)))]
        elif action == "extend":
            rows[i] = rows[i] + [draw(numbers()) for _ in range(draw(st.integers(1, 3)))]
        elif action == "blank":
            rows.insert(i, [""] * draw(st.integers(0, 4)))
        else:
            del rows[i]
    if rows and draw(st.integers(0, 12)) == 0:  # a header row damaged too
        i = draw(st.integers(0, min(protect, len(rows)) - 1)) if protect else 0
        rows[i] = [draw(st.sampled_from(("", "x", "date", "指标名称"))) for _ in rows[i]]
    return rows


def quote(cell: str) -> str:
    if any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def encoded(draw, rows: list[list[str]]) -> bytes:
    """CSV bytes in some encoding and line endings, perhaps with a few random bytes."""
    lines = [",".join(quote(c) for c in row) for row in rows]
    endings = draw(st.sampled_from(("\n", "\r\n", "\r", "mixed")))
    if endings == "mixed":
        text = "".join(line + draw(st.sampled_from(("\n", "\r\n", "\r"))) for line in lines)
    else:
        text = endings.join(lines) + (endings if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(("utf-8", "utf-8-sig", "gb18030", "gb18030", "utf-16")))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 7)) == 0:
        data = text.encode("latin-1", errors="replace")
    if data and draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at:]
    return data


# --- layouts -----------------------------------------------------------------------------------

WIND_NAMES = (
    "中国:碳市场碳排放配额(CEA):收盘价", "广东:收盘价:碳排放权配额(GDEA)", "最新价", "结算价",
    "开盘价", "最高价", "最低价", "成交量", "当日成交量", "累计成交量", "成交金额",
    "当日成交额", "累计成交额", "挂牌:收盘价", "大宗:收盘价", "挂牌:成交量", "大宗:成交量",
    "Close", "Open", "Open Interest", "High", "Low", "Volume", "Turnover", "成交均价", "",
)  # fmt: skip
WIND_UNITS = (
    "元/吨", "元/吨", "EUR/t", "欧元/吨", "吨", "万吨", "手", "lots", "元", "万元", "EUR",
    "10k EUR", "", "%", "吨/元", "亿",
)  # fmt: skip


@st.composite
def wind_rows(draw) -> list[list[str]]:
    width = draw(st.integers(1, 7))
    names = [draw(st.sampled_from(WIND_NAMES)) for _ in range(width)]
    if draw(st.booleans()):
        names[0] = draw(st.sampled_from(WIND_NAMES[:4]))
    units = [draw(st.sampled_from(WIND_UNITS)) for _ in range(width)]
    if draw(st.integers(0, 3)) and names:  # usually a twin column, as Wind writes one
        names.append(names[-1])
        units.append(units[-1])
    width = len(names)
    head = [
        ["指标名称" if draw(st.integers(0, 5)) else "Indicator Name", *names],
        ["频率", *(["日"] * width)],
        ["单位", *units],
        ["指标ID", *(f"S{i}" for i in range(width))],
        ["来源", *(["Wind"] * width)],
    ]
    body = data_rows(draw, width)[::-1]  # newest first
    if body and len(head[0]) > 2 and draw(st.booleans()):  # the twin repeats its cells
        for row in body:
            if len(row) == width + 1:
                row[-1] = row[-2]
    tail = [["数据来源：Wind", *([""] * width)]] if draw(st.booleans()) else []
    return corrupt_rows(draw, head + body + tail, protect=5)


EDB_META = (
    ("国家", "中国"), ("指标名称", None), ("频率", "日"), ("单位", None), ("指标ID", "M0067855"),
    ("时间区间", "2013-01-01:2026-06-30"), ("来源", "Wind"), ("更新时间", "20250515"),
)  # fmt: skip
EDB_NAMES = ("期货结算价:EUA:连续", "CFETS:即期汇率:美元兑人民币", "期货结算价:UKA:连续", "")
EDB_UNITS = ("欧元/吨二氧化碳当量", "元/吨", "", "元", "%")


@st.composite
def edb_rows(draw) -> list[list[str]]:
    width = draw(st.integers(1, 3))
    head = []
    for label, value in EDB_META:
        if draw(st.integers(0, 9)) == 0 and label not in ("指标名称",):
            continue
        if label == "指标名称":
            cells = [draw(st.sampled_from(EDB_NAMES)) for _ in range(width)]
        elif label == "单位":
            cells = [draw(st.sampled_from(EDB_UNITS)) for _ in range(width)]
        else:
            cells = [value or ""] * width
        head.append([label, *cells])
    body = data_rows(draw, width)
    for row in body:
        for j in range(1, len(row)):
            if draw(st.integers(0, 5)) == 0:
                row[j] = "#N/A"
    if draw(st.booleans()):
        body = body[::-1]
    tail = [[""], ["数据来源：Wind"]] if draw(st.booleans()) else []
    return corrupt_rows(draw, head + body + tail, protect=len(head))


SEEE_COLUMNS = (
    "trade_date", "price_basis", "open", "high", "low", "close", "total_vol_t", "total_amt_cny",
)  # fmt: skip


@st.composite
def seee_rows(draw) -> list[list[str]]:
    columns = list(SEEE_COLUMNS)
    if draw(st.integers(0, 9)) == 0:
        del columns[draw(st.integers(0, len(columns) - 1))]
    body = data_rows(draw, len(columns) - 2)
    for row in body:
        row.insert(1, draw(st.sampled_from(("listed", "composite", "", "x"))))
    if draw(st.integers(0, 20)) == 0:  # an all-blank file
        return [[""] * draw(st.integers(0, 3)) for _ in range(draw(st.integers(1, 4)))]
    return corrupt_rows(draw, [columns, *body], protect=1)


ICAP_SYSTEMS = ("China National ETS", "EU ETS", "New Zealand", "Switzerland", "")
ICAP_FIELDS = (
    "Exchange rate", "Primary Market", "Secondary Market", "Secondary Market (EUR)",
    "Secondary Market in USD",
)  # fmt: skip


@st.composite
def icap_rows(draw) -> list[list[str]]:
    width = draw(st.integers(1, 8))
    systems = [""] + [draw(st.sampled_from(ICAP_SYSTEMS)) for _ in range(width)]
    fields = ["Date"] + [draw(st.sampled_from(ICAP_FIELDS)) for _ in range(width)]
    body = data_rows(draw, width)
    for row in body:
        for j in range(1, len(row)):
            if draw(st.integers(0, 2)) == 0:
                row[j] = ""  # ICAP prices are sparse
    if draw(st.booleans()):
        body = body[::-1]
    if draw(st.integers(0, 3)) == 0:  # out of date order
        body = draw(st.permutations(body))
    return corrupt_rows(draw, [systems, fields, *body], protect=2)


PLAIN_DATES = ("date", "Date", "trade_date", "datetime", "time", "day", "timestamp", "when")
PLAIN_PRICES = ("close", "Close", "price", "last", "settle", "settlement", "value")
PLAIN_OTHERS = ("open", "high", "low", "volume", "turnover", "amount", "volume_t", "note")


@st.composite
def plain_rows(draw) -> list[list[str]]:
    others = draw(st.lists(st.sampled_from(PLAIN_OTHERS), max_size=5))
    header = [draw(st.sampled_from(PLAIN_DATES)), draw(st.sampled_from(PLAIN_PRICES)), *others]
    if draw(st.integers(0, 9)) == 0:
        del header[draw(st.integers(0, len(header) - 1))]
    body = data_rows(draw, max(len(header) - 1, 1))
    if draw(st.integers(0, 9)) == 0:
        body = body[::-1]
    return corrupt_rows(draw, [header, *body], protect=1)


ICE_HEADER = (
    "datetime", "open", "high", "low", "settle", "change", "wave", "volume",
    "prev_day_open_interest", "efp_volume", "efs_volume", "block_volume", "close",
)  # fmt: skip


@st.composite
def ice_rows(draw) -> list[list[str]]:
    header = list(ICE_HEADER)
    if draw(st.integers(0, 9)) == 0:
        del header[draw(st.integers(0, len(header) - 1))]
    body = data_rows(draw, len(header) - 1)
    for row in body:
        if draw(st.booleans()):
            row[0] += " 00:00:00"
    return corrupt_rows(draw, [header, *body], protect=1)


LAYOUTS = {
    "wind": wind_rows(),
    "edb": edb_rows(),
    "seee": seee_rows(),
    "icap": icap_rows(),
    "plain": plain_rows(),
    "ice": ice_rows(),
}


def load_quietly(path: Path, market: str, fmt: str = "auto", **options: object) -> None:
    """Load (and check) a file; the named errors are fine answers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", md.DataWarning)
        with contextlib.suppress(md.DataError, ConfigurationError):
            md.load(path, market=market, format=fmt, options=md.SourceOptions(**options))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_text_files_raise_only_named_errors(layout, folder):
    @FUZZ
    @given(
        rows=LAYOUTS[layout],
        data=st.data(),
        market=st.sampled_from(MARKETS),
        detect=st.integers(0, 3),
    )
    def check(rows, data, market, detect):
        path = folder / f"{layout}.csv"
        path.write_bytes(data.draw(encoded(rows)))
        fmt = "auto" if detect else {"ice": "plain"}.get(layout, layout)
        options: dict[str, object] = {}
        if layout == "wind" and data.draw(st.integers(0, 3)) == 0:
            options["segment"] = data.draw(st.sampled_from(("listed", "block")))
        if layout in ("wind", "edb") and data.draw(st.integers(0, 3)) == 0:
            options["instrument"] = data.draw(st.sampled_from(("EUA", "收盘价", "usd", "x")))
        if data.draw(st.integers(0, 7)) == 0:
            options[data.draw(st.sampled_from(("strict", "keep_outliers")))] = True
        load_quietly(path, market, fmt, **options)

    check()


def typed(cell: str) -> object:
    """A cell as a spreadsheet program types it on a save."""
    try:
        number = float(cell)
    except ValueError:
        return cell
    return number if number == number and abs(number) < 1e300 else cell


@FUZZ
@given(
    layout=st.sampled_from(sorted(LAYOUTS)),
    data=st.data(),
    market=st.sampled_from(MARKETS),
    as_typed=st.booleans(),
    sheets=st.integers(1, 2),
)
def test_workbooks_raise_only_named_errors(folder, layout, data, market, as_typed, sheets):
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for k in range(sheets):
        rows = data.draw(LAYOUTS[layout]) if k == 0 or data.draw(st.booleans()) else []
        sheet = book.create_sheet(f"S{k}")
        for row in rows:
            cells = [typed(c) if as_typed else c for c in row]
            # Cells openpyxl refuses (control characters) are left blank, as Excel would.
            sheet.append([c if not isinstance(c, str) or c.isprintable() else "" for c in cells])
    path = folder / "book.xlsx"
    book.save(path)
    sheet = data.draw(st.sampled_from((None, None, "S0", "s1", 1, "2", 9, "nope")))
    load_quietly(path, market, sheet=sheet)
