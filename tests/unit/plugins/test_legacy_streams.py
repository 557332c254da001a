"""How legacy_odoo_facts splits a database's tables over the migration's parallel data streams."""

import pytest

from ansible_collections.odoo_saas.platform.plugins.module_utils import _legacy
from ansible_collections.odoo_saas.platform.plugins.module_utils._common import InputError
from ansible_collections.odoo_saas.platform.plugins.module_utils._legacy import data_streams, gather

MIB = 1 << 20


def test_the_largest_tables_are_spread_by_size_and_the_rest_stays_in_the_first_stream():
    sizes = [("public", "mail_message", 900 * MIB), ("public", "account_move_line", 700 * MIB),
             ("public", "ir_attachment", 300 * MIB), ("public", "res_partner", 50 * MIB),
             ("public", "res_users", 0)]
    first, second = data_streams(sizes, 2)
    # Largest first, each to the stream with the fewest bytes so far: 900 | 700, then 300 to the 700, 50 to the 900.
    assert second == {"tables": ["public.mail_message", "public.res_partner"],
                      "patterns": ['"public"."mail_message"', '"public"."res_partner"'], "bytes": 950 * MIB}
    # The first stream also carries the empty table's data (and every sequence): it excludes only the others'.
    assert first["tables"] == ["public.account_move_line", "public.ir_attachment"] and first["bytes"] == 1000 * MIB


def test_tables_past_the_spread_ones_count_in_the_first_stream():
    sizes = [("public", f"t{i:03}", (100 - i) * MIB) for i in range(_legacy.SPREAD_TABLES + 10)]
    groups = data_streams(sizes, 3)
    spread = [table for group in groups for table in group["tables"]]
    assert sorted(spread) == sorted(f"public.t{i:03}" for i in range(_legacy.SPREAD_TABLES))
    assert sum(group["bytes"] for group in groups) == sum(row[2] for row in sizes)
    # About equal: no stream holds more than the others by more than its largest table.
    assert max(g["bytes"] for g in groups) - min(g["bytes"] for g in groups) <= 100 * MIB


def test_fewer_streams_come_back_when_there_is_less_to_spread():
    assert data_streams([("public", "only", 5 * MIB)], 4) == [
        {"tables": [], "patterns": [], "bytes": 0}, {"tables": ["public.only"], "patterns": ['"public"."only"'],
                                                     "bytes": 5 * MIB}]
    assert data_streams([], 2) == [{"tables": [], "patterns": [], "bytes": 0}]
    assert data_streams([("public", "a", 8192)], 1) == [{"tables": ["public.a"], "patterns": ['"public"."a"'],
                                                         "bytes": 8192}]


def test_patterns_match_one_table_whatever_its_name_holds():
    group = data_streams([("Sales Data", 'odd."name*?', MIB)], 2)[1]
    assert group["patterns"] == ['"Sales Data"."odd.""name*?"']


def test_a_number_of_streams_below_one_is_refused_before_any_connection():
    with pytest.raises(InputError, match=r"streams is 0: .*1 or more"):
        gather({"gather": ["data_streams"], "streams": 0, "db_name": "hooli", "db_user": "odoo"})
