"""The numpy decoder of .sav cases (surveykit/sav_data.py) gives exactly pyreadstat's frame, on files
PSPP wrote (compressed and not), on files pyreadstat wrote, and on random data long enough to cross many
compression blocks; files it does not know go back to pyreadstat."""

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from surveykit import sav_data

PSPP = Path(__file__).parent / "fixtures" / "pspp"


def pyreadstat_frame(path):
    return pyreadstat.read_sav(str(path), user_missing=True, disable_datetime_conversion=True)[0]


def decoded(path):
    """The frame from the numpy decoder itself (not pyreadstat's fallback, which decode() would use)."""
    meta = sav_data._meta(pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True,
                                              output_format="dict")[1])
    buffer = path.read_bytes()
    cases = sav_data.decode_cases(buffer, sav_data.read_layout(buffer), meta)
    assert cases.read is None
    return cases.frame()


@pytest.mark.parametrize("name", ["ascs-small.sav", "ascs-ascof-items.sav", "value-kinds.sav",
                                  "value-kinds-uncompressed.sav", "windows-1252.sav"])
def test_pspp_files_decode_as_pyreadstat_reads_them(name):
    path = PSPP / name
    compression = struct.unpack_from("<i", path.read_bytes(), 72)[0]
    assert compression == (0 if "uncompressed" in name else 1)      # PSPP compresses unless told not to
    pd.testing.assert_frame_equal(decoded(path), pyreadstat_frame(path))


def test_every_kind_of_value_comes_back_as_written():
    # value-kinds.sps, by hand: one-byte codes at both ends of their range, whole 8-byte values, missing
    frame = decoded(PSPP / "value-kinds.sav")
    assert frame["q1"].tolist()[:2] == [1.0, -9.0] and np.isnan(frame["q1"][2])
    assert frame["q1"].tolist()[3:] == [151.0, -99.0]
    assert frame["Big"].tolist() == [1000.0, -200.0, 1e12, -99.0, 152.0]
    assert frame["Weight"][:3].tolist() == [0.5, 1.25, 2.0] and np.isnan(frame["Weight"][3])
    assert frame["Comment"].tolist() == ["Very happy", "", "Ça va, merci", "", "twenty characters ok"]
    assert frame["Ward"].tolist() == ["Ward 1", "", "Nord", "ABCDEFGH", "x"]
    assert frame["LaCode"].tolist() == ["316"] * 5


def test_text_in_a_windows_code_page_is_decoded_in_it():
    # windows-1252.sps: the file says WINDOWS-1252, and its bytes for "é", "£" and "’" are that code page's
    assert b"Caf\xe9" in (PSPP / "windows-1252.sav").read_bytes()
    frame = decoded(PSPP / "windows-1252.sav")
    assert frame["Comment"].tolist() == ["Café staff were kind", "£5 a week’s charge", ""]


@pytest.mark.parametrize("name", ["value-kinds.sav", "value-kinds-uncompressed.sav"])
def test_a_header_that_does_not_count_its_cases(tmp_path, name):
    # a writer may leave the case count at -1 (the format allows it): the cases are counted from the data
    data = bytearray((PSPP / name).read_bytes())
    data[80:84] = struct.pack("<i", -1)
    path = tmp_path / name
    path.write_bytes(bytes(data))
    assert sav_data.read_layout(bytes(data)).cases == -1
    frame = decoded(path)
    assert len(frame) == 5
    pd.testing.assert_frame_equal(frame, pyreadstat_frame(path))


def _random_frame(rows, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "LaCode": rng.choice(["102", "316", "ÉÀ1", ""], rows).astype(object),
        "code": rng.integers(-99, 152, rows).astype(float),        # one-byte codes
        "wide": rng.integers(-1000, 1000, rows).astype(float),     # partly whole 8-byte values
        "weight": rng.random(rows) * 40,                            # all whole 8-byte values
        "text": rng.choice(["a long free-text answer here", " ", "x y"], rows).astype(object),
    })
    for column in ("code", "wide", "weight"):
        frame.loc[rng.random(rows) < 0.1, column] = np.nan          # system-missing
    return frame


@pytest.mark.parametrize("row_compress", [True, False])
def test_random_data_over_many_compression_blocks(tmp_path, row_compress):
    path = tmp_path / "random.sav"
    pyreadstat.write_sav(_random_frame(20_000, seed=7), str(path), row_compress=row_compress)
    assert struct.unpack_from("<i", path.read_bytes(), 72)[0] == int(row_compress)
    pd.testing.assert_frame_equal(decoded(path), pyreadstat_frame(path))


@pytest.mark.parametrize("chunk", [5, 64, 4096])
def test_the_chain_of_blocks_is_followed_across_chunks(tmp_path, monkeypatch, chunk):
    # a file is followed 2^16 units at a time; smaller chunks make every kind of crossing happen here
    path = tmp_path / "random.sav"
    pyreadstat.write_sav(_random_frame(3_000, seed=11), str(path), row_compress=True)
    monkeypatch.setattr(sav_data, "CHUNK_UNITS", chunk)
    pd.testing.assert_frame_equal(decoded(path), pyreadstat_frame(path))


def test_a_hand_made_compressed_stream():
    # one case of four numeric slots and one 8-byte string: code 101 is 1.0 (bias 100), 255 is
    # system-missing, 253 takes the next raw 8 bytes, 254 is eight blanks, 0 pads, 252 ends the data
    layout = sav_data.Layout("<", 1, 100.0, 1, (0, 0, 0, 0, 8), (0, 1, 2, 3, 4), 5, 0)
    codes = bytes([101, 255, 253, 0, 1, 254, 252, 0])
    buffer = codes + struct.pack("<d", 2.5)
    slots = sav_data.case_slots(buffer, layout)
    values = slots[0, :4].view("<f8").ravel()
    assert values[0] == 1.0 and values[1] == sav_data.SYSMIS and values[2] == 2.5 and values[3] == -99.0
    assert bytes(slots[0, 4]) == b" " * 8


def test_files_it_does_not_know_go_to_pyreadstat(tmp_path):
    with pytest.raises(sav_data.Unsupported, match="zsav"):
        sav_data.read_layout((PSPP / "ascs-small.zsav").read_bytes())
    long_text = tmp_path / "long.sav"
    pyreadstat.write_sav(pd.DataFrame({"note": ["x" * 300, "y"], "q1": [1.0, 2.0]}), str(long_text))
    with pytest.raises(sav_data.Unsupported, match="very long strings"):
        sav_data.read_layout(long_text.read_bytes())
    for path in (long_text, PSPP / "ascs-small.zsav"):           # pyreadstat reads them instead
        whole = sav_data.decode(path)
        assert whole.read is not None
        pd.testing.assert_frame_equal(whole.frame(), pyreadstat_frame(path))
    assert sav_data.decode(PSPP / "ascs-small.sav").read is None     # and not the files the decoder knows


def test_a_big_endian_file_goes_to_pyreadstat():
    # no writer at hand makes one, so the decoder leaves them alone: the layout code reads 2 (or 3) only
    # little-endian; a big-endian header reads as 2 << 24
    data = bytearray((PSPP / "value-kinds.sav").read_bytes())
    data[64:68] = struct.pack(">i", 2)
    with pytest.raises(sav_data.Unsupported, match="big-endian"):
        sav_data.read_layout(bytes(data))


def test_a_file_cut_short_is_not_decoded(tmp_path):
    whole = (PSPP / "value-kinds-uncompressed.sav").read_bytes()
    cut = whole[:len(whole) - 20]
    with pytest.raises(sav_data.Unsupported, match="fewer cases"):
        sav_data.case_slots(cut, sav_data.read_layout(cut))
