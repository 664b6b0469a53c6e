"""nn.load and nn.load_config against hostile files: refused from the headers, nothing
allocated, nothing read that the module does not have (load_config reads the config
alone), the module never changed."""

import io
import json
import os
import re
import stat
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_moons import checkpoint, nn

# A hostile file declares gigabytes; loading it must stay far below this.
PEAK_LIMIT = 10 * 2**20


def npy_entry(shape, descr="<f8", fortran_order=False, data=None):
    """The bytes of an .npy entry with the given header; data defaults to none at all."""
    buffer = io.BytesIO()
    header = {"shape": shape, "fortran_order": fortran_order, "descr": descr}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + (b"" if data is None else data)


def npy_of(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write_npz(path, entries, compression=zipfile.ZIP_STORED):
    """entries: name -> bytes of an .npy entry (written as name + ".npy")."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(f"{name}.npy", data)
    return path


def model_entries(model, **replace):
    entries = {name: npy_of(value) for name, value in model.state_dict().items()}
    entries.update(replace)
    return entries


def same_state(model, state):
    return all(np.array_equal(state[k], v) for k, v in model.state_dict().items())


def refused(load, *args, match):
    """Run load(*args) under tracemalloc; it must raise a matching ValueError."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match) as error:
            load(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"loading allocated {peak} bytes"
    return str(error.value)


def opened_entries(monkeypatch):
    """The names of the archive entries zipfile opens from now on."""
    opened = []
    real_open = zipfile.ZipFile.open

    def recording_open(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    return opened


def refused_by_load(model, path, match, monkeypatch):
    """load refuses the file leaving the model unchanged; load_config, which needs only the
    config, opens no parameter and gives what the file holds (here none)."""
    before = model.state_dict()
    refused(nn.load, model, path, match=match)
    assert same_state(model, before)
    opened = opened_entries(monkeypatch)
    assert nn.load_config(path) is None
    assert opened == []


@pytest.fixture
def model():
    return nn.MLP([2, 3, 2], seed=1)


# ---------------------------------------------------------------------- declared sizes
def test_an_entry_declaring_ten_billion_numbers_is_refused_without_allocating(tmp_path, model):
    path = write_npz(
        tmp_path / "huge.npz", model_entries(model, **{"0.weight": npy_entry((10**10,))})
    )
    assert path.stat().st_size < 2000
    before = model.state_dict()
    message = refused(nn.load, model, path, match=r"mis-shaped: '0.weight' is \(10000000000,\)")
    assert "(2, 3)" in message and "nothing was changed" in message
    assert same_state(model, before)


def test_an_unexpected_name_is_refused_without_being_read(tmp_path, model, monkeypatch):
    path = write_npz(tmp_path / "extra.npz", model_entries(model, evil=npy_entry((10**10,))))
    opened = opened_entries(monkeypatch)
    before = model.state_dict()
    refused(nn.load, model, path, match=r"unexpected: 'evil'")
    assert "evil.npy" not in opened and "0.weight.npy" in opened
    assert same_state(model, before)


def test_no_data_is_read_until_every_header_matches(tmp_path, model, monkeypatch):
    path = write_npz(
        tmp_path / "wrong.npz", model_entries(model, **{"2.bias": npy_of(np.zeros(5))})
    )

    def must_not_run(*args):
        raise AssertionError("data was read before the headers were checked")

    monkeypatch.setattr(checkpoint, "_read_values", must_not_run)
    with pytest.raises(ValueError, match=r"mis-shaped: '2.bias' is \(5,\)"):
        nn.load(model, path)


def test_an_object_dtype_is_refused_from_its_header_never_unpickled(tmp_path, model, monkeypatch):
    # The data is not even a pickle: only the header may be read.
    garbage = npy_entry((3,), descr="|O", data=b"\x80not a pickle")
    path = write_npz(tmp_path / "object.npz", model_entries(model, **{"0.bias": garbage}))
    refused_by_load(model, path, r"pickled: '0.bias' holds Python objects", monkeypatch)


def test_a_dtype_of_a_huge_itemsize_is_refused_without_allocating(tmp_path, model):
    path = write_npz(
        tmp_path / "void.npz", model_entries(model, **{"0.bias": npy_entry((3,), "|V2000000000")})
    )
    refused(nn.load, model, path, match=r"not real numbers: '0.bias' has dtype \|V2000000000")


def test_a_header_declaring_more_than_numpys_bound_is_refused_before_it_is_read(tmp_path, model):
    # Format 2.0 declares its header's length in 4 bytes: here 4 GiB, then nothing.
    entry = b"\x93NUMPY\x02\x00" + (2**32 - 1).to_bytes(4, "little")
    path = write_npz(tmp_path / "header.npz", model_entries(model, **{"0.bias": entry}))
    refused(nn.load, model, path, match=r"'0.bias'.*header declares 4294967295 bytes")


def test_data_beyond_what_the_header_declares_is_refused_without_reading_it(
    tmp_path, model, monkeypatch
):
    # A deflate bomb: 48 bytes declared, 20 MB of zeros that compress to 20 KB.
    bomb = npy_entry((2, 3), data=bytes(20 * 2**20))
    entries = model_entries(model, **{"0.weight": bomb})
    path = write_npz(tmp_path / "bomb.npz", entries, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 100_000
    refused_by_load(model, path, r"'0.weight'.*more data than its header declares", monkeypatch)


def test_data_shorter_than_the_header_declares_is_refused(tmp_path, model, monkeypatch):
    short = npy_entry((2, 3), data=bytes(40))
    path = write_npz(tmp_path / "short.npz", model_entries(model, **{"0.weight": short}))
    refused_by_load(model, path, r"'0.weight'.*data ends after 40 of 48 bytes", monkeypatch)


def test_a_name_stored_twice_is_refused(tmp_path, model):
    path = tmp_path / "twice.npz"
    write_npz(path, model_entries(model))
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate"):
        archive.writestr("0.bias.npy", npy_of(np.ones(3)))
    before = model.state_dict()
    refused(nn.load, model, path, match=r"'0.bias' is stored 2 times")
    assert "missing" not in refused(nn.load, model, path, match="stored 2 times")
    assert nn.load_config(path) is None  # the config alone is read, and there is none
    assert same_state(model, before)


def test_a_config_stored_twice_is_refused(tmp_path, model):
    path = write_npz(tmp_path / "twice.npz", model_entries(model, __config__=config_entry("{}")))
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate"):
        archive.writestr("__config__.npy", config_entry('{"sizes": [2, 3, 2]}'))
    refused(nn.load_config, path, match=r"'__config__' is stored 2 times")


@settings(max_examples=60, deadline=None)
@given(header=st.binary(max_size=200))
def test_any_header_bytes_are_refused_cleanly(tmp_path_factory, header):
    model = nn.MLP([2, 3, 2], seed=1)
    entry = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
    path = write_npz(
        tmp_path_factory.mktemp("h") / "h.npz", model_entries(model, **{"0.bias": entry})
    )
    before = model.state_dict()
    with pytest.raises(ValueError, match="0.bias"):
        nn.load(model, path)
    assert nn.load_config(path) is None
    assert same_state(model, before)


# Python literals of the kinds a header holds, nested: fuzzing numpy's header reader with
# these found damaged headers it answers with TokenError, TypeError or IndexError.
LITERALS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=6)
    | st.sampled_from(["<f8", "|O", "<U5", "V3", ">i4", "|b1", "<c16", "M8[s]"]),
    lambda inner: (
        st.lists(inner, max_size=3).map(tuple)
        | st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=8,
)


@settings(max_examples=100, deadline=None)
@given(descr=LITERALS, fortran_order=LITERALS, shape=LITERALS)
def test_any_header_literal_is_refused_cleanly_or_loads(
    tmp_path_factory, descr, fortran_order, shape
):
    model = nn.MLP([2, 3, 2], seed=1)
    header = {"descr": descr, "fortran_order": fortran_order, "shape": shape}
    text = repr(header).encode("latin1", "replace")
    entry = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + bytes(24)
    path = write_npz(
        tmp_path_factory.mktemp("l") / "l.npz", model_entries(model, **{"0.bias": entry})
    )
    before = model.state_dict()
    try:
        nn.load(model, path)
    except ValueError as error:
        assert "0.bias" in str(error)
        assert same_state(model, before)
    assert nn.load_config(path) is None


@pytest.mark.parametrize("shape", [(2**70,), (2**40, 2**40), (-1, 3), (True, 3), (1,) * 70])
def test_a_shape_no_array_can_have_is_refused(tmp_path, model, shape):
    path = write_npz(tmp_path / "shape.npz", model_entries(model, **{"0.weight": npy_entry(shape)}))
    refused(nn.load, model, path, match=r"'0.weight'.*shape .* which no array has")


# ---------------------------------------------------------------------- entries that load
def test_a_fortran_ordered_entry_loads_its_values(tmp_path, model):
    saved = nn.MLP([2, 3, 2], seed=0).state_dict()
    weight = np.asfortranarray(saved["0.weight"])
    assert weight.flags.f_contiguous and not weight.flags.c_contiguous
    path = write_npz(
        tmp_path / "fortran.npz",
        {name: npy_of(value) for name, value in {**saved, "0.weight": weight}.items()},
    )
    nn.load(model, path)
    assert same_state(model, saved)


def test_a_big_endian_entry_loads_its_values(tmp_path, model):
    saved = nn.MLP([2, 3, 2], seed=0).state_dict()
    entries = {name: npy_of(value.astype(">f8")) for name, value in saved.items()}
    nn.load(model, write_npz(tmp_path / "big_endian.npz", entries))
    assert same_state(model, saved)
    assert model[0].weight.data.dtype == np.float64


def test_a_compressed_file_loads_its_values(tmp_path, model):
    saved = nn.MLP([2, 3, 2], seed=0).state_dict()
    np.savez_compressed(tmp_path / "compressed.npz", **saved)
    nn.load(model, tmp_path / "compressed.npz")
    assert same_state(model, saved)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_parameters_that_are_not_finite_are_refused(tmp_path, model, value):
    state = nn.MLP([2, 3, 2], seed=0).state_dict()
    state["2.weight"][1, 0] = value
    np.savez(tmp_path / "nan.npz", **state)
    before = model.state_dict()
    refused(
        nn.load,
        model,
        tmp_path / "nan.npz",
        match=rf"not finite: '2.weight' holds {value} at index \(1, 0\)",
    )
    assert same_state(model, before)


def test_a_zero_dimensional_entry_is_mis_shaped(tmp_path, model):
    path = write_npz(
        tmp_path / "scalar.npz", model_entries(model, **{"0.bias": npy_of(np.float64(1.0))})
    )
    before = model.state_dict()
    refused(nn.load, model, path, match=r"mis-shaped: '0.bias' is \(\), expected \(3,\)")
    assert same_state(model, before)


def test_a_torch_layout_weight_in_a_file_is_named_as_in_a_state_dict(tmp_path, model):
    weight = model.state_dict()["0.weight"].T.copy()
    path = write_npz(tmp_path / "torch.npz", model_entries(model, **{"0.weight": npy_of(weight)}))
    (problem,) = model.state_problems({**model.state_dict(), "0.weight": weight})
    assert "(transposed? a Linear's weight is (in, out), torch's (out, in))" in problem
    refused(nn.load, model, path, match=re.escape(problem))


# ---------------------------------------------------------------------- paths
def test_a_directory_is_refused_with_a_value_error(tmp_path, model):
    refused(nn.load, model, tmp_path, match="is a directory")
    refused(nn.load_config, tmp_path, match="is a directory")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused_rather_than_read_forever(model, device):
    refused(nn.load, model, device, match="not a regular file")
    refused(nn.load_config, device, match="not a regular file")


def test_a_pipe_is_refused_rather_than_waited_on(tmp_path, model):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused(nn.load, model, fifo, match="not a regular file")


# ---------------------------------------------------------------------- wider than float64
HUGE = np.full((2, 3), np.longdouble("1e400"))  # finite as float128, inf as float64


@pytest.mark.skipif(not np.isfinite(HUGE).all(), reason="np.longdouble is float64 here")
def test_a_longdouble_beyond_float64_in_a_file_is_not_finite_and_changes_nothing(tmp_path, model):
    path = write_npz(tmp_path / "wide.npz", model_entries(model, **{"0.weight": npy_of(HUGE)}))
    before = model.state_dict()
    message = refused(nn.load, model, path, match=r"not finite: '0.weight' holds 1e\+400")
    assert "beyond float64's range" in message
    assert same_state(model, before)


def test_a_config_number_beyond_float64_is_refused_as_save_refuses_it(tmp_path, model):
    config = npy_of(np.array('{"sizes": [2, 3, 2], "scale": 1e400}'))
    path = write_npz(tmp_path / "config.npz", model_entries(model, __config__=config))
    refused(nn.load_config, path, match="holds the number 1e400, beyond float64's range")
    with pytest.raises(ValueError, match="JSON-able"):
        nn.save(model, tmp_path / "inf.npz", config={"scale": float("inf")})


# ---------------------------------------------------------------------- saving
def _non_regular(tmp_path, kind):
    """A path of ``kind`` in tmp_path, and what a message calls it."""
    target = tmp_path / "target.npz"
    if kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        (tmp_path / "real.npz").write_bytes(b"kept")
        target.symlink_to(tmp_path / "real.npz")
    elif kind == "dangling symlink":
        target.symlink_to(tmp_path / "nowhere.npz")
    else:
        try:
            os.mknod(target, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's numbers
        except OSError:
            pytest.skip("creating a device node needs root")
    names = {"folder": "a folder", "fifo": "a named pipe", "device": "a device"}
    return target, names.get(kind, "a symbolic link")


@pytest.mark.parametrize("kind", ["folder", "fifo", "symlink", "dangling symlink", "device"])
def test_save_refuses_a_target_that_is_not_a_regular_file_writing_nothing(tmp_path, model, kind):
    target, called = _non_regular(tmp_path, kind)
    mode, listing = os.lstat(target).st_mode, sorted(os.listdir(tmp_path))
    with pytest.raises(ValueError, match=f"{re.escape(repr(str(target)))}: it is {called}"):
        nn.save(model, target)
    assert os.lstat(target).st_mode == mode and sorted(os.listdir(tmp_path)) == listing
    if kind == "symlink":
        assert (tmp_path / "real.npz").read_bytes() == b"kept"


@pytest.mark.parametrize("path", ["", "folder/"])
def test_save_refuses_a_path_that_names_no_file(tmp_path, model, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match=f"expected a file name, got {path!r}"):
        nn.save(model, path)
    assert os.listdir(tmp_path) == ["folder"] and os.listdir(tmp_path / "folder") == []


def test_a_file_that_is_not_an_npz_is_refused(tmp_path, model):
    path = tmp_path / "notes.npz"
    path.write_text("sizes: [2, 3, 2]\n")
    refused(nn.load, model, path, match="not a readable .npz file")
    refused(nn.load_config, path, match="not a readable .npz file")


def test_a_missing_file_is_file_not_found(tmp_path, model):
    with pytest.raises(FileNotFoundError):
        nn.load(model, tmp_path / "absent.npz")


# ---------------------------------------------------------------------- the config
def config_entry(text):
    return npy_of(np.array(text))


def test_a_config_nested_100000_deep_is_a_damaged_file(tmp_path, model):
    deep = "[" * 100_000 + "]" * 100_000
    path = write_npz(tmp_path / "deep.npz", model_entries(model, __config__=config_entry(deep)))
    refused(nn.load_config, path, match="nested too deeply")
    before = model.state_dict()
    refused(nn.load, model, path, match="nested too deeply")
    assert same_state(model, before)


def test_a_config_declaring_a_hundred_million_characters_is_refused_before_it_is_read(
    tmp_path, model
):
    entry = npy_entry((), descr="<U100000000")
    path = write_npz(tmp_path / "long.npz", model_entries(model, __config__=entry))
    message = refused(nn.load_config, path, match="declares 100000000 characters")
    assert str(checkpoint.MAX_CONFIG_CHARS) in message
    before = model.state_dict()
    refused(nn.load, model, path, match="declares 100000000 characters")
    assert same_state(model, before)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"sizes": [2, 3, 2]', "not valid JSON"),
        ('["sizes"]', "JSON list, not an object"),
        ('{"lr": NaN}', "NaN, which JSON does not allow"),
        ('{"n": ' + "9" * 5000 + "}", "not valid JSON"),
    ],
)
def test_a_config_that_is_not_a_json_object_is_refused(tmp_path, text, match):
    model = nn.MLP([2, 3, 2], seed=1)
    path = write_npz(tmp_path / "bad.npz", model_entries(model, __config__=config_entry(text)))
    refused(nn.load_config, path, match=match)


def test_a_config_that_is_not_text_is_refused(tmp_path, model):
    path = write_npz(tmp_path / "numbers.npz", model_entries(model, __config__=npy_of(np.zeros(3))))
    refused(nn.load_config, path, match="not JSON text")


def test_save_refuses_a_config_too_long_to_load(tmp_path, model):
    config = {"notes": "x" * checkpoint.MAX_CONFIG_CHARS}
    with pytest.raises(ValueError, match=f"at most {checkpoint.MAX_CONFIG_CHARS} characters"):
        nn.save(model, tmp_path / "m.npz", config=config)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_a_config_nested_too_deeply_to_write(tmp_path, model):
    config: dict = {}
    for _ in range(100_000):
        config = {"a": config}
    with pytest.raises(ValueError, match="config must be JSON-able"):
        nn.save(model, tmp_path / "m.npz", config=config)


def test_a_config_at_the_bound_round_trips(tmp_path, model):
    config = {"notes": "x" * (checkpoint.MAX_CONFIG_CHARS - len(json.dumps({"notes": ""})))}
    nn.save(model, tmp_path / "m.npz", config=config)
    assert nn.load_config(tmp_path / "m.npz") == config


def test_a_crc_mismatch_in_a_parameter_is_found_by_load_not_load_config(tmp_path, model):
    path = tmp_path / "m.npz"
    nn.save(model, path, config={"sizes": [2, 3, 2]})
    raw = bytearray(path.read_bytes())
    # np.savez stores entries uncompressed: after the name come the 128-byte .npy header
    # and 2.bias's 16 bytes of data, whose first number this flips.
    data = raw.find(b"2.bias.npy") + len("2.bias.npy") + 128
    raw[data] ^= 0x40
    path.write_bytes(bytes(raw))
    assert nn.load_config(path) == {"sizes": [2, 3, 2]}  # it reads the config alone
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"'2.bias'.*CRC"):
        nn.load(model, path)
    assert same_state(model, before)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_entries_compressed_other_than_stored_or_deflated_are_refused_unread(tmp_path, method):
    """bzip2 and lzma expand without a useful bound; np.savez never writes them."""
    model = nn.MLP([2, 3, 2], seed=0)
    path = tmp_path / "packed.npz"
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, array in model.state_dict().items():
            buffer = io.BytesIO()
            np.save(buffer, array)
            archive.writestr(f"{name}.npy", buffer.getvalue())
    before = model.state_dict()
    with pytest.raises(ValueError, match=f"compression method {method}; saved .npz files are"):
        nn.load(model, path)
    with pytest.raises(ValueError, match="stored or deflated"):
        nn.load_config(path)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_deflated_entries_as_np_savez_compressed_writes_them_load(tmp_path):
    model = nn.MLP([2, 3, 2], seed=0)
    path = tmp_path / "compressed.npz"
    np.savez_compressed(path, **model.state_dict())
    other = nn.MLP([2, 3, 2], seed=1)
    nn.load(other, path)
    for name, array in other.state_dict().items():
        np.testing.assert_array_equal(array, model.state_dict()[name])


def test_the_torch_habits_of_saving_a_state_dict_or_loading_path_first_are_named(tmp_path, model):
    # torch.save(model.state_dict(), path) and torch.load(path): nn's take the module first.
    path = tmp_path / "model.npz"
    with pytest.raises(TypeError, match=r"nn.save.*got dict \(a state dict: pass the module"):
        nn.save(model.state_dict(), path)
    assert not path.exists()
    nn.save(model, path)
    with pytest.raises(TypeError, match=r"nn.load.*got PosixPath \(a path: the module comes"):
        nn.load(path, model)
    with pytest.raises(TypeError, match=r"nn.load.*got str \(a path"):
        nn.load(str(path), model)
