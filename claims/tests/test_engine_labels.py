"""`label_text`, which renders the explanation's labels in each language with the translations kept per process,
gives what `str(label)` gives with that language active, on any visit."""

from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.engine import POCKETS, Accumulator, EngineOptions, adjudicate, label_text
from claims.services import EXPLANATION_LANGUAGES
from claims.tests.test_engine_properties import lines, money, payers, pockets, terms


@settings(max_examples=300, deadline=None)
@given(lines=lines, terms=terms,
       options=st.builds(EngineOptions, current_pocket_first=st.booleans(), acct_pays_out_of_scope=st.booleans()),
       accumulator=st.builds(Accumulator, dedc_used=money(300_000), hifp_paid=money(1_200_000)),
       own=st.none() | pockets, acct_used=st.booleans(), mulaid_payers=payers, cut=st.sampled_from([0, 5, 10]))
def test_label_text_is_the_label_in_that_language(lines, terms, options, accumulator, own, acct_used,
                                                  mulaid_payers, cut):
    from decimal import Decimal

    r = adjudicate(lines=lines, terms=terms, options=options, accumulator=accumulator, own=own, acct_used=acct_used,
                   mulaid_payers=mulaid_payers, own_pockets=POCKETS, rate_cut=Decimal(cut) / 100)
    for label in [step.label for step in r.steps] + list(r.warnings):
        for language in EXPLANATION_LANGUAGES:
            with translation.override(language):
                expected = str(label)
            assert label_text(label, language) == expected
            assert label_text(label, language) == expected  # the second time from the kept translations


def test_the_languages_differ():
    r = adjudicate(lines=[], terms=None, options=EngineOptions(current_pocket_first=False,
                                                               acct_pays_out_of_scope=True),
                   accumulator=Accumulator(), own=None, acct_used=True, mulaid_payers=[], own_pockets=POCKETS)
    zh, en = (label_text(r.steps[-1].label, language) for language in ("zh-hans", "en"))
    assert zh != en and en.startswith("cash pays the rest")
