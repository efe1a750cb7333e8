"""Edge cases of GF104/GF105 that the golden cases do not pin down."""

from __future__ import annotations

import textwrap

from gradfix.engine import Settings, check_source, fix_source


def _check(source: str, code: str):
    settings = Settings.from_codes([code], None, unsafe_fixes=True)
    return check_source(textwrap.dedent(source), "case.py", settings, fix=False).diagnostics


def _fix(source: str, code: str) -> str:
    return fix_source(textwrap.dedent(source), "case.py", select=[code], unsafe_fixes=False)


def test_gf104_new_name_avoids_every_name_in_the_file():
    fixed = _fix(
        """
        import torch
        eta_scaled = 1
        eta = torch.nn.Parameter(torch.rand(3))
        eta = eta * 2
        eta.sum().backward()
        print(eta.grad, eta_scaled)
        """,
        "GF104",
    )
    assert "eta_scaled2 = eta * 2" in fixed
    assert "eta_scaled2.sum().backward()" in fixed
    assert "print(eta.grad, eta_scaled)" in fixed


def test_gf104_autograd_grad_alone_is_no_reason():
    # autograd.grad works on the derived (non-leaf) tensor: nothing is broken.
    assert _check(
        """
        import torch
        w = torch.randn(3, requires_grad=True)
        w = w * 2
        (g,) = torch.autograd.grad(w.sum(), [w])
        """,
        "GF104",
    ) == []


def test_gf104_rebound_again_or_read_by_nested_code_is_reported_without_fix():
    for source in (
        """
        import torch
        w = torch.randn(3, requires_grad=True)
        w = w * 2
        w.sum().backward()
        print(w.grad)
        w = torch.zeros(3)
        """,
        """
        import torch
        w = torch.randn(3, requires_grad=True)
        w = w * 2
        def loss():
            return w.sum()
        loss().backward()
        print(w.grad)
        """,
    ):
        findings = _check(source, "GF104")
        assert len(findings) == 1 and not findings[0].fixable
        assert "not fixed" in findings[0].message


def test_gf105_params_list_alias_counts_as_optimizer_use():
    fixed = _fix(
        """
        import torch
        w = torch.randn(3, requires_grad=True).double()
        params = [w]
        opt = torch.optim.SGD(params, lr=0.1)
        """,
        "GF105",
    )
    assert "w = torch.randn(3).double().requires_grad_()" in fixed


def test_gf105_leaves_integer_casts_and_graph_carrying_factors_alone():
    assert _check(
        """
        import torch
        a = torch.nn.Parameter(torch.ones(3))
        w = torch.randn(3, requires_grad=True) * a
        i = torch.zeros(3, requires_grad=True).to(torch.long)
        opt = torch.optim.SGD([w, i], lr=0.1)
        """,
        "GF105",
    ) == []


def test_gf105_keeps_other_factory_arguments_and_their_order():
    fixed = _fix(
        """
        import torch
        w = torch.full((2, 2), 0.5, requires_grad=True, dtype=torch.float32).to("cpu")
        print(w.grad)
        """,
        "GF105",
    )
    assert 'w = torch.full((2, 2), 0.5, dtype=torch.float32).to("cpu").requires_grad_()' in fixed


def test_gf105_device_imported_from_a_config_keeps_the_fix_safe():
    # `.to(x)` with a name that is not a torch dtype is a device move: the fix stays safe.
    source = """
        import torch
        from settings import device
        w = torch.randn(3, requires_grad=True).to(device)
        print(w.grad)
        """
    (finding,) = _check(source, "GF105")
    assert finding.fix_applicability == "safe"
    assert "w = torch.randn(3).to(device).requires_grad_()" in _fix(source, "GF105")


def test_gf105_dtype_of_another_tensor_makes_the_fix_unsafe():
    # `x.dtype` may be an integer dtype, and `.requires_grad_()` raises on integer tensors.
    source = """
        import torch
        def make(x):
            w = torch.randn(3, requires_grad=True).to(x.dtype)
            return torch.optim.SGD([w], lr=0.1)
        """
    (finding,) = _check(source, "GF105")
    assert finding.fix_applicability == "unsafe"
    assert "requires_grad=True" in _fix(source, "GF105")  # not applied without --unsafe-fixes


def test_leaf_used_names_find_optimizer_arguments_however_the_class_is_spelled():
    import ast

    from gradfix.codemods._quick_leaves import leaf_used_names

    for spelled, call in (("import torch.optim as optim", "optim.SGD"), ("from torch.optim import SGD as sgd", "sgd"), ("from torch.optim import Adam", "Adam")):
        source = f"import torch\n{spelled}\nw = torch.ones(2, requires_grad=True)\nparams = [w]\nopt = {call}(params, lr=0.1)\n"
        assert {"w", "params"} <= leaf_used_names(ast.parse(source)), spelled
