"""The [osakerhet] table: validated, and every name it gives must exist in the method."""

import tomllib
from importlib import resources

import pytest

from utanforskap.errors import MethodError
from utanforskap.methods import loader
from utanforskap.robustness import spec as sp

METHOD = "se-oppna-data-2022"


def _raw() -> dict:
    text = resources.files("utanforskap.methods.builtin").joinpath(f"{METHOD}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_shipped_spec_is_five_percent_on_each_multiple():
    spec = loader.load(METHOD).method.osakerhet
    assert sorted(spec.parametrar) == sorted(n for n in loader.load(METHOD).method.parametrar if n.startswith("multipel_"))
    for p in spec.parametrar.values():
        assert (p.fordelning, p.relativ, p.proveniens) == ("likformig", 0.05, "antagen")
        assert p.motivering.strip()


def test_every_builtin_method_still_loads():
    for mid in loader.builtin_ids():
        loader.load(mid)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda o: o["parametrar"].update({"multipel_finns_inte": {"fordelning": "likformig", "relativ": 0.1, "proveniens": "antagen", "motivering": "x"}}),
         "osakerhet.parametrar.multipel_finns_inte: metoden se-oppna-data-2022 har ingen parameter 'multipel_finns_inte'"),
        (lambda o: o.update({"alternativ": [{"steg": "inget_steg", "falt": "indata", "val": ["a", "b"], "proveniens": "antagen", "motivering": "x"}]}),
         "osakerhet.alternativ[1].steg: metoden se-oppna-data-2022 har inget steg 'inget_steg'"),
        (lambda o: o.update({"alternativ": [{"steg": "flagga_skolresultat", "falt": "indata", "val": ["andel_forgymnasial", "brott_mot_riket"], "proveniens": "antagen", "motivering": "x"}]}),  # noqa: E501 (Swedish text for users)
         "metodens eget val 'forgymnasial_mot_riket' måste vara ett av alternativen"),
        (lambda o: o.update({"indata": {"brott_4ar": {"brus": "poisson", "proveniens": "antagen", "motivering": "x"}}}),
         "osakerhet.indata.brott_4ar: metoden se-oppna-data-2022 har inget indata 'brott_4ar'"),
        (lambda o: o.update({"indata": {"brott_3ar": {"brus": "binomial", "proveniens": "antagen", "motivering": "x"}}}),
         "binomial kräver namnare"),
        (lambda o: o["parametrar"]["multipel_brott"].update({"motivering": " "}),
         "ange motivering"),
        (lambda o: o["parametrar"]["multipel_brott"].update({"fordelning": "diskret"}),
         "diskret kräver varden"),
    ],
)
def test_spec_errors_name_the_key(edit, message):
    raw = _raw()
    edit(raw["osakerhet"])
    with pytest.raises(MethodError) as exc:
        loader.load_dict(raw, "metod.toml")
    assert message in str(exc.value)
    assert str(exc.value).startswith("metod.toml: ")


def test_separate_file_is_checked_against_the_method(tmp_path):
    path = tmp_path / "osakerhet.toml"
    path.write_text(
        '[osakerhet.parametrar.multipel_brot]\nfordelning = "likformig"\nrelativ = 0.1\nproveniens = "antagen"\nmotivering = "stavfel"\n',
        encoding="utf-8",
    )
    with pytest.raises(MethodError, match=r"osakerhet.toml: osakerhet.parametrar.multipel_brot: metoden se-oppna-data-2022 har ingen parameter"):
        sp.load_spec(loader.load(METHOD), path)


def test_separate_file_unknown_key_is_an_error_in_swedish(tmp_path):
    path = tmp_path / "o.toml"
    path.write_text('[osakerhet.parametrar.multipel_brott]\nfordelning = "jamn"\nrelativ = 0.1\nproveniens = "antagen"\nmotivering = "x"\n', encoding="utf-8")
    with pytest.raises(MethodError) as exc:
        sp.load_spec(loader.load(METHOD), path)
    assert "osakerhet.parametrar.multipel_brott.fordelning" in str(exc.value)
    assert "likformig" in str(exc.value)


def test_undeclared_lists_assumed_parameters_without_a_range():
    loaded = loader.load(METHOD)
    assert sp.undeclared(loaded, loaded.method.osakerhet) == ["min_lagenheter", "ar_brott", "flaggor_stor", "flaggor_sarskilt_stor"]


def test_labels_from_the_cutoff_file():
    cut = sp.cutoffs()
    assert (cut.sakert_listad, cut.sakert_ej_listad) == (0.95, 0.05)
    assert list(sp.label([1.0, 0.95, 0.5, 0.05, 0.0])) == ["säkert listad", "säkert listad", "osäker", "säkert ej listad", "säkert ej listad"]


@pytest.mark.slow
def test_metoder_visa_shows_the_uncertainty_for_review():
    from cli_helpers import cli

    res = cli("metoder", "--visa", METHOD)
    assert res.returncode == 0, res.stderr
    assert "Osäkerhet (utanforskap robusthet)" in res.stdout
    assert "multipel_brott: likformig, ±5 %  [antagen]" in res.stdout
