"""Tests for `keras_rnncr.text.CharVocabulary`."""

import keras
import numpy as np
import pytest

from keras_rnncr.text import CharVocabulary


def test_encode_decode_round_trip():
    vocabulary = CharVocabulary.from_text("hello world")
    assert vocabulary.characters == " dehlorw"
    ids = vocabulary.encode("world hello")
    assert ids.dtype == np.int32
    assert vocabulary.decode(ids) == "world hello"
    assert vocabulary.size == len(vocabulary) == 8


def test_unknown_symbol_takes_id_zero():
    vocabulary = CharVocabulary("abc", unknown="?")
    assert vocabulary.symbols == ["?", "a", "b", "c"]
    assert vocabulary.encode("cab!").tolist() == [3, 1, 2, 0]
    assert vocabulary.decode([3, 1, 2, 0]) == "cab?"


def test_unseen_character_without_unknown_raises():
    with pytest.raises(ValueError, match=r"Characters \['!'\] are not in"):
        CharVocabulary("abc").encode("ab!")


def test_min_count_drops_rare_characters():
    vocabulary = CharVocabulary.from_text("aaab", unknown="~", min_count=2)
    assert vocabulary.symbols == ["~", "a"]
    assert vocabulary.encode("ab").tolist() == [1, 0]


def test_config_and_json_round_trip():
    vocabulary = CharVocabulary("xyz", unknown="?")
    assert CharVocabulary.from_config(vocabulary.get_config()) == vocabulary
    assert CharVocabulary.from_json(vocabulary.to_json()) == vocabulary
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(vocabulary)
    )
    assert restored == vocabulary


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"characters": ["ab"]}, "Argument `characters` must be a non-empty string"),
        ({"characters": ""}, "must be a non-empty string .* Received: characters=''"),
        ({"characters": "", "unknown": "?"}, "Argument `characters` must be a non-"),
        ({"characters": ()}, "Argument `characters` must be a non-empty string"),
        ({"characters": "aba"}, r"must not repeat a character. Received: .*\['a'\]"),
        ({"characters": "ab", "unknown": "??"}, "Argument `unknown` must be a one-"),
        ({"characters": "ab", "unknown": "a"}, "must not be one of `characters`"),
    ],
)
def test_constructor_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CharVocabulary(**kwargs)


def test_from_text_validation():
    with pytest.raises(ValueError, match="Argument `min_count` must be a positive"):
        CharVocabulary.from_text("ab", min_count=0)
    with pytest.raises(ValueError, match="Argument `unknown` must be set when"):
        CharVocabulary.from_text("ab", min_count=2)
    for min_count in (True, 1.0, np.float32(2.0)):
        with pytest.raises(
            ValueError, match=r"must be a positive integer. Received: min_count="
        ):
            CharVocabulary.from_text("ab", min_count=min_count)
    assert CharVocabulary.from_text("aab", "?", min_count=np.int64(2)).size == 2
    with pytest.raises(ValueError, match="Argument `text` must hold a character"):
        CharVocabulary.from_text("")
    with pytest.raises(ValueError, match="seen at least 3 time"):
        CharVocabulary.from_text("aab", "?", min_count=3)


def test_decode_rejects_out_of_range_ids():
    with pytest.raises(ValueError, match=r"Ids must lie in \[0, 2\)"):
        CharVocabulary("ab").decode([0, 2])


def test_encode_refuses_items_longer_than_a_character():
    vocabulary = CharVocabulary.from_text("abc", unknown="?")
    np.testing.assert_array_equal(
        vocabulary.encode(["a", "c"]), vocabulary.encode("ac")
    )
    with pytest.raises(ValueError, match="one-character strings.*'ab'"):
        vocabulary.encode(["ab", "c"])


def test_decode_refuses_non_integer_ids():
    vocabulary = CharVocabulary.from_text("abc")
    with pytest.raises(ValueError, match="Argument `ids` must hold integers"):
        vocabulary.decode([1.5])


def test_encode_names_its_argument_for_a_non_sequence():
    with pytest.raises(TypeError, match="Argument `text` must be a string or a"):
        CharVocabulary("ab").encode(None)


def test_from_text_and_from_json_name_their_argument():
    with pytest.raises(ValueError, match="Argument `text` must be a string"):
        CharVocabulary.from_text(None)
    with pytest.raises(ValueError, match="Argument `text` must be a string"):
        CharVocabulary.from_text(["ab", "cd"])
    with pytest.raises(ValueError, match="must be the JSON of `to_json`"):
        CharVocabulary.from_json('{"characters": "ab"}')
