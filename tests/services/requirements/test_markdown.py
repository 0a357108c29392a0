"""The batch table parser: good rows run, bad rows are rejected with their line, bad tables fail."""

import pytest

from backend_app.services.requirements.markdown import TableError, parse, render

GOOD = """# Sprint 12

| id | requirementText | context |
|----|-----------------|---------|
| R-1 | The system shall be fast. | {"component": "search"} |
| R-2 | Das System muss innerhalb von 2 Sekunden reagieren. | |
| R-3 | The a\\|b switch shall toggle. | {} |

Notes after the table are ignored.
"""


def test_good_table():
    table = parse(GOOD, max_rows=100)
    assert [(r.line, r.key) for r in table.rows] == [(5, "R-1"), (6, "R-2"), (7, "R-3")]
    assert table.rows[0].context == {"component": "search"} and table.rows[1].context == {}
    assert table.rows[2].text == "The a|b switch shall toggle." and table.rejected == []


def test_bad_rows_are_rejected_with_their_line_and_good_rows_stay():
    md = "\n".join(
        [
            "| id | requirementText | context |",
            "|---|---|---|",
            "| A | The pump shall stop. | {} |",
            "| B | too | many | cells |",
            "| C | The fan shall start. | {broken json |",
            "| D |  | {} |",
            "| A | Duplicate id. | {} |",
            "|  | No id. | {} |",
            "| E | The valve shall close. | [1, 2] |",
            '| F | The lamp shall blink. | {"x": 1} |',
        ]
    )
    table = parse(md, max_rows=100)
    assert [r.key for r in table.rows] == ["A", "F"]
    assert [(r["line"], r["code"]) for r in table.rejected] == [
        (4, "ROW_COLUMN_COUNT"),
        (5, "ROW_CONTEXT_INVALID"),
        (6, "ROW_TEXT_EMPTY"),
        (7, "ROW_ID_DUPLICATE"),
        (8, "ROW_ID_EMPTY"),
        (9, "ROW_CONTEXT_INVALID"),
    ]


def test_rows_over_the_limit_are_rejected_one_by_one():
    md = "| id | requirementText |\n|---|---|\n" + "\n".join(f"| {i} | The unit shall work. |" for i in range(12))
    table = parse(md, max_rows=10)
    assert len(table.rows) == 10
    assert [(r["line"], r["code"]) for r in table.rejected] == [(13, "ROW_LIMIT_EXCEEDED"), (14, "ROW_LIMIT_EXCEEDED")]


@pytest.mark.parametrize(
    "md,code,line",
    [
        ("just some prose\nwithout a table", "TABLE_NOT_FOUND", None),
        ("| key | text |\n|---|---|\n| 1 | x |", "TABLE_HEADER_INVALID", 1),
        ("\n| id | requirementText | context |\n| 1 | The unit shall work. | {} |", "TABLE_SEPARATOR_MISSING", 3),
        ("| id | requirementText | context |\n|---|---|---|\n", "TABLE_EMPTY", 1),
    ],
)
def test_structural_errors_name_the_line(md, code, line):
    with pytest.raises(TableError) as err:
        parse(md, max_rows=10)
    assert err.value.code == code and err.value.line == line


def test_render_escapes_pipes_and_parses_back():
    md = render(["id", "requirementText"], [["X|1", "The a|b switch shall toggle."]])
    row = parse(md, max_rows=5).rows[0]
    assert (row.key, row.text) == ("X|1", "The a|b switch shall toggle.")


def test_rows_that_cannot_be_stored_or_parsed_are_rejected_and_the_rest_run():
    """A NUL in an id (PostgreSQL refuses it: the whole batch used to fail), an unpaired surrogate
    in the context (Redis refused it) and context JSON Python's parser gives up on."""
    md = (
        "| id | requirementText | context |\n|---|---|---|\n"
        "| R\x001 | The pump shall stop. | |\n"
        '| R2 | The pump shall stop. | {"a": "\\ud800"} |\n'
        '| R3 | The pump shall stop. | {"a": ' + "1" * 5000 + "} |\n"
        "| R4 | The pump shall stop. | " + "[" * 3000 + "]" * 3000 + " |\n"
        '| R5 | The pump shall stop. | {"component": "pump"} |'
    )
    table = parse(md, max_rows=100)
    assert [r.key for r in table.rows] == ["R5"]
    assert [(r["line"], r["code"]) for r in table.rejected] == [
        (3, "ROW_ID_INVALID"),
        (4, "ROW_CONTEXT_INVALID"),
        (5, "ROW_CONTEXT_INVALID"),
        (6, "ROW_CONTEXT_INVALID"),
    ]


def test_a_row_whose_cells_cannot_be_mapped_keeps_no_id_so_no_text_is_stored():
    """A row that forgot its id, or whose text holds an unescaped '|', starts with requirement
    text: it was kept as the rejected row's id and stored (batch row, exports, account export)."""
    md = "\n".join(
        [
            "| id | requirementText | context |",
            "|---|---|---|",
            "| The Quibbleflux valve shall close quickly | {} |",
            "| H1 | The Wobblemax heater shall warm | to 40 degC | {} |",
        ]
    )
    table = parse(md, max_rows=100)
    assert [(r["line"], r["code"], r["row_id"]) for r in table.rejected] == [
        (3, "ROW_COLUMN_COUNT", None),
        (4, "ROW_COLUMN_COUNT", "H1"),
    ]  # an id-like cell under "id" stays
    reordered = parse(
        "| requirementText | id | context |\n|---|---|---|\n| The Wobblemax heater shall warm | to 40 degC | H1 | {} |",
        max_rows=100,
    )
    assert [(r["code"], r["row_id"]) for r in reordered.rejected] == [("ROW_COLUMN_COUNT", None)]
    for rejected in (table.rejected, reordered.rejected):
        assert (
            "Quibbleflux" not in repr(rejected) and "Wobblemax" not in repr(rejected) and "degC" not in repr(rejected)
        )
