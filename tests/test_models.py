"""The slide-8 CNN and the slide-15 DANN: layer shapes, parameter counts, gradient reversal."""

import pytest
import torch

from minerva_vertex import devices, models


def tower_shapes(width, channels=1):
    """Hand-computed output shapes of one tower: valid convolutions, pooling (2,1) on strips."""
    h, w = 127, width
    shapes = []
    for out, (kh, kw) in [(12, (8, 3)), (20, (7, 3)), (28, (7, 3)), (36, (7, 3))]:
        h, w = h - kh + 1, w - kw + 1
        shapes += [(1, out, h, w), (1, out, h, w)]  # conv, relu
        h = h // 2
        shapes.append((1, out, h, w))  # pool
    return shapes, 36 * h * w


def test_tower_output_shapes_by_hand():
    x_shapes, x_flat = tower_shapes(50)
    assert x_shapes[-1] == (1, 36, 2, 42) and x_flat == 3024
    u_shapes, u_flat = tower_shapes(25)
    assert u_shapes[-1] == (1, 36, 2, 17) and u_flat == 1224


@pytest.mark.parametrize("channels", [1, 2])
def test_every_layer_shape(channels):
    shapes = models.layer_shapes(models.build_model("dann", channels=channels))
    for view, width in (("x", 50), ("u", 25), ("v", 25)):
        expected, flat = tower_shapes(width)
        got = [shapes[f"extractor.towers.{view}.conv.{i}"] for i in range(12)]
        assert got == expected
        assert shapes[f"extractor.towers.{view}.fc.0"] == (1, flat)
        for i in (1, 2, 3):
            assert shapes[f"extractor.towers.{view}.fc.{i}"] == (1, 196)
    assert [shapes[f"predictor.net.{i}"] for i in range(4)] == [(1, 128)] * 3 + [(1, 11)]
    dc = [shapes[f"domain_classifier.net.{i}"] for i in range(7)]
    assert dc == [(1, 1024)] * 6 + [(1, 1)]


def conv_params(c_in):
    total, c = 0, c_in
    for out, (kh, kw) in [(12, (8, 3)), (20, (7, 3)), (28, (7, 3)), (36, (7, 3))]:
        total += c * kh * kw * out + out
        c = out
    return total


@pytest.mark.parametrize("channels", [1, 2])
def test_parameter_counts(channels):
    towers = 3 * conv_params(channels) + (3024 * 196 + 196) + 2 * (1224 * 196 + 196)
    label = (588 * 128 + 128) + (128 * 11 + 11)
    domain = (588 * 1024 + 1024) + (1024 * 1024 + 1024) + (1024 + 1)
    cnn = models.build_model("cnn", channels)
    dann = models.build_model("dann", channels)
    assert models.count_parameters(cnn) == towers + label
    assert models.count_parameters(dann) == towers + label + domain
    if channels == 1:
        assert models.count_parameters(cnn) == 1_264_967


def test_forward_gives_11_logits_and_dann_matches_cnn_interface():
    torch.manual_seed(0)
    model = models.build_model("dann").eval()
    x, u, v = (torch.rand(3, 1, 127, w) for w in (50, 25, 25))
    feats = model.features(x, u, v)
    assert feats.shape == (3, 588)
    assert model(x, u, v).shape == (3, 11)
    assert torch.equal(model(x, u, v), model.classify(feats))
    assert model.domain_logit(feats, 0.5).shape == (3,)


def test_reversal_forward_is_identity_and_backward_is_minus_lambda():
    x = torch.randn(4, 5, requires_grad=True)
    weights = torch.randn(4, 5)
    y = models.reverse_gradient(x, 0.3)
    assert torch.equal(y, x)
    (y * weights).sum().backward()
    assert torch.allclose(x.grad, -0.3 * weights)


def test_domain_gradient_reaches_features_reversed_and_classifier_unreversed():
    torch.manual_seed(1)
    model = models.build_model("dann", dropout=0.0)
    feats = torch.randn(6, 588, requires_grad=True)
    model.domain_classifier(feats).sum().backward()
    plain_feat_grad = feats.grad.clone()
    plain_w_grad = model.domain_classifier.net[0].weight.grad.clone()
    feats.grad = None
    model.zero_grad()
    model.domain_logit(feats, 0.7).sum().backward()
    assert torch.allclose(feats.grad, -0.7 * plain_feat_grad, atol=1e-6)
    assert torch.allclose(model.domain_classifier.net[0].weight.grad, plain_w_grad)


def test_flops_per_event_near_the_quoted_cost():
    fwd = models.flops_per_event(models.build_model("cnn"))
    # forward + backward is about 3 forwards: the task quotes about 0.32 GFLOP per event
    assert 0.30e9 < 3 * fwd < 0.36e9


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown model kind"):
        models.build_model("rnn")


def test_bf16_autocast_stays_within_tolerance_of_fp32():
    """bf16 (used where the device has it natively) against fp32 on one small batch: logits
    within 0.05 of their spread, the same predicted class for most events, and the loss of
    a training step within 2 %."""
    torch.manual_seed(0)
    model = models.build_model("cnn", dropout=0.0)
    views = [torch.relu(torch.randn(16, 1, 127, w) - 1.5) for w in (50, 25, 25)]  # sparse, like hits
    labels = torch.randint(0, models.N_SEGMENTS, (16,))
    cpu = torch.device("cpu")
    with torch.no_grad():
        exact = model(*views)
        with devices.autocast_for(cpu, "bf16"):
            approx = model(*views).float()
    assert (approx - exact).abs().max() <= 0.05 * exact.std()
    assert (approx.argmax(1) == exact.argmax(1)).float().mean() >= 0.8
    losses = {}
    for precision in ("fp32", "bf16"):
        with devices.autocast_for(cpu, precision):
            losses[precision] = torch.nn.functional.cross_entropy(model(*views).float(), labels).item()
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.02)
    assert devices.resolve_precision("fp32", cpu) == "fp32"
    assert devices.resolve_precision("auto", cpu) == ("bf16" if devices.has_native_bf16(cpu) else "fp32")
    with pytest.raises(ValueError, match="precision"):
        devices.resolve_precision("fp16", cpu)


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_tile\n")
    assert {"avx512_bf16", "avx2"} <= devices.cpu_flags(str(info))
    assert devices.cpu_flags(str(tmp_path / "absent")) == set()


@pytest.mark.parametrize("name, function", [("sqrt", torch.sqrt), ("log1p", torch.log1p)])
def test_the_input_transform_feeds_the_towers_compressed_pixels(name, function):
    torch.manual_seed(0)
    compressed = models.build_model("cnn", dropout=0.0, input_transform=name).eval()
    plain = models.build_model("cnn", dropout=0.0).eval()
    plain.load_state_dict(compressed.state_dict())  # no weights of its own: the same tensors
    views = [3.0 * torch.rand(4, 1, 127, w) for w in (50, 25, 25)]
    with torch.no_grad():
        torch.testing.assert_close(compressed(*views), plain(*(function(v) for v in views)))
        assert not torch.allclose(compressed(*views), plain(*views))
    assert models.count_parameters(compressed) == models.count_parameters(plain)
    with pytest.raises(ValueError, match="unknown input_transform 'cbrt'"):
        models.build_model("cnn", input_transform="cbrt")


def test_a_leaky_unit_below_zero_still_learns_where_a_relu_unit_is_dead():
    torch.manual_seed(0)
    relu = models.build_model("cnn", dropout=0.0).train()
    leaky = models.build_model("cnn", dropout=0.0, activation="leaky_relu").train()
    leaky.load_state_dict(relu.state_dict())  # the activation has no weights: the same tensors
    for network in (relu, leaky):  # every first-layer unit of the X tower below zero on every pixel
        first = network.extractor.towers["x"].conv[0]
        with torch.no_grad():
            first.bias.fill_(-100.0)
    views = [torch.rand(4, 1, 127, w) for w in (50, 25, 25)]
    for network in (relu, leaky):
        network(*views).sum().backward()
    assert relu.extractor.towers["x"].conv[0].weight.grad.abs().sum() == 0
    assert leaky.extractor.towers["x"].conv[0].weight.grad.abs().sum() > 0
    assert sum(isinstance(m, torch.nn.LeakyReLU) for m in leaky.modules()) == 3 * 5 + 1
    assert not any(isinstance(m, torch.nn.LeakyReLU) for m in relu.modules())
    dann = models.build_model("dann", activation="leaky_relu")
    assert sum(isinstance(m, torch.nn.LeakyReLU) for m in dann.domain_classifier.modules()) == 2
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        models.build_model("cnn", activation="gelu")


def test_batch_normalisation_centres_every_convolution_unit_over_the_batch():
    torch.manual_seed(0)
    normalised = models.build_model("cnn", dropout=0.0, normalization="batch").train()
    convolutions = [m for m in normalised.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in normalised.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(convolutions) == len(norms) == 12 and all(c.bias is None for c in convolutions)
    seen = []
    hooks = [n.register_forward_hook(lambda m, i, o: seen.append(o.detach().clone())) for n in norms]
    views = [torch.rand(8, 1, 127, w) for w in (50, 25, 25)]
    normalised(*views)
    for out in seen:  # zero mean and unit variance per unit over the batch: no unit below zero everywhere
        torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(out.shape[1]), atol=1e-4, rtol=0)
        assert (out.amax(dim=(0, 2, 3)) > 0).all()
    for hook in hooks:
        hook.remove()
    normalised.eval()  # scoring: the running statistics, one event's prediction independent of the others'
    with torch.no_grad():
        alone = normalised(*(v[:1] for v in views))
        together = normalised(*views)[:1]
    torch.testing.assert_close(alone, together)
    with pytest.raises(ValueError, match="unknown normalization 'layer'"):
        models.build_model("cnn", normalization="layer")


def test_he_initialisation_draws_every_layer_at_sqrt_2_over_fan_in_with_zero_biases():
    torch.manual_seed(0)
    he = models.build_model("dann")
    models.initialise_weights(he, "he")
    layers = [m for m in he.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 12 + 3 + 2 + 3  # convolutions, tower layers, label predictor, domain classifier
    for layer in layers:
        fan_in = layer.weight[0].numel()
        expected = (2.0 / fan_in) ** 0.5
        assert abs(float(layer.weight.detach().std()) / expected - 1) < (0.35 if layer.weight.numel() < 500 else 0.1)
        assert not layer.bias.any()
    torch.manual_seed(0)
    default = models.build_model("dann")
    before = {k: v.clone() for k, v in default.state_dict().items()}
    models.initialise_weights(default, "default")  # PyTorch's own weights, untouched
    assert all(torch.equal(before[k], v) for k, v in default.state_dict().items())
    # the deeper convolutions start 2.4 times larger than PyTorch's default (std 1/sqrt(3 fan_in))
    deep = he.extractor.towers["x"].conv[9].weight
    assert 2.0 < float(deep.detach().std()) * (3 * deep[0].numel()) ** 0.5 < 2.9
    with pytest.raises(ValueError, match="unknown weight_init 'xavier'"):
        models.initialise_weights(he, "xavier")


def test_compute_resolves_once_and_lays_out_the_network_and_its_inputs_alike():
    cpu = devices.Compute.resolve("cpu", "fp32", channels_last=True)
    assert (cpu.device.type, cpu.channels_last, cpu.precision) == ("cpu", True, "fp32")
    native = "bf16" if devices.has_native_bf16(torch.device("cpu")) else "fp32"
    assert devices.Compute.resolve("cpu", "auto", channels_last=False).precision == native
    model = cpu.layout(models.build_model("cnn"))
    conv = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][1]  # 12 input channels
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()
    views = cpu.inputs([torch.rand(2, 2, 127, w) for w in (50, 25, 25)])  # 2 channels: a layout to change
    assert all(v.is_contiguous(memory_format=torch.channels_last) and not v.is_contiguous() for v in views)
    plain = devices.Compute.resolve("cpu", "fp32", channels_last=False)
    assert plain.inputs(views)[0] is views[0]  # on its device already, its layout left as it is
