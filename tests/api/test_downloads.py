"""Excel-safe downloads: UTF-8 with a BOM by default, GB18030 on request, XLSX from CSV."""

import io

import pytest
from openpyxl import load_workbook

from api.downloads import csv_encoding, csv_text, excel_csv, xlsx_from_csv
from ledger.core.errors import InvalidInput

TEXT = csv_text(("payee_name", "bank_account", "amount_yuan"),
                [("沈阳新松智联机器人科技有限公司", "6222021234567890123", "12345.67")])


def test_utf8_with_a_bom_is_the_default():
    data = excel_csv(TEXT)
    assert data.startswith(b"\xef\xbb\xbf")
    assert data[3:].decode("utf-8") == TEXT
    assert excel_csv(TEXT, "UTF8") == excel_csv(TEXT, "utf-8") == data


def test_gb18030_on_request_has_no_bom_and_round_trips():
    data = excel_csv(TEXT, "gb18030")
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.decode("gb18030") == TEXT
    assert "沈阳".encode("gb18030") in data


@pytest.mark.parametrize("bad", ["latin-1", "gbk ", "utf-16", "x"])
def test_other_encodings_are_refused_naming_the_field(bad):
    with pytest.raises(InvalidInput) as caught:
        csv_encoding(bad)
    assert caught.value.detail == {"field": "encoding"}
    assert "utf-8 or gb18030" in caught.value.message


def test_csv_rows_end_in_crlf():
    assert TEXT.split("\r\n")[:2] == ["payee_name,bank_account,amount_yuan",
                                     "沈阳新松智联机器人科技有限公司,6222021234567890123,12345.67"]


def test_xlsx_keeps_accounts_as_text_and_amounts_as_exact_figures():
    book = load_workbook(io.BytesIO(xlsx_from_csv(TEXT, title="batch-1",
                                                  yuan_columns=("amount_yuan",))))
    sheet = book["batch-1"]
    rows = list(sheet.iter_rows(values_only=True))
    # openpyxl reads the stored number back as a float; it was written from Decimal("12345.67").
    assert rows == [("payee_name", "bank_account", "amount_yuan"),
                    ("沈阳新松智联机器人科技有限公司", "6222021234567890123", 12345.67)]
    assert sheet["C2"].number_format == "#,##0.00"
    assert sheet["A1"].font.bold
