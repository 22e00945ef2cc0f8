import json

import pytest

from nrtd_nlp.errors import EncodingProblem, InputError, UnsupportedFormat
from nrtd_nlp.ingest.readers import read_file

from .conftest import head_rows, shared_file, write_csv


def test_upr_info_real_rows(tmp_path):
    header, rows = head_rows(shared_file("upr-info/upr_info_sessions01-18.csv"), 60)
    fmt, recs = read_file(write_csv(tmp_path / "upr.csv", header, rows))
    assert fmt == "upr-info" and len(recs) == 60
    r = recs[0]
    assert r.mechanism == "UPR" and r.country == rows[0]["To"] and r.recommending_state == rows[0]["From"]
    assert r.session == rows[0]["Session"] and r.response == rows[0]["Response"]
    assert r.extra["upr_info_issues"] == rows[0]["Issue"].split("|")
    assert len({x.external_id for x in recs}) == 60  # stable ids, unique


def test_upr_info_mac_roman_is_refused_not_garbled(tmp_path):
    p = tmp_path / "mac.csv"
    p.write_bytes("To,Text,From,Session\rChile,Garantizar la protecci\u00f3n,Peru,5\r".encode("mac_roman"))
    with pytest.raises(EncodingProblem) as e:
        read_file(p)
    assert "UTF-8" in str(e.value) and "--encoding" in str(e.value)
    fmt, recs = read_file(p, encoding="mac_roman")  # and works once told
    assert recs[0].text == "Garantizar la protección"


def test_uhri_languages_are_linked_records():
    fmt, recs = read_file(shared_file("uhri-multilingual/uhri_multilingual_dev.csv"))
    assert fmt == "uhri"
    group = [r for r in recs if r.translation_group == recs[0].translation_group]
    assert sorted(r.language for r in group) == ["ar", "en", "es", "fr", "ru", "zh"]
    upr = [r for r in recs if r.mechanism == "UPR" and r.language == "en"]
    with_para = [r for r in upr if r.paragraph]
    assert len(with_para) / len(upr) > 0.9
    assert all(not r.text[:1].isdigit() for r in with_para)
    assert sum(1 for r in upr if r.recommending_state) / len(upr) > 0.9
    assert not any(r.text.endswith(";") for r in upr)


def test_thematic_list():
    fmt, recs = read_file(shared_file("uhri-thematic-lists/slovenia_upr_c2-c3.csv"))
    assert fmt == "thematic-list" and len(recs) == 378
    r = recs[1]
    assert r.paragraph == "115.3" and r.recommending_state == "Portugal, Slovakia"
    assert not r.text.endswith(")") and r.extra["uhri_themes"]


def test_generic_csv_with_mapping(tmp_path):
    p = tmp_path / "nat.csv"
    p.write_text("Ref;Recomendación;Estado;Fecha\nR1;Ratificar el Estatuto de Roma;Paraguay;2021-05-10\n",
                 encoding="utf-8")
    fmt, recs = read_file(p, mapping="id=Ref,text=Recomendación,country=Estado,date=Fecha")
    assert fmt == "csv" and recs[0].external_id == "R1" and recs[0].country == "Paraguay"
    assert recs[0].date.isoformat() == "2021-05-10"


def test_xlsx_and_json(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["id", "text", "mechanism"])
    ws.append(["x1", "Adopt a law on domestic violence", "CEDAW"])
    wb.save(tmp_path / "a.xlsx")
    fmt, recs = read_file(tmp_path / "a.xlsx")
    assert fmt == "xlsx" and recs[0].mechanism == "CEDAW"
    (tmp_path / "a.json").write_text(json.dumps({"data": [{"id": "j1", "text": "Ratify OP-CAT"}]}))
    fmt, recs = read_file(tmp_path / "a.json")
    assert fmt == "json" and recs[0].external_id == "j1"


@pytest.mark.parametrize("name,content,field,exc", [
    ("a.csv", b"foo,bar\n1,2\n", "text", InputError),
    ("a.csv", b"", "a.csv", InputError),
    ("a.pdf", b"%PDF-1.4", "format", UnsupportedFormat),
    ("a.json", b"{\"data\": [1, 2", "a.json", InputError),
    ("a.json", b"[1, 2]", "a.json", InputError),
    ("a.xlsx", b"not a workbook", "a.xlsx", InputError),
    ("a.csv", "text\nGarantizar la protecci\u00f3n\n".encode("cp1252"), "a.csv", EncodingProblem),
])
def test_bad_files_name_the_field(tmp_path, name, content, field, exc):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(exc) as e:
        read_file(p)
    assert e.value.field == field
    assert "\n" not in str(e.value)


def test_forced_format_missing_column(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("To,Text,From\nChile,Ratify the CAT,Peru\n")
    with pytest.raises(InputError) as e:
        read_file(p, fmt="upr-info")
    assert e.value.field == "Session"


def test_unknown_format_flag(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("text\nx\n")
    with pytest.raises(UnsupportedFormat):
        read_file(p, fmt="docx")


def test_quoted_quotes_keep_their_columns(tmp_path):
    """RFC 4180 quotes inside a quoted field: the sniffer once guessed doublequote=False and shifted columns."""
    p = tmp_path / "q.csv"
    rows = ['To,Text,From,Session,Issue'] + [f'Chile,Plain recommendation number {i},Peru,{i},Justice' for i in range(30)]
    rows.append('Chile,"Follow the recommendation of CERD in ""its concluding observations"", fully",Peru,11,Racial discrimination')
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    _, recs = read_file(p)
    last = recs[-1]
    assert last.text.startswith('Follow the recommendation of CERD in "its concluding observations"')
    assert last.session == "11" and last.recommending_state == "Peru"


def test_dates_are_read_or_refused_never_guessed(tmp_path):
    """A date that is not one is an error naming the row; a bare year only when the cell is a year; Excel
    serial day numbers (date cells in General format) are converted (audit M1)."""
    import datetime as dt

    from nrtd_nlp.ingest.readers import _date

    assert _date("2021-05-10T00:00:00Z") == _date("10/05/2021 10:00") == _date("20210510") == dt.date(2021, 5, 10)
    assert _date(2021) == _date("2021") == dt.date(2021, 1, 1)
    assert _date(45000) == dt.date(2023, 3, 15)
    for bad in ("2021-31-05", "2021-05", "notadate", "2021-05-10xyz"):
        with pytest.raises(InputError) as e:
            _date(bad, row=7)
        assert "row 7" in str(e.value) and e.value.field == "date"
    p = tmp_path / "d.csv"
    p.write_text("id,text,date\na,Ratify the CAT,2021-05-10\nb,Abolish torture,2021-31-05\n")
    with pytest.raises(InputError) as e:
        read_file(p)
    assert "row 3" in str(e.value)


def test_an_unterminated_quote_is_an_error_not_a_swallowed_file(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('id,text\nq1,"unterminated quote\nq2,Abolish the death penalty\nq3,Ratify the CAT\n')
    with pytest.raises(InputError) as e:
        read_file(p)
    assert "malformed CSV" in str(e.value) and e.value.field == "q.csv"
