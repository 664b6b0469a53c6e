"""no_grad, enable_grad and set_grad_enabled against torch's: one script of nested blocks,
decorators, plain calls and exceptions, run on both libraries, must record the same grad
modes and the same requires_grad at every step; each thread keeps its own mode."""

import threading
import types

import numpy as np
import pytest

import tinygrad_moons as tm

torch = pytest.importorskip("torch")

OURS = types.SimpleNamespace(
    tensor=lambda: tm.Tensor([1.0], requires_grad=True),
    no_grad=tm.no_grad,
    enable_grad=tm.enable_grad,
    set_grad_enabled=tm.set_grad_enabled,
    is_grad_enabled=tm.is_grad_enabled,
)
TORCH = types.SimpleNamespace(
    tensor=lambda: torch.tensor([1.0], dtype=torch.float64, requires_grad=True),
    no_grad=torch.no_grad,
    enable_grad=torch.enable_grad,
    set_grad_enabled=torch.set_grad_enabled,
    is_grad_enabled=torch.is_grad_enabled,
)


def script(lib):
    """What a user might write, noting (grad mode, whether a product records) as it goes."""
    x = lib.tensor()
    seen = []

    def note(label):
        seen.append((label, lib.is_grad_enabled(), (x * 2).requires_grad))

    @lib.enable_grad
    def bare_enabled():
        note("bare @enable_grad")

    @lib.enable_grad()
    def called_enabled():
        note("@enable_grad()")

    @lib.no_grad()
    def without():
        note("@no_grad()")
        called_enabled()
        note("@no_grad() after an @enable_grad() call")

    @lib.set_grad_enabled(False)
    def switched_off():
        note("@set_grad_enabled(False)")
        bare_enabled()

    note("start")
    with lib.enable_grad():
        note("enable_grad while on")
    note("after enable_grad while on")
    bare_enabled()
    note("after a bare @enable_grad call while on")
    with lib.no_grad():
        note("no_grad")
        with lib.no_grad():
            note("no_grad > no_grad")
        note("no_grad after an inner no_grad")
        with lib.enable_grad():
            note("no_grad > enable_grad")
            with lib.no_grad():
                note("no_grad > enable_grad > no_grad")
            note("back in enable_grad")
        note("back in no_grad")
        bare_enabled()
        called_enabled()
        note("no_grad after the decorated calls")
        with lib.set_grad_enabled(True):
            note("no_grad > set_grad_enabled(True)")
        note("no_grad after set_grad_enabled(True)'s block")
    without()
    note("after @no_grad()")
    switched_off()
    note("after @set_grad_enabled(False)")
    lib.set_grad_enabled(False)
    note("set_grad_enabled(False) called")
    with lib.enable_grad():
        note("enable_grad in the switched-off mode")
    note("after enable_grad: still off")
    with lib.set_grad_enabled(True):
        note("set_grad_enabled(True) block while off")
    note("after that block: off again")
    lib.set_grad_enabled(True)
    note("set_grad_enabled(True) called")
    try:
        with lib.no_grad():
            raise KeyError("inside")
    except KeyError:
        note("an exception left no_grad")
    try:
        with lib.no_grad(), lib.enable_grad():
            raise KeyError("inside")
    except KeyError:
        note("an exception left no_grad > enable_grad")
    return seen


def test_grad_modes_nest_decorate_and_switch_as_torchs():
    ours, theirs = script(OURS), script(TORCH)
    assert ours == theirs
    assert tm.is_grad_enabled() and torch.is_grad_enabled()
    # the script does say something: each mode and each kind of result occurs
    assert {(mode, records) for _, mode, records in ours} == {(True, True), (False, False)}


def test_enable_grad_records_a_graph_that_backward_walks_inside_no_grad():
    x = tm.Tensor([1.0, 2.0], requires_grad=True)
    with tm.no_grad():
        frozen = x * 3
        with tm.enable_grad():
            y = (x * x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    assert not frozen.requires_grad and frozen.is_leaf


def test_a_decorated_function_keeps_its_name_and_returns_its_result():
    @tm.enable_grad
    def double(t):
        """Twice t."""
        return t * 2

    @tm.set_grad_enabled(False)
    def halve(t):
        return t * 0.5

    x = tm.Tensor([4.0], requires_grad=True)
    with tm.no_grad():
        assert double(x).requires_grad
    assert double.__name__ == "double" and double.__doc__ == "Twice t."
    assert halve.__name__ == "halve"
    assert not halve(x).requires_grad
    np.testing.assert_array_equal(halve(x).data, [2.0])


def test_set_grad_enabled_wants_a_bool_as_torch():
    with pytest.raises(TypeError):
        torch.set_grad_enabled(1)
    with pytest.raises(TypeError, match="argument 'mode' must be bool, not int"):
        tm.set_grad_enabled(1)
    assert tm.is_grad_enabled()  # the refused call changed nothing


@pytest.mark.parametrize("mode", [tm.enable_grad, tm.no_grad])
def test_a_grad_mode_given_something_else_than_a_function_says_so(mode):
    with pytest.raises(TypeError, match=f"{mode.__name__} takes no argument but a function"):
        mode(3)


def run_in_thread(work):
    """``work()``'s result, run in a new thread (its exception re-raised here)."""
    out = {}

    def target():
        try:
            out["value"] = work()
        except BaseException as error:  # noqa: BLE001 (re-raised below, in the test's thread)
            out["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.mark.parametrize("lib", [OURS, TORCH], ids=["ours", "torch"])
def test_each_thread_has_its_own_mode_and_a_new_thread_records(lib):
    """Switched off here, a new thread still records; its own switch leaves this one's."""
    lib.set_grad_enabled(False)
    try:

        def other():
            before = lib.is_grad_enabled()
            lib.set_grad_enabled(False)
            with lib.enable_grad():
                inside = (lib.tensor() * 2).requires_grad
            return before, inside, lib.is_grad_enabled()

        assert run_in_thread(other) == (True, True, False)
        assert not lib.is_grad_enabled()
        with lib.enable_grad():
            assert lib.is_grad_enabled()
    finally:
        lib.set_grad_enabled(True)


def test_enable_grad_in_one_thread_leaves_another_threads_no_grad():
    """Both threads are in their blocks at once: a flag shared by threads would fail."""
    both_inside = threading.Barrier(2, timeout=10)
    results = {}

    def enabled():
        with tm.no_grad(), tm.enable_grad():
            both_inside.wait()
            results["enabled"] = (tm.Tensor([1.0], requires_grad=True) * 2).requires_grad
            both_inside.wait()

    def disabled():
        with tm.no_grad():
            both_inside.wait()
            results["disabled"] = (tm.Tensor([1.0], requires_grad=True) * 2).requires_grad
            both_inside.wait()

    threads = [threading.Thread(target=enabled), threading.Thread(target=disabled)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {"enabled": True, "disabled": False}
