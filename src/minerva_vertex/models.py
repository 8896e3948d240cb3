"""MINERvA's vertex-finding CNN and its domain adversarial version (DANN).

The architecture is the talk's slide 8 (CNN) and slide 15 (DANN), as listed in the
project's reference facts (MINERVA.md, "The network"):

- one tower per view (X 127x50, U and V 127x25); each tower is four convolution units
  (12, 20, 28, 36 outputs; kernels (8,3), (7,3), (7,3), (7,3), strip axis first), each
  followed by ReLU and max-pooling (2,1) stride (2,1) -- the strip axis is pooled, z never;
  then a fully connected layer of 196, ReLU, dropout;
- the three towers' outputs are concatenated (the *features*), then 128, ReLU, dropout,
  then 11 outputs (softmax loss, applied by the trainer);
- DANN: the features go through a gradient reversal layer to a domain classifier of
  1024, ReLU, dropout, 1024, ReLU, dropout, 1 output (sigmoid cross entropy);
- finetune and mcc: the CNN's network, trained otherwise (:mod:`minerva_vertex.model_kinds`).

The dropout probability is a setting (``dropout``, MINERvA's 0.5 by default); the default run
trains without, since each event is seen once. Convolutions have no padding and pooling
rounds down, as in Caffe's "valid" convolution; the shapes per layer are listed by
:func:`layer_shapes`.
"""

from __future__ import annotations

import torch
from torch import nn

from minerva_vertex import geometry

N_STRIPS = 127  # image height, strips per plane (MINERVA.md)
VIEW_WIDTHS = {"x": 50, "u": 25, "v": 25}  # image width, planes per view (MINERVA.md)
N_SEGMENTS = geometry.N_SEGMENTS  # z-segments 0-10 (MINERvA's getSegmentForZPosition)
# What the label predictor learns: the segment, or the finer plane code (MINERvA's later
# labels), whose probabilities are summed per segment for every segment metric.
N_CLASSES = {"segments": N_SEGMENTS, "planecodes": geometry.N_PLANECODES}

# Slide 8: (outputs, kernel) of the four convolution units of a tower.
CONV_UNITS = ((12, (8, 3)), (20, (7, 3)), (28, (7, 3)), (36, (7, 3)))
POOL = (2, 1)  # max-pooling kernel and stride: strip axis only
TOWER_UNITS = 196  # fully connected layer closing each tower (slide 8)
JOINT_UNITS = 128  # fully connected layer after the concatenation (slide 8)
DOMAIN_UNITS = 1024  # the two hidden layers of the domain classifier (slide 15)
VIEWS = ("x", "u", "v")
# How pixel values (energy / 3.4 MeV, about 1 for a minimum-ionising particle) are
# compressed before the first convolution: none (MINERvA's), sqrt or log(1 + pixel). Both
# keep the heavily ionising deposits at the vertex within a few units of a track's hits;
# over 100,000 training events sqrt gave 1.8 points of accuracy and log1p 0.9 (docs/results.md
# "Learning curve"). A fixed function: no weights, the network's shape unchanged.
INPUT_TRANSFORMS = {"none": None, "sqrt": torch.sqrt, "log1p": torch.log1p}
# The non-linearity after every convolution and hidden layer: ReLU (MINERvA's), or leaky ReLU
# (slope 0.01 below zero, PyTorch's default), whose units keep a gradient when their input
# turns negative. With ReLU and PyTorch's initial weights whole convolution units went dead
# in some seeds (the images are mostly empty pixels, so a unit whose bias turns negative sees
# nothing): 93-94 % of the X tower's last two units in the seed that ended 2.4 points low.
# Leaky units did not rescue that seed; He's initial weights did (docs/results.md, "Seed study").
ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU}


# What follows each convolution before its non-linearity: nothing (MINERvA's), or batch
# normalisation, which keeps every unit's input centred on zero over the batch, so no unit can
# go dead; on a 2-core CPU it cost 2.7 times the step time (docs/results.md, "Seed study").
NORMALIZATIONS = ("none", "batch")


def activation_layer(activation: str) -> nn.Module:
    """A fresh in-place layer of the named non-linearity (:data:`ACTIVATIONS`)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{activation}' (known: {', '.join(ACTIVATIONS)})")
    return ACTIVATIONS[activation](inplace=True)


def conv_output_shape(height: int, width: int) -> tuple[int, int]:
    """(height, width) after a tower's four convolution units."""
    for _, (kh, kw) in CONV_UNITS:
        height, width = (height - kh + 1) // POOL[0], (width - kw + 1) // POOL[1]
    return height, width


def _conv_unit(in_channels: int, out_channels: int, kernel, activation: str, normalization: str) -> list[nn.Module]:
    """Convolution, (batch normalisation,) non-linearity, max-pooling of the strip axis."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization '{normalization}' (known: {', '.join(NORMALIZATIONS)})")
    if normalization == "none":
        return [nn.Conv2d(in_channels, out_channels, kernel), activation_layer(activation), nn.MaxPool2d(POOL, stride=POOL)]
    # The normalisation's shift replaces the convolution's bias.
    return [
        nn.Conv2d(in_channels, out_channels, kernel, bias=False),
        nn.BatchNorm2d(out_channels),
        activation_layer(activation),
        nn.MaxPool2d(POOL, stride=POOL),
    ]


class Tower(nn.Module):
    """One view's convolution units and fully connected layer."""

    def __init__(self, width: int, channels: int = 1, dropout: float = 0.5, activation: str = "relu", normalization: str = "none"):
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = channels
        for out_channels, kernel in CONV_UNITS:
            layers += _conv_unit(in_channels, out_channels, kernel, activation, normalization)
            in_channels = out_channels
        self.conv = nn.Sequential(*layers)
        height, out_width = conv_output_shape(N_STRIPS, width)
        self.flat_size = in_channels * height * out_width
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(self.flat_size, TOWER_UNITS),
            activation_layer(activation),
            nn.Dropout(dropout),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(image))


class FeatureExtractor(nn.Module):
    """The three towers; their outputs concatenated (3 x 196 features). The images pass
    through ``input_transform`` (:data:`INPUT_TRANSFORMS`) first."""

    def __init__(
        self, channels: int = 1, dropout: float = 0.5, input_transform: str = "none", activation: str = "relu",
        normalization: str = "none",
    ):
        super().__init__()
        if input_transform not in INPUT_TRANSFORMS:
            raise ValueError(f"unknown input_transform '{input_transform}' (known: {', '.join(INPUT_TRANSFORMS)})")
        self.input_transform = input_transform
        self.towers = nn.ModuleDict({view: Tower(VIEW_WIDTHS[view], channels, dropout, activation, normalization) for view in VIEWS})
        self.n_features = len(VIEWS) * TOWER_UNITS

    def forward(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        transform = INPUT_TRANSFORMS[self.input_transform]
        if transform is not None:
            x, u, v = transform(x), transform(u), transform(v)
        return torch.cat([self.towers["x"](x), self.towers["u"](u), self.towers["v"](v)], dim=1)

    def extra_repr(self) -> str:
        return f"input_transform={self.input_transform}"


class LabelPredictor(nn.Module):
    """128, ReLU, dropout, 11 segment logits."""

    def __init__(self, n_features: int, dropout: float = 0.5, n_classes: int = N_SEGMENTS, activation: str = "relu"):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, JOINT_UNITS),
            activation_layer(activation),
            nn.Dropout(dropout),
            nn.Linear(JOINT_UNITS, n_classes),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


class VertexCNN(nn.Module):
    """The talk's slide-8 network: segment logits from the X, U and V images."""

    kind = "cnn"

    def __init__(
        self, channels: int = 1, dropout: float = 0.5, labels: str = "segments", input_transform: str = "none",
        activation: str = "relu", normalization: str = "none",
    ):
        super().__init__()
        if labels not in N_CLASSES:
            raise ValueError(f"unknown labels '{labels}' (known: {', '.join(N_CLASSES)})")
        self.channels, self.labels, self.activation, self.normalization = channels, labels, activation, normalization
        self.extractor = FeatureExtractor(channels, dropout, input_transform, activation, normalization)
        self.predictor = LabelPredictor(self.extractor.n_features, dropout, N_CLASSES[labels], activation)
        self.register_buffer("segment_of_class", _segment_of_class(labels), persistent=False)

    def features(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.extractor(x, u, v)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        return self.predictor(features)

    def forward(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x, u, v))

    def segment_probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, 11) segment probabilities of the label logits: the softmax, summed per
        segment over the plane codes of a plane-code network."""
        probabilities = torch.softmax(logits.float(), dim=1)
        if self.labels == "segments":
            return probabilities
        out = probabilities.new_zeros(probabilities.shape[0], N_SEGMENTS)
        return out.index_add_(1, self.segment_of_class, probabilities)


def _segment_of_class(labels: str) -> torch.Tensor:
    if labels == "planecodes":
        return torch.as_tensor(geometry.SEGMENT_OF_PLANECODE, dtype=torch.long)
    return torch.arange(N_SEGMENTS)


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; the incoming gradient times -lambda backward (Ganin et al. 2016)."""

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, lambda_: float) -> torch.Tensor:
        ctx.lambda_ = float(lambda_)
        return inputs.view_as(inputs)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return -ctx.lambda_ * grad_output, None


def reverse_gradient(inputs: torch.Tensor, lambda_: float) -> torch.Tensor:
    """Gradient reversal: ``inputs`` unchanged, gradient scaled by ``-lambda_``."""
    return _ReverseGradient.apply(inputs, lambda_)


class DomainClassifier(nn.Module):
    """Slide 15: 1024, ReLU, dropout, 1024, ReLU, dropout, one logit (target domain = 1)."""

    def __init__(self, n_features: int, dropout: float = 0.5, activation: str = "relu"):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, DOMAIN_UNITS),
            activation_layer(activation),
            nn.Dropout(dropout),
            nn.Linear(DOMAIN_UNITS, DOMAIN_UNITS),
            activation_layer(activation),
            nn.Dropout(dropout),
            nn.Linear(DOMAIN_UNITS, 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features).squeeze(1)


class VertexDANN(VertexCNN):
    """The CNN plus a domain classifier behind a gradient reversal layer (slide 15).

    ``forward`` gives segment logits like the CNN, so evaluation treats both alike.
    """

    kind = "dann"

    def __init__(
        self, channels: int = 1, dropout: float = 0.5, labels: str = "segments", input_transform: str = "none",
        activation: str = "relu", normalization: str = "none",
    ):
        super().__init__(channels, dropout, labels, input_transform, activation, normalization)
        self.domain_classifier = DomainClassifier(self.extractor.n_features, dropout, activation)

    def domain_logit(self, features: torch.Tensor, lambda_: float) -> torch.Tensor:
        """Domain logit of the features; the gradient reaching the features is reversed."""
        return self.domain_classifier(reverse_gradient(features, lambda_))


class VertexFinetune(VertexCNN):
    """The CNN, fine-tuned from another model's weights on source events alone: the control
    of an adapted network (:mod:`minerva_vertex.model_kinds`). The same network as the CNN."""

    kind = "finetune"


class VertexMCC(VertexCNN):
    """The CNN, trained with minimum class confusion on an unlabelled target sample
    (:mod:`minerva_vertex.training.mcc`). The same network as the CNN: MCC adds a loss, no layer."""

    kind = "mcc"


MODEL_CLASSES = {"cnn": VertexCNN, "dann": VertexDANN, "finetune": VertexFinetune, "mcc": VertexMCC}
# How the weights start: PyTorch's default (uniform, standard deviation 1 / sqrt(3 fan_in)) or
# He et al. 2015 (normal, sqrt(2 / fan_in), zero biases), made for ReLU units. Adam moves every
# weight by about the learning rate per step whatever its size, so the default's small weights
# in the deeper convolutions (about 0.03) change by a tenth of themselves in a step at the peak
# rate; He's are 2.4 times larger.
WEIGHT_INITS = ("default", "he")


def initialise_weights(model: nn.Module, weight_init: str, activation: str = "relu") -> None:
    """Re-draw every convolution and linear layer's weights by ``weight_init``
    (:data:`WEIGHT_INITS`; 'default' leaves PyTorch's own)."""
    if weight_init not in WEIGHT_INITS:
        raise ValueError(f"unknown weight_init '{weight_init}' (known: {', '.join(WEIGHT_INITS)})")
    if weight_init == "default":
        return
    slope = 0.01 if activation == "leaky_relu" else 0.0
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, a=slope, nonlinearity="leaky_relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def build_model(
    kind: str, channels: int = 1, dropout: float = 0.5, labels: str = "segments", input_transform: str = "none",
    activation: str = "relu", normalization: str = "none",
) -> VertexCNN:
    """A fresh network of ``kind`` (:data:`MODEL_CLASSES`) learning ``labels`` (segments or
    planecodes) from images compressed by ``input_transform``, with ``activation`` units and
    ``normalization`` after each convolution."""
    try:
        cls = MODEL_CLASSES[kind]
    except KeyError:
        raise ValueError(f"unknown model kind '{kind}' (known: {', '.join(MODEL_CLASSES)})") from None
    return cls(channels=channels, dropout=dropout, labels=labels, input_transform=input_transform, activation=activation,
        normalization=normalization,
    )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def layer_shapes(model: VertexCNN, batch: int = 1) -> dict[str, tuple[int, ...]]:
    """Output shape of every layer for a batch of zeros, keyed by module name."""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        module.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape)))
        for name, module in model.named_modules()
        if not list(module.children())
    ]
    x, u, v = example_inputs(model.channels, batch)
    with torch.no_grad():
        model.eval()
        features = model.features(x, u, v)
        model.classify(features)
        if isinstance(model, VertexDANN):
            model.domain_logit(features, 1.0)
    for hook in hooks:
        hook.remove()
    return shapes


def example_inputs(channels: int = 1, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """Zero images of the three views in the HDF5 contract's shapes."""
    return tuple(torch.zeros(batch, channels, N_STRIPS, VIEW_WIDTHS[view]) for view in VIEWS)


def flops_per_event(model: VertexCNN) -> float:
    """Multiply-adds x 2 of one forward pass through the label path (conv + linear layers)."""
    total = 0
    hooks = []

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += 2 * output[0].numel() * module.in_channels * kh * kw
        elif isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features

    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            hooks.append(module.register_forward_hook(count))
    with torch.no_grad():
        model.eval()
        model.classify(model.features(*example_inputs(model.channels, 1)))
    for hook in hooks:
        hook.remove()
    return float(total)
