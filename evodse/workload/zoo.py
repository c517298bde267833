"""Built-in workload zoo: well-known DNNs with exact layer shapes, one sample per network.

Every builder returns a :class:`Network` whose operations reproduce the reference model's layer
shapes (torchvision, the original paper, timm or HuggingFace; each builder names its reference).
:func:`zoo_network` looks a builder up by name; :data:`ZOO` maps names to builders.

Conventions (shared with ``docs/zoo.md``):

* **Fused activations.** ReLU, ReLU6, GELU, SiLU/swish, sigmoid, tanh (any parameter-free
  activation) directly following a conv, linear or norm is fused into that layer's output path and
  not emitted as a separate operation.
* **Batch norm.** A BN that directly follows a conv is folded into that conv at inference and not
  emitted; the conv then carries a bias (``bias=True``, the BN shift). BNs that cannot be folded
  (DenseNet's pre-activation BNs on a concatenated input, its final ``norm5``) are emitted as
  ``Norm(mode="batch")``.
* **Joins.** Residual additions are emitted as ``Elementwise(function="add", inputs=2)`` over the
  output tensor; concatenation is free (no operation), as is flattening and the KV-cache append.
* **Pooling** is ``Pool2d``; global pooling is a kernel of the full input. Adaptive average pools
  that are the identity at the given resolution (AlexNet's 6x6, VGG's 7x7 at 224) are omitted.
* **Squeeze-excite**: global average pool, two 1x1 convs on the 1x1 pooled tensor (``fc1`` and
  ``fc2``, with biases; their SiLU / sigmoid fused), and ``Elementwise(function="mul", inputs=2)``
  scaling the feature map.
* **Transformers**: LayerNorm is ``Norm(mode="layer")``; Q, K and V are one fused
  ``Linear(hidden -> 3*hidden, tokens=seq)`` (same MACs and parameters as three separate
  projections); attention is ``MatMul(m=seq, k=head_dim, n=keys, count=heads)`` (QK^T),
  ``Softmax(rows=heads*seq, row_length=keys)`` and ``MatMul(m=seq, k=keys, n=head_dim,
  count=heads)`` (AV), with the 1/sqrt(d) scale and any mask free; causal attention is counted as
  the full dense ``seq x seq`` product (as dense kernels compute it). GELU is fused into ``fc1``.
  Token-embedding lookups are free; the embedding sum (word + position [+ type]) is an
  ``Elementwise`` add.
* **Parameters** are the sum of ``op.params``: conv/linear weights and biases plus 2*C for each
  emitted norm. Relative to published counts (which include BN gamma and beta, 2*C per BN) a
  folded BN contributes C (its shift, the conv bias), so networks with BN count slightly fewer
  parameters; embedding tables, position embeddings and the ViT class token are not operations
  and are not counted. ``docs/zoo.md`` lists the difference per network.
* **Widths.** CNN builders take ``widths``: the output channel count of each stage, in the order
  given by :data:`STAGE_NAMES`, defaulting to :data:`DEFAULT_WIDTHS`. Stages whose output is one
  conv (VGG, AlexNet, ResNet, MobileNets, EfficientNet) produce exactly ``widths[i]`` channels;
  inner widths (ResNet-50 bottleneck = out/4, inverted-residual expansion = in*t, SE squeeze =
  in/4) follow from them. Stages whose output is a concatenation (GoogLeNet, SqueezeNet) scale
  every branch by ``widths[i] / DEFAULT_WIDTHS[name][i]`` (rounded), and DenseNet picks each
  block's growth rate so the block output is as close as possible to ``widths[i]``; these outputs
  match ``widths[i]`` up to rounding. Input channel counts always follow the producing layers, so
  residual adds and concatenations stay consistent for any widths.
* **Layer names** follow the reference implementation's module paths (torchvision for the CNNs,
  timm-style ``blocks.{i}.attn.qkv`` for the transformers); operations without a module get a
  descriptive suffix (``.add``, ``.scale``, ``.attn.qk``, ``.attn.softmax``, ``.attn.av``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

from evodse.errors import InputError
from evodse.workload.network import Network
from evodse.workload.ops import Conv2d, Elementwise, Linear, MatMul, Norm, Op, Pool2d, Softmax
from evodse.workload.zoo_llm import DECODERS

Shape = tuple[int, int]
"""An activation tensor of one sample: (channels, spatial size); all zoo CNNs are square."""

STAGE_NAMES: dict[str, tuple[str, ...]] = {
    "alexnet": ("features.0", "features.3", "features.6", "features.8", "features.10"),
    "vgg16": ("features.0-2", "features.5-7", "features.10-14", "features.17-21", "features.24-28"),
    "googlenet": ("conv1,conv2", "conv3", "inception3a-3b", "inception4a-4e", "inception5a-5b"),
    "resnet18": ("conv1", "layer1", "layer2", "layer3", "layer4"),
    "resnet50": ("conv1", "layer1", "layer2", "layer3", "layer4"),
    "mobilenet_v1": (
        "conv1",
        "blocks.0",
        "blocks.1-2",
        "blocks.3-4",
        "blocks.5-10",
        "blocks.11-12",
    ),
    "mobilenet_v2": (
        "features.0",
        "features.1",
        "features.2-3",
        "features.4-6",
        "features.7-10",
        "features.11-13",
        "features.14-16",
        "features.17",
        "features.18",
    ),
    "squeezenet1_1": ("features.0", "features.3-4", "features.6-7", "features.9-12"),
    "densenet121": (
        "features.conv0",
        "features.denseblock1",
        "features.denseblock2",
        "features.denseblock3",
        "features.denseblock4",
    ),
    "efficientnet_b0": tuple(f"features.{i}" for i in range(9)),
}
"""What each entry of a CNN's ``widths`` tuple sets (a layer, or a group of blocks)."""

DEFAULT_WIDTHS: dict[str, tuple[int, ...]] = {
    "alexnet": (64, 192, 384, 256, 256),
    "vgg16": (64, 128, 256, 512, 512),
    "googlenet": (64, 192, 480, 832, 1024),
    "resnet18": (64, 64, 128, 256, 512),
    "resnet50": (64, 256, 512, 1024, 2048),
    "mobilenet_v1": (32, 64, 128, 256, 512, 1024),
    "mobilenet_v2": (32, 16, 24, 32, 64, 96, 160, 320, 1280),
    "squeezenet1_1": (64, 128, 256, 512),
    "densenet121": (64, 256, 512, 1024, 1024),
    "efficientnet_b0": (32, 16, 24, 40, 80, 112, 192, 320, 1280),
}
"""Per-stage output channel counts of each CNN at its published width (see :data:`STAGE_NAMES`)."""

NUM_CLASSES = 1000
"""ImageNet classes: the classifier width of every zoo CNN and of ViT."""

GPT2_VOCAB = 50257
"""GPT-2's vocabulary size (the width of its tied LM head)."""


# ------------------------------------------------------------------------------------------------
# Argument checks


def _check_int(value: object, key: str, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InputError(f"{key} must be {kind}, got {value!r}", key=key)
    return value


def _cnn_args(name: str, resolution: object, widths: object) -> tuple[int, tuple[int, ...]]:
    """Validated ``resolution`` and ``widths`` (the defaults when ``widths`` is None)."""
    res = _check_int(resolution, "resolution")
    default = DEFAULT_WIDTHS[name]
    if widths is None:
        return res, default
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise InputError(f"widths must be a sequence of integers, got {widths!r}", key="widths")
    if len(widths) != len(default):
        raise InputError(
            f"{name} has {len(default)} stages ({', '.join(STAGE_NAMES[name])}), "
            f"so widths needs {len(default)} entries, got {len(widths)}",
            key="widths",
        )
    for w in widths:
        if not isinstance(w, int) or isinstance(w, bool) or w < 1:
            raise InputError(
                f"widths must be positive integers, got {list(widths)!r}", key="widths"
            )
    return res, tuple(widths)


def _ratios(name: str, widths: tuple[int, ...]) -> tuple[float, ...]:
    return tuple(w / d for w, d in zip(widths, DEFAULT_WIDTHS[name], strict=True))


def _scale(channels: int, ratio: float) -> int:
    return max(1, round(channels * ratio))


@contextlib.contextmanager
def _resolution_guard(name: str, resolution: int) -> Iterator[None]:
    """Report a layer that does not fit as a bad ``resolution`` (widths are already checked)."""
    try:
        yield
    except InputError as exc:
        raise InputError(
            f"resolution {resolution} is too small for {name} (layer {exc.key}: {exc.detail})",
            key="resolution",
        ) from None


def _transformer_args(hidden: object, heads: object, ffn: object, layers: object) -> int:
    """Validate the transformer shape keywords; return the head dimension."""
    hidden = _check_int(hidden, "hidden")
    heads = _check_int(heads, "heads")
    _check_int(ffn, "ffn")
    _check_int(layers, "layers")
    if hidden % heads:
        raise InputError(f"hidden={hidden} must be divisible by heads={heads}", key="heads")
    return hidden // heads


# ------------------------------------------------------------------------------------------------
# Builder


class _Builder:
    """Collects operations while tracking activation shapes ``(channels, size)``."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def conv(
        self,
        name: str,
        x: Shape,
        out: int,
        kernel: int,
        *,
        stride: int = 1,
        pad: int = 0,
        groups: int = 1,
        bias: bool = True,
    ) -> Shape:
        c, s = x
        op = Conv2d(
            name=name,
            in_channels=c,
            out_channels=out,
            in_h=s,
            in_w=s,
            kernel_h=kernel,
            kernel_w=kernel,
            stride_h=stride,
            stride_w=stride,
            pad_top=pad,
            pad_bottom=pad,
            pad_left=pad,
            pad_right=pad,
            groups=groups,
            bias=bias,
        )
        self.ops.append(op)
        return out, op.out_h

    def dwconv(self, name: str, x: Shape, kernel: int, *, stride: int = 1) -> Shape:
        return self.conv(name, x, x[0], kernel, stride=stride, pad=(kernel - 1) // 2, groups=x[0])

    def pool(
        self,
        name: str,
        x: Shape,
        kernel: int,
        *,
        stride: int | None = None,
        pad: int = 0,
        mode: str = "max",
        ceil: bool = False,
    ) -> Shape:
        c, s = x
        op = Pool2d(
            name=name,
            channels=c,
            in_h=s,
            in_w=s,
            kernel_h=kernel,
            kernel_w=kernel,
            stride_h=kernel if stride is None else stride,
            stride_w=kernel if stride is None else stride,
            pad_top=pad,
            pad_bottom=pad,
            pad_left=pad,
            pad_right=pad,
            mode=mode,  # type: ignore[arg-type]
            ceil_mode=ceil,
        )
        self.ops.append(op)
        return c, op.out_h

    def global_pool(self, name: str, x: Shape) -> Shape:
        return self.pool(name, x, x[1], stride=1, mode="avg")

    def adaptive_avg_pool(self, name: str, x: Shape, target: int) -> Shape:
        """``nn.AdaptiveAvgPool2d(target)``: omitted when the identity or a pure replication.

        For sizes that ``target`` does not divide, PyTorch uses windows of varying size; this
        uses the uniform window ``stride = size // target``, ``kernel = size - (target-1)*stride``
        that gives the same output size.
        """
        c, s = x
        if s > target:
            stride = s // target
            self.pool(name, x, s - (target - 1) * stride, stride=stride, mode="avg")
        return c, target

    def add(self, name: str, *xs: Shape) -> Shape:
        if len(set(xs)) != 1:  # pragma: no cover - a builder bug, not bad input
            raise AssertionError(f"{name}: residual operands differ in shape {xs}")
        c, s = xs[0]
        self.ops.append(Elementwise(name=name, elements=c * s * s, inputs=len(xs), function="add"))
        return xs[0]

    def mul(self, name: str, x: Shape) -> Shape:
        c, s = x
        self.ops.append(Elementwise(name=name, elements=c * s * s, inputs=2, function="mul"))
        return x

    def batch_norm(self, name: str, x: Shape) -> Shape:
        c, s = x
        self.ops.append(Norm(name=name, elements=c * s * s, channels=c, mode="batch"))
        return x

    def squeeze_excite(self, prefix: str, x: Shape, squeeze: int) -> Shape:
        pooled = self.global_pool(f"{prefix}.avgpool", x)
        hidden = self.conv(f"{prefix}.fc1", pooled, squeeze, 1)
        self.conv(f"{prefix}.fc2", hidden, x[0], 1)
        return self.mul(f"{prefix}.scale", x)

    def linear(self, name: str, fin: int, fout: int, *, tokens: int = 1, bias: bool = True) -> None:
        self.ops.append(
            Linear(name=name, in_features=fin, out_features=fout, tokens=tokens, bias=bias)
        )

    def layer_norm(self, name: str, tokens: int, hidden: int) -> None:
        self.ops.append(Norm(name=name, elements=tokens * hidden, channels=hidden, mode="layer"))

    def network(self, name: str) -> Network:
        return Network(name=name, ops=tuple(self.ops))


def _concat(*xs: Shape) -> Shape:
    sizes = {s for _, s in xs}
    if len(sizes) != 1:  # pragma: no cover - a builder bug, not bad input
        raise AssertionError(f"concatenated tensors differ in spatial size {xs}")
    return sum(c for c, _ in xs), xs[0][1]


# ------------------------------------------------------------------------------------------------
# CNNs


def alexnet(*, resolution: int = 224, widths: Sequence[int] | None = None) -> Network:
    """AlexNet, torchvision ``alexnet`` (the one-GPU variant of Krizhevsky et al. 2012 [1]).

    Convs 64-192-384-256-256 (11x11/4, 5x5, 3x3 x3), 3x3/2 max pools, adaptive 6x6 average pool,
    classifier 9216-4096-4096-1000. ``widths`` sets the five conv widths; the hidden FC width
    stays 4096. torchvision: 0.71 GFLOPS (MACs), 61,100,840 parameters.

    [1] torchvision/models/alexnet.py; Krizhevsky, "One weird trick..." arXiv:1404.5997.
    """
    res, w = _cnn_args("alexnet", resolution, widths)
    b = _Builder()
    with _resolution_guard("alexnet", res):
        x = b.conv("features.0", (3, res), w[0], 11, stride=4, pad=2)
        x = b.pool("features.2", x, 3, stride=2)
        x = b.conv("features.3", x, w[1], 5, pad=2)
        x = b.pool("features.5", x, 3, stride=2)
        x = b.conv("features.6", x, w[2], 3, pad=1)
        x = b.conv("features.8", x, w[3], 3, pad=1)
        x = b.conv("features.10", x, w[4], 3, pad=1)
        x = b.pool("features.12", x, 3, stride=2)
        c, s = b.adaptive_avg_pool("avgpool", x, 6)
        b.linear("classifier.1", c * s * s, 4096)
        b.linear("classifier.4", 4096, 4096)
        b.linear("classifier.6", 4096, NUM_CLASSES)
        return b.network("alexnet")


def vgg16(*, resolution: int = 224, widths: Sequence[int] | None = None) -> Network:
    """VGG-16 (configuration D, no batch norm), torchvision ``vgg16`` / Simonyan & Zisserman 2015.

    Five blocks of 2, 2, 3, 3, 3 3x3 convs (64, 128, 256, 512, 512 channels, biases), each
    followed by a 2x2/2 max pool; adaptive 7x7 average pool; classifier 25088-4096-4096-1000.
    ``widths`` sets the five block widths. torchvision: 15.47 GFLOPS (MACs), 138,357,544
    parameters.
    """
    res, w = _cnn_args("vgg16", resolution, widths)
    b = _Builder()
    with _resolution_guard("vgg16", res):
        x: Shape = (3, res)
        idx = 0
        for stage, convs in enumerate((2, 2, 3, 3, 3)):
            for _ in range(convs):
                x = b.conv(f"features.{idx}", x, w[stage], 3, pad=1)
                idx += 2  # conv, ReLU
            x = b.pool(f"features.{idx}", x, 2, stride=2)
            idx += 1
        c, s = b.adaptive_avg_pool("avgpool", x, 7)
        b.linear("classifier.0", c * s * s, 4096)
        b.linear("classifier.3", 4096, 4096)
        b.linear("classifier.6", 4096, NUM_CLASSES)
        return b.network("vgg16")


_INCEPTION: dict[str, tuple[int, int, int, int, int, int]] = {
    # ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5 (a 3x3 conv in torchvision), pool_proj
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _inception(b: _Builder, p: str, x: Shape, channels: Sequence[int]) -> Shape:
    c1, c3r, c3, c5r, c5, proj = channels
    y1 = b.conv(f"{p}.branch1", x, c1, 1)
    y2 = b.conv(f"{p}.branch2.0", x, c3r, 1)
    y2 = b.conv(f"{p}.branch2.1", y2, c3, 3, pad=1)
    y3 = b.conv(f"{p}.branch3.0", x, c5r, 1)
    y3 = b.conv(f"{p}.branch3.1", y3, c5, 3, pad=1)
    y4 = b.pool(f"{p}.branch4.0", x, 3, stride=1, pad=1, ceil=True)
    y4 = b.conv(f"{p}.branch4.1", y4, proj, 1)
    return _concat(y1, y2, y3, y4)


def googlenet(*, resolution: int = 224, widths: Sequence[int] | None = None) -> Network:
    """GoogLeNet (Inception v1), torchvision ``googlenet`` (Szegedy et al. 2015) at inference.

    As torchvision: BN after every conv (folded here), the "5x5" branch is a 3x3 conv (a known
    torchvision deviation its published numbers include), ceil-mode max pools, no auxiliary
    classifiers (inference), and the input-normalization transform omitted. ``widths`` sets the
    stem (conv1 and conv2), conv3, and the outputs of the inception 3, 4 and 5 groups; every
    branch of a group scales by ``widths[i] / DEFAULT_WIDTHS["googlenet"][i]``.
    torchvision: 1.50 GFLOPS (MACs), 6,624,904 parameters.
    """
    res, w = _cnn_args("googlenet", resolution, widths)
    r = _ratios("googlenet", w)
    b = _Builder()

    def module(name: str, x: Shape, ratio: float) -> Shape:
        return _inception(b, name, x, [_scale(c, ratio) for c in _INCEPTION[name[-2:]]])

    with _resolution_guard("googlenet", res):
        x = b.conv("conv1", (3, res), w[0], 7, stride=2, pad=3)
        x = b.pool("maxpool1", x, 3, stride=2, ceil=True)
        x = b.conv("conv2", x, w[0], 1)
        x = b.conv("conv3", x, w[1], 3, pad=1)
        x = b.pool("maxpool2", x, 3, stride=2, ceil=True)
        for m in ("3a", "3b"):
            x = module(f"inception{m}", x, r[2])
        x = b.pool("maxpool3", x, 3, stride=2, ceil=True)
        for m in ("4a", "4b", "4c", "4d", "4e"):
            x = module(f"inception{m}", x, r[3])
        x = b.pool("maxpool4", x, 2, stride=2, ceil=True)
        for m in ("5a", "5b"):
            x = module(f"inception{m}", x, r[4])
        x = b.global_pool("avgpool", x)
        b.linear("fc", x[0], NUM_CLASSES)
        return b.network("googlenet")


def _resnet(
    name: str, blocks: Sequence[int], bottleneck: bool, resolution: int, widths: object
) -> Network:
    res, w = _cnn_args(name, resolution, widths)
    b = _Builder()
    with _resolution_guard(name, res):
        x = b.conv("conv1", (3, res), w[0], 7, stride=2, pad=3)
        x = b.pool("maxpool", x, 3, stride=2, pad=1)
        for stage, count in enumerate(blocks, start=1):
            out = w[stage]
            for i in range(count):
                p = f"layer{stage}.{i}"
                stride = 2 if stage > 1 and i == 0 else 1
                if bottleneck:  # torchvision v1.5: the stride sits on the 3x3 conv
                    mid = max(1, round(out / 4))
                    y = b.conv(f"{p}.conv1", x, mid, 1)
                    y = b.conv(f"{p}.conv2", y, mid, 3, stride=stride, pad=1)
                    y = b.conv(f"{p}.conv3", y, out, 1)
                else:
                    y = b.conv(f"{p}.conv1", x, out, 3, stride=stride, pad=1)
                    y = b.conv(f"{p}.conv2", y, out, 3, pad=1)
                identity = x
                if stride != 1 or x[0] != out:
                    identity = b.conv(f"{p}.downsample.0", x, out, 1, stride=stride)
                x = b.add(f"{p}.add", y, identity)
        x = b.global_pool("avgpool", x)
        b.linear("fc", x[0], NUM_CLASSES)
        return b.network(name)


def resnet18(*, resolution: int = 224, widths: Sequence[int] | None = None) -> Network:
    """ResNet-18, torchvision ``resnet18`` (He et al. 2016): basic blocks [2, 2, 2, 2].

    ``widths``: stem conv1, then the output of layer1..layer4 (64, 64, 128, 256, 512); a 1x1
    projection shortcut appears wherever the stride or the channel count changes.
    torchvision: 1.81 GFLOPS (MACs), 11,689,512 parameters.
    """
    return _resnet("resnet18", (2, 2, 2, 2), False, resolution, widths)


def resnet50(*, resolution: int = 224, widths: Sequence[int] | None = None) -> Network:
    """ResNet-50 v1.5, torchvision ``resnet50`` (He et al. 2016): bottlenecks [3, 4, 6, 3].

    ``widths``: stem conv1, then the output of layer1..layer4 (64, 256, 512, 1024, 2048); the
    bottleneck's inner width is a quarter of its output. Stride 2 on the 3x3 conv (v1.5).
    torchvision: 4.09 GFLOPS (MACs), 25,557,032 parameters.
    """
    return _resnet("resnet50", (3, 4, 6, 3), True, resolution, widths)


def mobilenet_v1(*, resolution: int = 224, widths: Sequence[int] | None = None) -> Network:
    """MobileNet-V1 1.0-224, Howard et al. 2017 (arXiv:1704.04861, Table 1).

    3x3/2 conv to 32, then 13 depthwise-separable blocks (3x3 depthwise + 1x1 pointwise, BN
    folded) to 64, 128 (x2), 256 (x2), 512 (x6), 1024 (x2); global average pool; FC 1024-1000.
    The paper's Table 1 marks the last depthwise conv "s2" but keeps 7x7 outputs; as every
    implementation (Keras, TF-slim) it has stride 1 here. ``widths``: conv1, then the pointwise
    width at each resolution 112, 56, 28, 14, 7. Paper: 569 M mult-adds, 4.2 M parameters
    (Keras ``MobileNet``: 4,231,976 trainable).
    """
    res, w = _cnn_args("mobilenet_v1", resolution, widths)
    # (stage of the pointwise output width, depthwise stride)
    plan = [(1, 1), (2, 2), (2, 1), (3, 2), (3, 1), (4, 2), *[(4, 1)] * 5, (5, 2), (5, 1)]
    b = _Builder()
    with _resolution_guard("mobilenet_v1", res):
        x = b.conv("conv1", (3, res), w[0], 3, stride=2, pad=1)
        for i, (stage, stride) in enumerate(plan):
            x = b.dwconv(f"blocks.{i}.dw", x, 3, stride=stride)
            x = b.conv(f"blocks.{i}.pw", x, w[stage], 1)
        x = b.global_pool("avgpool", x)
        b.linear("fc", x[0], NUM_CLASSES)
        return b.network("mobilenet_v1")


# expansion t, output channels c, blocks n, first stride s (Sandler et al. 2018, Table 2)
_MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1))
_MOBILENET_V2 += ((6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(*, resolution: int = 224, widths: Sequence[int] | None = None) -> Network:
    """MobileNet-V2 1.0, torchvision ``mobilenet_v2`` (Sandler et al. 2018, Table 2).

    Stem 3x3/2 conv to 32; inverted residuals (1x1 expand by t, 3x3 depthwise, 1x1 linear
    project; residual add on every block but the first of a group); 1x1 conv to 1280; global
    average pool; classifier 1280-1000. ``widths``: stem, the seven bottleneck groups, the last
    conv (32, 16, 24, 32, 64, 96, 160, 320, 1280); expansion widths are ``in * t`` (no rounding
    to multiples of 8). torchvision: 0.30 GFLOPS (MACs), 3,504,872 parameters.
    """
    res, w = _cnn_args("mobilenet_v2", resolution, widths)
    b = _Builder()
    with _resolution_guard("mobilenet_v2", res):
        x = b.conv("features.0", (3, res), w[0], 3, stride=2, pad=1)
        idx = 1
        for group, (t, _, n, s) in enumerate(_MOBILENET_V2, start=1):
            for i in range(n):
                p = f"features.{idx}"
                y, j = x, 0
                if t != 1:
                    y = b.conv(f"{p}.conv.0", y, x[0] * t, 1)
                    j = 1
                y = b.dwconv(f"{p}.conv.{j}", y, 3, stride=s if i == 0 else 1)
                y = b.conv(f"{p}.conv.{j + 1}", y, w[group], 1)
                x = b.add(f"{p}.add", y, x) if i > 0 else y
                idx += 1
        x = b.conv(f"features.{idx}", x, w[-1], 1)
        x = b.global_pool("avgpool", x)
        b.linear("classifier.1", x[0], NUM_CLASSES)
        return b.network("mobilenet_v2")


# features index -> (squeeze, expand) per branch, and the widths stage it belongs to
_FIRE = {3: (16, 64), 4: (16, 64), 6: (32, 128), 7: (32, 128)}
_FIRE |= {9: (48, 192), 10: (48, 192), 11: (64, 256), 12: (64, 256)}
_FIRE_STAGE = {3: 1, 4: 1, 6: 2, 7: 2, 9: 3, 10: 3, 11: 3, 12: 3}


def squeezenet1_1(*, resolution: int = 224, widths: Sequence[int] | None = None) -> Network:
    """SqueezeNet 1.1, torchvision ``squeezenet1_1`` (Iandola et al. 2016; the v1.1 variant).

    3x3/2 conv to 64; fire modules (1x1 squeeze, then 1x1 and 3x3 expands concatenated) at 55,
    27 and 13 pixels with ceil-mode 3x3/2 max pools between; classifier 1x1 conv 512-1000 and
    global average pool. All convs have biases (no BN). ``widths``: conv1 and the fire outputs
    at each resolution (64, 128, 256, 512); fire squeeze and expand widths scale by
    ``widths[i] / DEFAULT_WIDTHS["squeezenet1_1"][i]``. torchvision: 0.35 GFLOPS (MACs),
    1,235,496 parameters.
    """
    res, w = _cnn_args("squeezenet1_1", resolution, widths)
    r = _ratios("squeezenet1_1", w)
    b = _Builder()
    with _resolution_guard("squeezenet1_1", res):
        x = b.conv("features.0", (3, res), w[0], 3, stride=2)
        for idx in range(2, 13):
            if idx in (2, 5, 8):
                x = b.pool(f"features.{idx}", x, 3, stride=2, ceil=True)
                continue
            ratio = r[_FIRE_STAGE[idx]]
            squeeze, expand = (_scale(c, ratio) for c in _FIRE[idx])
            sq = b.conv(f"features.{idx}.squeeze", x, squeeze, 1)
            e1 = b.conv(f"features.{idx}.expand1x1", sq, expand, 1)
            e3 = b.conv(f"features.{idx}.expand3x3", sq, expand, 3, pad=1)
            x = _concat(e1, e3)
        x = b.conv("classifier.1", x, NUM_CLASSES, 1)
        b.global_pool("classifier.3", x)
        return b.network("squeezenet1_1")


def densenet121(*, resolution: int = 224, widths: Sequence[int] | None = None) -> Network:
    """DenseNet-121, torchvision ``densenet121`` (Huang et al. 2017): blocks [6, 12, 24, 16].

    Growth 32, bottleneck 4*32: each dense layer is BN-ReLU-1x1 conv-BN-ReLU-3x3 conv, its output
    concatenated to its input; transitions are BN-ReLU-1x1 conv (halving channels)-2x2 average
    pool. The pre-activation BNs act on concatenated inputs and cannot be folded, so ``norm1``,
    the transition ``norm`` and the final ``norm5`` are emitted as batch-norm ops; ``norm0`` and
    ``norm2`` follow a conv and are folded. ``widths``: conv0 and each dense block's output (64,
    256, 512, 1024, 1024); a block's growth rate is ``round((widths[i] - in) / layers)``.
    torchvision: 2.83 GFLOPS (MACs), 7,978,856 parameters.
    """
    res, w = _cnn_args("densenet121", resolution, widths)
    b = _Builder()
    with _resolution_guard("densenet121", res):
        x = b.conv("features.conv0", (3, res), w[0], 7, stride=2, pad=3)
        x = b.pool("features.pool0", x, 3, stride=2, pad=1)
        for block, layers in enumerate((6, 12, 24, 16), start=1):
            growth = max(1, round((w[block] - x[0]) / layers))
            for layer in range(1, layers + 1):
                p = f"features.denseblock{block}.denselayer{layer}"
                b.batch_norm(f"{p}.norm1", x)
                y = b.conv(f"{p}.conv1", x, 4 * growth, 1)
                y = b.conv(f"{p}.conv2", y, growth, 3, pad=1, bias=False)
                x = _concat(x, y)
            if block < 4:
                p = f"features.transition{block}"
                b.batch_norm(f"{p}.norm", x)
                x = b.conv(f"{p}.conv", x, max(1, x[0] // 2), 1, bias=False)
                x = b.pool(f"{p}.pool", x, 2, stride=2, mode="avg")
        b.batch_norm("features.norm5", x)
        x = b.global_pool("avgpool", x)
        b.linear("classifier", x[0], NUM_CLASSES)
        return b.network("densenet121")


# expansion, kernel, first stride, output channels, layers (Tan & Le 2019, Table 1)
_EFFICIENTNET_B0 = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3))
_EFFICIENTNET_B0 += ((6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


def efficientnet_b0(*, resolution: int = 224, widths: Sequence[int] | None = None) -> Network:
    """EfficientNet-B0, torchvision ``efficientnet_b0`` (Tan & Le 2019, Table 1).

    Stem 3x3/2 conv to 32; MBConv blocks (1x1 expand by 6 except the first group, kxk depthwise,
    squeeze-excite with ``max(1, in // 4)`` squeeze channels, 1x1 linear project, residual add
    on every block but the first of a group; SiLU and sigmoid fused); 1x1 conv to 1280; global
    average pool; classifier 1280-1000. ``widths``: stem, the seven MBConv groups, the head
    conv (32, 16, 24, 40, 80, 112, 192, 320, 1280). torchvision: 0.39 GFLOPS (MACs),
    5,288,548 parameters.
    """
    res, w = _cnn_args("efficientnet_b0", resolution, widths)
    b = _Builder()
    with _resolution_guard("efficientnet_b0", res):
        x = b.conv("features.0", (3, res), w[0], 3, stride=2, pad=1)
        for group, (t, k, s, _, n) in enumerate(_EFFICIENTNET_B0, start=1):
            for i in range(n):
                p = f"features.{group}.{i}"
                cin = x[0]
                y, j = x, 0
                if t != 1:
                    y = b.conv(f"{p}.block.0", y, cin * t, 1)
                    j = 1
                y = b.dwconv(f"{p}.block.{j}", y, k, stride=s if i == 0 else 1)
                y = b.squeeze_excite(f"{p}.block.{j + 1}", y, max(1, cin // 4))
                y = b.conv(f"{p}.block.{j + 2}", y, w[group], 1)
                x = b.add(f"{p}.add", y, x) if i > 0 else y
        x = b.conv("features.8", x, w[-1], 1)
        x = b.global_pool("avgpool", x)
        b.linear("classifier.1", x[0], NUM_CLASSES)
        return b.network("efficientnet_b0")


# ------------------------------------------------------------------------------------------------
# Transformers


def _transformer_block(
    b: _Builder,
    p: str,
    *,
    tokens: int,
    keys: int,
    hidden: int,
    heads: int,
    ffn: int,
    pre_norm: bool,
) -> None:
    """One encoder/decoder block: ``tokens`` queries attending to ``keys`` keys."""
    head_dim = hidden // heads
    if pre_norm:
        b.layer_norm(f"{p}.norm1", tokens, hidden)
    b.linear(f"{p}.attn.qkv", hidden, 3 * hidden, tokens=tokens)
    b.ops.append(MatMul(name=f"{p}.attn.qk", m=tokens, k=head_dim, n=keys, count=heads))
    b.ops.append(Softmax(name=f"{p}.attn.softmax", rows=heads * tokens, row_length=keys))
    b.ops.append(MatMul(name=f"{p}.attn.av", m=tokens, k=keys, n=head_dim, count=heads))
    b.linear(f"{p}.attn.proj", hidden, hidden, tokens=tokens)
    b.ops.append(Elementwise(name=f"{p}.add1", elements=tokens * hidden, inputs=2))
    b.layer_norm(f"{p}.norm{2 if pre_norm else 1}", tokens, hidden)
    b.linear(f"{p}.mlp.fc1", hidden, ffn, tokens=tokens)
    b.linear(f"{p}.mlp.fc2", ffn, hidden, tokens=tokens)
    b.ops.append(Elementwise(name=f"{p}.add2", elements=tokens * hidden, inputs=2))
    if not pre_norm:
        b.layer_norm(f"{p}.norm2", tokens, hidden)


def vit_b16(
    *,
    resolution: int = 224,
    hidden: int = 768,
    heads: int = 12,
    ffn: int = 3072,
    layers: int = 12,
) -> Network:
    """ViT-B/16, torchvision ``vit_b_16`` / timm ``vit_base_patch16_224`` (Dosovitskiy et al.).

    Patch embedding as a 16x16/16 conv to ``hidden`` (196 patches at 224 plus the class token:
    197 tokens), position-embedding add, ``layers`` pre-LN blocks, final LayerNorm over all
    tokens, and the classification head 768-1000 on the class token only. ``resolution`` must
    be a multiple of 16. torchvision: 17.56 GFLOPS (MACs), 86,567,656 parameters (of which the
    class token, 768, and the position embedding, 197*768, are not operations here).
    """
    res = _check_int(resolution, "resolution")
    if res % 16:
        raise InputError(f"resolution must be a multiple of 16, got {res}", key="resolution")
    _transformer_args(hidden, heads, ffn, layers)
    tokens = (res // 16) ** 2 + 1
    b = _Builder()
    b.conv("patch_embed.proj", (3, res), hidden, 16, stride=16)
    b.ops.append(Elementwise(name="pos_embed.add", elements=tokens * hidden, inputs=2))
    for i in range(layers):
        _transformer_block(
            b,
            f"blocks.{i}",
            tokens=tokens,
            keys=tokens,
            hidden=hidden,
            heads=heads,
            ffn=ffn,
            pre_norm=True,
        )
    b.layer_norm("norm", tokens, hidden)
    b.linear("head", hidden, NUM_CLASSES)
    return b.network("vit_b16")


def bert_base(
    *,
    seq_len: int = 128,
    hidden: int = 768,
    heads: int = 12,
    ffn: int = 3072,
    layers: int = 12,
) -> Network:
    """BERT-base encoder, HuggingFace ``bert-base-uncased`` config (Devlin et al. 2019).

    Encoder only: the embedding sum (word + position + token type) and its LayerNorm, then
    ``layers`` post-LN blocks (attention, add, LayerNorm, FFN 768-3072-768 with GELU, add,
    LayerNorm). No pooler and no MLM/NSP heads. Of BERT-base's 109,482,240 parameters the
    embedding tables (23,835,648) and the pooler (590,592) are therefore not counted.
    """
    seq = _check_int(seq_len, "seq_len")
    _transformer_args(hidden, heads, ffn, layers)
    b = _Builder()
    b.ops.append(Elementwise(name="embed.add", elements=seq * hidden, inputs=3))
    b.layer_norm("embed.norm", seq, hidden)
    for i in range(layers):
        _transformer_block(
            b,
            f"blocks.{i}",
            tokens=seq,
            keys=seq,
            hidden=hidden,
            heads=heads,
            ffn=ffn,
            pre_norm=False,
        )
    return b.network("bert_base")


_LOGITS = ("last", "all", "none")


def _gpt2(
    name: str,
    *,
    tokens: int,
    keys: int,
    hidden: int,
    heads: int,
    ffn: int,
    layers: int,
    vocab: int,
    logits: str,
) -> Network:
    _transformer_args(hidden, heads, ffn, layers)
    _check_int(vocab, "vocab")
    if logits not in _LOGITS:
        raise InputError(f"logits must be one of {_LOGITS}, got {logits!r}", key="logits")
    b = _Builder()
    b.ops.append(Elementwise(name="embed.add", elements=tokens * hidden, inputs=2))
    for i in range(layers):
        _transformer_block(
            b,
            f"blocks.{i}",
            tokens=tokens,
            keys=keys,
            hidden=hidden,
            heads=heads,
            ffn=ffn,
            pre_norm=True,
        )
    b.layer_norm("norm", tokens, hidden)
    if logits != "none":
        b.linear("lm_head", hidden, vocab, tokens=tokens if logits == "all" else 1, bias=False)
    return b.network(name)


def gpt2_prefill(
    *,
    seq_len: int = 128,
    hidden: int = 768,
    heads: int = 12,
    ffn: int = 3072,
    layers: int = 12,
    vocab: int = GPT2_VOCAB,
    logits: str = "last",
) -> Network:
    """GPT-2 small prompt processing, HuggingFace ``gpt2`` config (Radford et al. 2019).

    ``seq_len`` prompt tokens through ``layers`` pre-LN blocks with causal attention (counted as
    the full ``seq x seq`` products), the final LayerNorm, and the LM head tied to the token
    embedding (768-50257, no bias). ``logits="last"`` (default) applies the head to the last
    token only, as a generation engine does to sample the next token; ``"all"`` to every token
    (scoring / training-style forward), ``"none"`` omits it. GPT-2 small has 124,439,808
    parameters; the LM head weight counted here is the token embedding, so only the position
    embedding (1024*768 = 786,432) is not counted.
    """
    seq = _check_int(seq_len, "seq_len")
    return _gpt2(
        "gpt2_prefill",
        tokens=seq,
        keys=seq,
        hidden=hidden,
        heads=heads,
        ffn=ffn,
        layers=layers,
        vocab=vocab,
        logits=logits,
    )


def gpt2_decode(
    *,
    kv_len: int = 1024,
    hidden: int = 768,
    heads: int = 12,
    ffn: int = 3072,
    layers: int = 12,
    vocab: int = GPT2_VOCAB,
    logits: str = "last",
) -> Network:
    """GPT-2 small generating one token against a KV cache of ``kv_len`` earlier tokens.

    Same model as :func:`gpt2_prefill`; every linear runs on 1 token, the new token's K and V are
    appended to the cache (free), and attention uses ``kv_len + 1`` keys:
    ``MatMul(m=1, k=64, n=kv_len+1, count=12)``, ``Softmax(rows=12, row_length=kv_len+1)`` and
    ``MatMul(m=1, k=kv_len+1, n=64, count=12)``. The LM head runs on the one token (``logits``
    as in :func:`gpt2_prefill`; "all" is the same here). GPT-2's trained context is 1024
    positions; ``kv_len`` is not capped at it.
    """
    kv = _check_int(kv_len, "kv_len", minimum=0)
    return _gpt2(
        "gpt2_decode",
        tokens=1,
        keys=kv + 1,
        hidden=hidden,
        heads=heads,
        ffn=ffn,
        layers=layers,
        vocab=vocab,
        logits=logits,
    )


# ------------------------------------------------------------------------------------------------
# Registry

ZOO: dict[str, Callable[..., Network]] = {
    "alexnet": alexnet,
    "vgg16": vgg16,
    "googlenet": googlenet,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v1": mobilenet_v1,
    "mobilenet_v2": mobilenet_v2,
    "squeezenet1_1": squeezenet1_1,
    "densenet121": densenet121,
    "efficientnet_b0": efficientnet_b0,
    "vit_b16": vit_b16,
    "bert_base": bert_base,
    "gpt2_prefill": gpt2_prefill,
    "gpt2_decode": gpt2_decode,
    **DECODERS,
}
"""Zoo name -> builder; builders take keyword arguments only (see each builder's docstring)."""


def zoo_names() -> list[str]:
    """The zoo's workload names, sorted."""
    return sorted(ZOO)


def zoo_network(name: str, **kwargs: object) -> Network:
    """Build the zoo workload ``name`` with builder keyword arguments ``kwargs``.

    Unknown names raise :class:`InputError`; unknown keywords raise ``TypeError``; bad values
    raise :class:`InputError` naming the keyword.
    """
    builder = ZOO.get(name) if isinstance(name, str) else None
    if builder is None:
        raise InputError(
            f"unknown workload {name!r}; expected a zoo name ({', '.join(sorted(ZOO))}), "
            "a .yaml or an .onnx path",
            key="workload",
        )
    return builder(**kwargs)


__all__ = ["DEFAULT_WIDTHS", "STAGE_NAMES", "ZOO", "zoo_names", "zoo_network"]
