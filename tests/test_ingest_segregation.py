"""Segregationsbarometern's områdestyp: codes from the DeSO file, cross-checked by label."""

import pytest
from _shared import need_shared

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.sources import segregation

GEO = geography.default()


def files():
    d = need_shared() / "segregation_index"
    return d / "regso_socioekonomisk_index_2022.csv", d / "deso_with_index_2022.csv"


def test_types_per_regso_match_published_counts():
    res = segregation.read_area_types(*files(), GEO)
    obs = res.observationer
    assert obs.height == 3363 and set(obs["enhet"]) == {"kod"}
    assert dict(obs.group_by("varde").len().iter_rows()) == {1.0: 160, 2.0: 289, 3.0: 855, 4.0: 1770, 5.0: 289}
    assert res.rapport["korskontrollerade_mot_regsofilen"] == 3363


def test_disagreeing_files_raise(tmp_path):
    regso, deso = files()
    text = regso.read_text(encoding="utf-8-sig").replace("Upplands Väsby (Bollstanäs),4", "Upplands Väsby (Bollstanäs),1")
    changed = tmp_path / regso.name
    changed.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"rad 2: områdestyp 1 för 'Upplands Väsby \(Bollstanäs\)' men 4"):
        segregation.read_area_types(changed, deso, GEO)


def test_unknown_label_and_unknown_code_raise(tmp_path):
    regso, deso = files()
    changed = tmp_path / regso.name
    changed.write_text(regso.read_text(encoding="utf-8-sig").replace("(Bollstanäs)", "(Bollstanes)"), encoding="utf-8")
    with pytest.raises(InputError, match=r"rad 2: etiketten 'Upplands Väsby \(Bollstanes\)' motsvarar inget RegSO"):
        segregation.read_area_types(changed, deso, GEO)
    bad = tmp_path / deso.name
    bad.write_text(deso.read_text(encoding="utf-8").replace("0114C1010", "0114C1011", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"rad 2: okänd DeSO-kod '0114C1011'"):
        segregation.read_area_types(regso, bad, GEO)


def test_unreadable_regso_file_is_named(tmp_path):
    regso, deso = files()
    empty = tmp_path / regso.name
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=rf"^{regso.name}: kan inte läsa filen som CSV \(empty CSV\)$"):
        segregation.read_area_types(empty, deso, GEO)
    with pytest.raises(InputError, match=rf"^{regso.name}: filen finns inte"):
        segregation.read_area_types(tmp_path / "saknas" / regso.name, deso, GEO)


def test_two_years_give_entries_and_exits_of_type_1():
    d = need_shared() / "segregation_index"
    pairs = [(d / f"regso_socioekonomisk_index_{y}.csv", d / f"deso_with_index_{y}.csv") for y in (2022, 2023)]
    res = segregation.read_area_types_years(pairs, GEO)
    obs = res.observationer
    assert sorted(obs["period"].unique()) == ["2022", "2023"] and obs.height == 2 * 3363
    assert res.rapport["2023"]["per_typ"]["1"] == 162
    assert res.rapport["typ_1_2022_2023"] == {"in": 13, "ut": 11, "kvar": 149}
