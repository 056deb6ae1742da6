import pytest

torch = pytest.importorskip("torch")

from propscope.training.network import ByteDropout, draw_dropout_masks  # noqa: E402


def byte_dropout(p: float, seed: int = 0) -> ByteDropout:
    import numpy as np

    return ByteDropout(p, np.random.default_rng(seed)).train()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("p", [0.1, 0.25])
def test_byte_masks_drop_at_the_rate_and_keep_the_mean(p: float, dtype: torch.dtype):
    x = torch.ones(64, 128, 96, dtype=dtype)
    y = byte_dropout(p)(x)
    assert y.dtype == dtype and y.shape == x.shape
    dropped = (y == 0).double().mean().item()
    n = x.numel()
    assert abs(dropped - p) < 5 * (p * (1 - p) / n) ** 0.5
    kept = y[y != 0].double()
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)), rtol=1e-2)  # bf16 rounds 1/(1-p)
    assert abs(y.double().mean().item() - 1) < 0.01


def test_byte_masks_follow_their_seed_and_pass_gradients_through_the_kept_units():
    x = torch.randn(8, 300, requires_grad=True)
    first, again, other = byte_dropout(0.1, 7)(x), byte_dropout(0.1, 7)(x), byte_dropout(0.1, 8)(x)
    assert torch.equal(first, again) and not torch.equal(first, other)
    first.sum().backward()
    assert torch.equal(x.grad == 0, first == 0)
    assert torch.allclose(x.grad[x.grad != 0], torch.tensor(1 / 0.9))


def test_byte_masks_are_off_in_eval_and_at_rate_zero():
    x = torch.randn(4, 50)
    assert torch.equal(byte_dropout(0.1).eval()(x), x)
    assert torch.equal(byte_dropout(0.0)(x), x)
    assert not byte_dropout(1.0)(x).any()  # as torch's dropout at rate 1


def test_every_dropout_layer_draws_from_bytes_and_keeps_its_rate():
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 4), torch.nn.Dropout(0.1), torch.nn.Sequential(torch.nn.Dropout(0.3))
    )
    draw_dropout_masks(model, "torch", 13)
    assert [type(m) for m in model.modules() if isinstance(m, torch.nn.Dropout)] == [torch.nn.Dropout] * 2
    draw_dropout_masks(model, "bytes", 13)
    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Dropout, ByteDropout))]
    assert [type(m) for m in layers] == [ByteDropout, ByteDropout]
    assert [m.p for m in layers] == [0.1, 0.3]  # attention layers read .p for their functional dropout
