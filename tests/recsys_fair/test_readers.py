import os
import pickle

import pytest
import torch

from lab_common import DataFormatError
from recsys_fair import load_megcf, load_movielens, load_ngcf

U_USER = "\n1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n"
U_DATA = "".join(
    f"{u}\t{i}\t{r}\t{t}\n"
    for u, i, r, t in [
        (1, 1, 5, 10),
        (1, 2, 3, 11),
        (1, 3, 4, 12),
        (2, 2, 4, 13),
        (2, 4, 2, 14),
        (2, 1, 1, 15),
        (3, 4, 5, 16),
        (3, 3, 4, 17),
        (3, 1, 3, 18),
        (3, 2, 5, 19),
    ]
)
U_ITEM = "".join(
    f"{i}|Movie {i}|01-Jan-1995||http://x|0|{'1' if i % 2 else '0'}|1" + "|0" * 16 + "\n" for i in (1, 2, 3, 4)
)


def write_ml100k(folder, data=U_DATA, user=U_USER, item=U_ITEM):
    folder.mkdir(exist_ok=True)
    (folder / "u.data").write_text(data)
    (folder / "u.user").write_text(user)
    (folder / "u.item").write_text(item, encoding="latin-1")
    return folder


def test_movielens_100k_fixture_reads_remaps_and_derives_genres(tmp_path):
    data = load_movielens(write_ml100k(tmp_path / "ml"), split=None)
    assert (data.n_users, data.n_items, len(data.train)) == (3, 4, 10)
    assert data.groups().tolist() == [0, 1, 0]  # F = 1, the leading blank line of u.user is skipped
    assert data.user_features["age"].tolist() == [24, 53, 23]
    assert data.item_entities["genre"].shape == (4, 19) and data.n_entities == 19
    genre_links = data.item_entities["genre"].to_dense()
    assert genre_links[0, 1] == 1 and genre_links[1, 1] == 0 and genre_links[:, 2].sum() == 4
    # sentiment from training ratings >= 4: item 1 (index 0) has ratings 5, 1, 3
    assert data.item_reviews[0].tolist() == [1, 3]
    assert data.train_ratings.tolist()[:3] == [5.0, 3.0, 4.0]


def test_movielens_min_rating_and_split(tmp_path):
    folder = write_ml100k(tmp_path / "ml")
    kept = load_movielens(folder, split=None, min_rating=4)
    assert len(kept.train) == 6 and bool((kept.train_ratings >= 4).all())
    split = load_movielens(folder, ratios=(0.5, 0.0, 0.5), seed=3)
    assert len(split.train) + len(split.test) == 10 and len(split.valid) == 0
    # reviews come from train ratings only (no test rating leaks)
    assert int(split.item_reviews[:, 1].sum()) == len(split.train)


@pytest.mark.parametrize(
    ("file", "content", "where", "expected"),
    [
        ("u.data", "1\t1\t5\n", "line 1", "4 fields"),
        ("u.data", "1\t1\t6\t10\n", "line 1", "a rating in 1..5"),
        ("u.data", "1\tx\t5\t10\n", "line 1", "an integer item id"),
        ("u.data", "\n\n", None, "at least one record"),
        ("u.user", "1|24|X|technician|85711\n", "line 1", "gender M or F"),
    ],
)
def test_movielens_malformed_files_raise(tmp_path, file, content, where, expected):
    folder = write_ml100k(tmp_path / "ml")
    (folder / file).write_text(content)
    with pytest.raises(DataFormatError) as info:
        load_movielens(folder)
    message = str(info.value)
    assert file in message and expected in message
    if where:
        assert where in message


def test_movielens_user_without_user_line_raises(tmp_path):
    folder = write_ml100k(tmp_path / "ml", user="1|24|M|technician|85711\n")
    with pytest.raises(DataFormatError, match="u.user.*no line for user 2"):
        load_movielens(folder)


def test_movielens_1m_format_and_raw_ids(tmp_path):
    folder = tmp_path / "ml1m"
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::10::5::1\n1::3::4::2\n2::10::3::3\n2::7::1::4\n")
    (folder / "users.dat").write_text("1::F::25::3::12345\n2::M::35::7::54321\n")
    (folder / "movies.dat").write_text(
        "3::A (1990)::Comedy|Drama\n7::B (1991)::Drama\n10::C (1992)::Action\n12::D (1993)::Comedy\n",
        encoding="latin-1",
    )
    data = load_movielens(folder, split=None)
    assert (data.n_users, data.n_items, len(data.train)) == (2, 3, 4)
    assert data.groups().tolist() == [1, 0]
    assert data.item_ids.tolist() == [3, 7, 10]
    assert data.n_entities == 3 and data.item_entities["genre"].to_dense()[0].tolist() == [0, 1, 1]
    raw = load_movielens(folder, split=None, keep_raw_ids=True)
    assert raw.n_items == 12 and raw.train[:, 1].tolist() == [9, 2, 9, 6]
    (folder / "users.dat").write_text("1::F::25::3\n")
    with pytest.raises(DataFormatError, match=r"users.dat, line 1: expected 5 fields"):
        load_movielens(folder)


def test_movielens_100k_shipped_copy(real_dataset):
    data = load_movielens(real_dataset("movielens-100k"), split=None)
    assert (data.n_users, data.n_items, len(data.train)) == (943, 1682, 100_000)
    assert int(data.groups().sum()) == 273 and data.n_entities == 19


def write_ngcf(folder, train, test):
    folder.mkdir(exist_ok=True)
    (folder / "train.txt").write_text(train)
    (folder / "test.txt").write_text(test)
    return folder


def test_ngcf_reader_keeps_ids_and_accepts_empty_test_lines(tmp_path):
    folder = write_ngcf(tmp_path / "g", "0 0 1 2 \n1 2 3\n2 4\n", "0 3\n1\n2 0 1\n")
    data = load_ngcf(folder)
    assert (data.n_users, data.n_items) == (3, 5)
    assert data.train.tolist() == [[0, 0], [0, 1], [0, 2], [1, 2], [1, 3], [2, 4]]
    assert data.test.tolist() == [[0, 3], [2, 0], [2, 1]]


@pytest.mark.parametrize(
    ("train", "test", "match"),
    [
        ("0 1 2\n1 x\n", "0 1\n", r"train.txt, line 2: expected an integer id, found 'x'"),
        ("0 1 2\n", "0 1\n3 2\n", r"test.txt, line 2: expected a user that also has training items"),
        ("", "0 1\n", r"train.txt: expected at least one record, found an empty file"),
        ("0 -1\n", "0 1\n", r"train.txt, line 1: expected id >= 0"),
    ],
)
def test_ngcf_malformed_files_raise(tmp_path, train, test, match):
    with pytest.raises(DataFormatError, match=match):
        load_ngcf(write_ngcf(tmp_path / "g", train, test))


def write_megcf(folder, sentiment=None, review=True, train="0 0 1 1 2\n1 1 3\n2 2 3\n"):
    folder.mkdir(exist_ok=True)
    (folder / "train.txt").write_text(train)
    (folder / "validation.txt").write_text("0 1\n1 3\n2 2\n")
    (folder / "test.txt").write_text("0 3\n1 0\n2 1\n")
    (folder / "i2e_all.txt").write_text("0 0 1 2\n1 2\n2\n3 3 0\n")
    (folder / "i2e_title.txt").write_text("0 0 1\n1\n2\n3 3\n")
    (folder / "i2e_visual.txt").write_text("0 2\n1 2\n2\n3 0\n")
    if review:
        (folder / "i2e_review.txt").write_text("0\n1\n2\n3\n")
    if sentiment is not None:
        (folder / "item2sentiment.pickle").write_bytes(pickle.dumps(sentiment))
    return folder


def test_megcf_reader_fixture(tmp_path):
    sentiment = {0: ["positive", "negative"], 1: ["positive"], 2: [], 3: ["negative", "negative", "positive"]}
    folder = write_megcf(tmp_path / "beauty", sentiment=sentiment, review=False)
    data = load_megcf(folder)
    assert (data.n_users, data.n_items, data.n_entities) == (3, 4, 4)
    assert len(data.train) == 7 and data.meta["train_duplicates_dropped"] == 1  # "0 1 1" duplicated
    assert sorted(data.item_entities) == ["title", "visual"]  # the review file is optional
    assert data.item_entities["title"].to_dense()[0].tolist() == [1, 1, 0, 0]
    assert data.item_entity_pairs().tolist() == [[0, 0], [0, 1], [0, 2], [1, 2], [3, 0], [3, 3]]
    assert data.item_reviews.tolist() == [[1, 2], [1, 1], [0, 0], [1, 3]]
    assert any("validation items are also in the user's training list" in w for w in data.meta["warnings"])
    kept = load_megcf(folder, keep_duplicates=True)
    assert len(kept.train) == 8
    holdout = load_megcf(folder, validation="holdout")
    assert holdout.train.tolist() == [[0, 0], [0, 2], [1, 1], [2, 3]]


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > exploited",))


def test_megcf_sentiment_pickle_that_executes_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = write_megcf(tmp_path / "beauty", sentiment={0: _Exploit()})
    with pytest.raises(DataFormatError, match=r"item2sentiment.pickle.*system"):
        load_megcf(folder)
    assert not (tmp_path / "exploited").exists()


@pytest.mark.parametrize(
    ("sentiment", "match"),
    [({0: ["positive", "great"]}, "a list of 'positive'/'negative'"), ({9: ["positive"]}, "integer item id")],
)
def test_megcf_bad_sentiment_content_raises(tmp_path, sentiment, match):
    with pytest.raises(DataFormatError, match=match):
        load_megcf(write_megcf(tmp_path / "beauty", sentiment=sentiment))


def test_megcf_two_test_items_for_a_user_raise(tmp_path):
    folder = write_megcf(tmp_path / "beauty")
    (folder / "test.txt").write_text("0 3 2\n1 0\n2 1\n")
    with pytest.raises(DataFormatError, match=r"test.txt, line 1: expected exactly one held-out item per user"):
        load_megcf(folder)


def test_megcf_beauty_shipped_copy(real_dataset):
    data = load_megcf(real_dataset("megcf-beauty"))
    assert (data.n_users, data.n_items, len(data.train), data.n_entities) == (15_576, 8_678, 123_742, 10_241)
    assert data.meta["entity_links_all"] == 644_271
    fraction = data.item_reviews[:, 0].double() / data.item_reviews[:, 1].double()
    assert abs(float(fraction.mean()) - 0.765) < 0.005
    assert torch.equal(data.valid[:, 0], torch.arange(15_576))
