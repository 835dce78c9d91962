import re

import pytest
import torch

from cvae_study.datasets.tense import (
    EOS,
    LAB_TEST_TENSE_PAIRS,
    SOS,
    TENSES,
    VOCAB_SIZE,
    Conversion,
    TenseDataError,
    conversions,
    decode_ids,
    encode_word,
    lemminflect_rows,
    load_default,
    load_lab,
    pad_words,
    parse_tense,
    split_by_lemma,
)

LAB_TRAIN = """\
abandon abandons abandoning abandoned
abet abets abetting abetted

begin begins beginning began
expend expends expending expended
send sends sending sent
split splits splitting split
flare flares flaring flared
function functions functioning functioned
heal heals healing healed
walk walks walking walked
talk talks talking talked
"""

# The lab's test.txt; its tense pairs are LAB_TEST_TENSE_PAIRS line by line.
LAB_TEST = """\
abandon abandoned
abet abetting
begin begins
expend expends
sent sends
split splitting
flared flare
functioning function
functioning functioned
healing heals
"""


def write_lab_files(directory, train=LAB_TRAIN, test=LAB_TEST):
    if train is not None:
        (directory / "train.txt").write_text(train)
    if test is not None:
        (directory / "test.txt").write_text(test)
    return directory


def test_vocabulary_is_sos_eos_and_letters():
    assert (SOS, EOS, VOCAB_SIZE) == (0, 1, 28)
    assert encode_word("az") == [2, 27]
    assert TENSES == ("sp", "tp", "pg", "p")


def test_encode_decode_round_trip():
    ids = [SOS, *encode_word("running"), EOS, EOS, 5]
    assert decode_ids(ids) == "running"
    assert decode_ids(torch.tensor(ids)) == "running"


def test_encode_rejects_characters_outside_a_to_z():
    with pytest.raises(ValueError, match=r"'Run'.*'R'"):
        encode_word("Run")


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("sp", 0),
        ("tp", 1),
        ("pg", 2),
        ("p", 3),
        (" PG ", 2),
        ("simple present", 0),
        ("Third-Person", 1),
        ("present_progressive", 2),
        ("SIMPLE PAST", 3),
        ("simple-past", 3),
    ],
)
def test_parse_tense_takes_short_and_long_names(name, index):
    assert parse_tense(name) == index


def test_parse_tense_names_the_bad_tense_and_the_valid_ones():
    message = (
        "tense 'future': one of sp, tp, pg, p or simple present, third person, "
        "present progressive, simple past"
    )
    with pytest.raises(TenseDataError, match=f"^{re.escape(message)}$"):
        parse_tense("future")
    with pytest.raises(ValueError, match="'sp p'"):
        parse_tense("sp p")


@pytest.mark.parametrize("add_sos", [False, True])
def test_pad_words_pads_with_eos_and_counts_tokens(add_sos):
    ids, lengths = pad_words(["go", "walked"], add_sos=add_sos)
    offset = int(add_sos)
    assert ids.shape == (2, 7 + offset)
    assert ids.dtype == lengths.dtype == torch.long
    assert lengths.tolist() == [3 + offset, 7 + offset]
    assert ids[0, : 3 + offset].tolist() == [SOS] * offset + encode_word("go") + [EOS]
    assert (ids[0, 3 + offset :] == EOS).all()
    assert [decode_ids(row) for row in ids] == ["go", "walked"]


def test_lemminflect_rows_cover_regular_and_irregular_verbs():
    rows = lemminflect_rows()
    assert 6000 <= len(rows) <= 7000
    assert len(set(rows)) == len(rows)
    assert rows == sorted(rows)
    assert ("run", "runs", "running", "ran") in rows
    assert all(word.isascii() and word.isalpha() and word.islower() for row in rows for word in row)


def test_split_by_lemma_is_seeded_and_disjoint():
    rows = lemminflect_rows()
    train, heldout = split_by_lemma(rows, 0.1, seed=0)
    assert (train, heldout) == split_by_lemma(rows, 0.1, seed=0)
    assert heldout != split_by_lemma(rows, 0.1, seed=1)[1]
    assert {row[0] for row in train}.isdisjoint(row[0] for row in heldout)
    assert sorted(train + heldout) == rows
    assert len(heldout) == pytest.approx(0.1 * len(rows), abs=5)


def test_split_by_lemma_keeps_requested_verbs_in_train():
    rows = [(f"verb{index}",) * 4 for index in range(20)]
    keep = {f"verb{index}" for index in range(15)}
    train, heldout = split_by_lemma(rows, 0.5, seed=3, keep_in_train=keep)
    assert len(heldout) == 5
    assert keep.isdisjoint(row[0] for row in heldout)
    assert split_by_lemma(rows, 0.0, seed=3) == (rows, [])


def test_load_default_splits_the_lemminflect_table():
    data = load_default(heldout_fraction=0.1, seed=0)
    assert data.source == "lemminflect"
    assert data.lab_test == ()
    assert len(data.train) + len(data.heldout) == len(lemminflect_rows())


def test_load_lab_reads_train_and_test(tmp_path):
    data = load_lab(write_lab_files(tmp_path), heldout_fraction=0.5, seed=0)
    assert data.source == str(tmp_path)
    assert len(data.train) + len(data.heldout) == 11
    # Every verb of test.txt stays in train; only walk and talk may be held out.
    assert {row[0] for row in data.heldout} <= {"walk", "talk"}
    assert [(item.source_tense, item.target_tense) for item in data.lab_test] == list(
        LAB_TEST_TENSE_PAIRS
    )
    assert data.lab_test[4] == Conversion("sent", 3, "sends", 1)


@pytest.mark.parametrize(
    ("train", "test", "message"),
    [
        (None, LAB_TEST, r"train\.txt: file not found"),
        (LAB_TRAIN, None, r"test\.txt: file not found"),
        ("\n  \n", LAB_TEST, r"train\.txt: no verbs"),
        ("go goes going went\nrun runs running\n", LAB_TEST, r"train\.txt line 2: expected 4"),
        ("go goes going went\nrun runs runn1ng ran\n", LAB_TEST, r"train\.txt line 2:.*'runn1ng'"),
        ("go Goes going went\n", LAB_TEST, r"train\.txt line 1:.*'Goes'"),
        (LAB_TRAIN, LAB_TEST.split("\n", 1)[1], r"test\.txt: expected 10 lines.*got 9"),
        (LAB_TRAIN, "abandon\n" + LAB_TEST, r"test\.txt line 1: expected 2 words"),
    ],
)
def test_load_lab_names_file_and_line_of_bad_data(tmp_path, train, test, message):
    write_lab_files(tmp_path, train, test)
    with pytest.raises(TenseDataError, match=message):
        load_lab(tmp_path)


def test_conversions_cover_every_ordered_pair_of_distinct_tenses():
    rows = [("go", "goes", "going", "went"), ("walk", "walks", "walking", "walked")]
    items = conversions(rows)
    assert len(items) == 12 * len(rows)
    assert all(item.source_tense != item.target_tense for item in items)
    assert len({(item.source, item.target) for item in items}) == len(items)
    assert Conversion("went", 3, "goes", 1) in items


def test_conversions_can_be_narrowed_to_given_pairs():
    items = conversions([("go", "goes", "going", "went")], tense_pairs=[(0, 3)])
    assert items == [Conversion("go", 0, "went", 3)]
