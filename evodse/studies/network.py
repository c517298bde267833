"""Network improvement: a zoo CNN's stage widths become decision variables.

The decision vector is the hardware (whatever ``space:`` varies; nothing means the base design is
fixed) followed by one variable per stage of the CNN (:data:`~evodse.workload.zoo.STAGE_NAMES`),
``width.<stage>``, whose values are the stage's allowed output channel counts: the multiples of
``multiple`` (default 8) within ``[ceil((1 - bound) w), floor((1 + bound) w)]`` of the published
width ``w`` (``bound`` default 0.25), plus ``w`` itself (so the original network is always in the
space; a stage with no other multiple in range stays fixed). ``multiple: 32`` aligns widths with a
32-column array. Networks are rebuilt by the zoo builder's ``widths=`` keyword, which derives
every inner width (bottleneck, expansion, squeeze, inception branches) and input channel count
from the stage widths, so residual adds and concatenations stay consistent. Two adjacent stages
whose difference would change the topology (ResNet-18's stem and ``layer1``: a projection
shortcut appears when they differ) share one variable, so every candidate has the original's
layers, in order, with the original's names and operation types. Widths within ``+-bound`` keep
every layer's MACs, and the total, within ``[(1 - bound)^2, (1 + bound)^2]`` of the original
(a conv's MACs scale with its input times its output channels; up to one channel of rounding in
derived inner widths).

Objectives and constraints, besides the usual ones on the network (``latency``, ``energy`` ...):

* ``params`` -> ``params_ratio``: parameters / the original's (maximized: capacity);
* ``macs`` -> ``macs_ratio``: MACs / the original's (maximized);
* ``accuracy_proxy`` -> ``accuracy_proxy`` (maximized): by default
  :func:`capacity_proxy`, ``sqrt(params_ratio * macs_ratio)``. It is a proxy: width changes move
  accuracy roughly with capacity, and nothing here trains a network. Replace it with your own
  callable ``proxy(network) -> float`` (positive, higher is better), e.g. a lookup of measured
  accuracies: set the class attribute :attr:`NetworkProblem.accuracy_proxy` in a subclass, or
  ``space: {widths: {proxy: "my_module:my_proxy"}}`` in a YAML.

Constraints may name ``params_ratio``, ``macs_ratio`` and ``accuracy_proxy``, e.g.
``"macs_ratio <= 1.0"``. Settings go under ``space: {widths: {...}}``::

    problem: evodse.studies.network:NetworkProblem
    workloads: [efficientnet_b0]
    base: edge                       # fixed hardware; add hardware keys to search it jointly
    space:
      widths: {bound: 0.25, multiple: 8}
    objectives: [latency, params]
"""

from __future__ import annotations

import importlib
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from evodse.errors import InputError
from evodse.hardware.protocol import Accelerator, get_template
from evodse.model.cost import network_cost
from evodse.model.evaluate import evaluate
from evodse.search.objectives import workload_metrics
from evodse.search.problem import Evaluation
from evodse.search.space import DesignSpace, Parameter
from evodse.studies.joint import ExtendedProblem
from evodse.workload import Network
from evodse.workload.ops import Conv2d, Elementwise, Linear
from evodse.workload.zoo import DEFAULT_WIDTHS, STAGE_NAMES, ZOO

_CACHE_SIZE = 4096


def capacity_proxy(network: Network, reference: Network) -> float:
    """The default accuracy proxy: geometric mean of the parameter and MAC ratios."""
    return math.sqrt((network.params / reference.params) * (network.macs / reference.macs))


def stage_choices(default: int, bound: float, multiple: int) -> tuple[int, ...]:
    """Allowed widths of a stage whose published width is ``default``."""
    lo = math.ceil((1 - bound) * default - 1e-9)
    hi = math.floor((1 + bound) * default + 1e-9)
    first = -(-max(lo, 1) // multiple) * multiple
    values = set(range(first, hi + 1, multiple)) | {default}
    return tuple(sorted(v for v in values if v >= 1))


def zoo_reference(net: Network) -> tuple[str, int]:
    """``(zoo name, resolution)`` of a zoo CNN at its published widths, or an InputError."""
    name = net.name
    if name not in STAGE_NAMES:
        raise InputError(
            f"network improvement needs a zoo CNN with stage widths ({', '.join(STAGE_NAMES)}), "
            f"got {name!r}",
            key="workloads",
        )
    first = net.ops[0]
    resolution = first.in_h if isinstance(first, Conv2d) else 224
    rebuilt = ZOO[name](resolution=resolution)
    if [op.shape_key() for op in rebuilt.ops] != [op.shape_key() for op in net.ops]:
        raise InputError(
            f"{name} is not the zoo network at its published widths (a changed network cannot "
            "be rebuilt from stage widths)",
            key="workloads",
        )
    return name, resolution


def build(name: str, resolution: int, widths: Sequence[int], batch: int = 1) -> Network:
    """The zoo network ``name`` with stage ``widths``."""
    net = ZOO[name](resolution=resolution, widths=[int(w) for w in widths])
    return net if batch == 1 else net.with_batch(batch)


def topology(net: Network) -> list[tuple[str, str]]:
    """Layer names and operation kinds, in order."""
    return [(op.name, op.kind) for op in net.ops]


def join_errors(net: Network) -> list[str]:
    """Channel mismatches at residual adds and concatenations (empty: every join is valid).

    Residual add ``P.add``: the block's last GEMM output (``P``'s last conv that is not a
    shortcut or squeeze-excite layer) and the shortcut (``P.downsample.0``'s output, else the
    block's input: its first conv's input) must both have the add's elements. Concatenation:
    the layer after an inception or fire module, or a dense layer, must read the sum of the
    concatenated outputs.
    """
    ops = list(net.ops)
    by_name = {op.name: op for op in ops}
    errors = []
    for i, op in enumerate(ops):
        if isinstance(op, Elementwise) and op.function == "add" and op.name.endswith(".add"):
            prefix = op.name[: -len(".add")] + "."
            block = [o for o in ops[:i] if o.name.startswith(prefix) and isinstance(o, Conv2d)]
            main = [o for o in block if ".downsample" not in o.name and ".fc" not in o.name]
            if not main:
                errors.append(f"{op.name}: no main branch")
                continue
            last = main[-1]
            if last.out_channels * last.out_h * last.out_w != op.elements:
                errors.append(f"{op.name}: main branch {last.name} has another shape")
            short = by_name.get(prefix + "downsample.0")
            if short is not None:
                n_short = short.out_channels * short.out_h * short.out_w
            else:
                first = main[0]
                n_short = first.in_channels * first.in_h * first.in_w
            if n_short != op.elements:
                errors.append(f"{op.name}: shortcut has {n_short} elements, add {op.elements}")
    errors += _concat_errors(ops)
    return errors


def _concat_errors(ops: list) -> list[str]:
    """Inception (``*.branch1..4``), fire (``*.expand1x1/3x3``) and dense-layer concatenations."""
    errors = []
    convs = [o for o in ops if isinstance(o, (Conv2d, Linear))]
    groups: dict[str, list] = {}
    for o in convs:
        for marker in (".branch", ".expand"):
            if marker in o.name:
                groups.setdefault(o.name.split(marker)[0], []).append(o)
    for module, members in groups.items():
        outs = [
            o
            for o in members
            if o.name.endswith(("branch1", "branch2.1", "branch3.1", "branch4.1"))
            or ".expand" in o.name
        ]
        total = sum(o.out_channels for o in outs)
        last = max(convs.index(o) for o in members)
        nxt = convs[last + 1] if last + 1 < len(convs) else None
        if nxt is None:
            continue
        reads = nxt.in_channels if isinstance(nxt, Conv2d) else nxt.in_features
        if reads != total:
            errors.append(f"{module}: concatenation of {total} channels, {nxt.name} reads {reads}")
    dense = [o for o in convs if ".denselayer" in o.name]
    for a, b in itertools.pairwise(dense):
        if a.name.endswith("conv2") and b.name.endswith("conv1"):
            block_a, block_b = a.name.split(".denselayer")[0], b.name.split(".denselayer")[0]
            if block_a != block_b:
                continue
            start = next(o for o in dense if o.name == a.name.replace("conv2", "conv1"))
            if b.in_channels != start.in_channels + a.out_channels:
                errors.append(f"{b.name}: reads {b.in_channels}, concatenation gives more/less")
    return errors


def layer_class(op) -> str:
    """``convolution``, ``depthwise`` (grouped), ``1x1 on 1x1`` (squeeze-excite), ``linear``,
    ``matmul`` or ``vector`` (no MACs: pooling, adds, norms)."""
    if op.macs == 0:
        return "vector"
    if isinstance(op, Conv2d):
        if op.groups > 1:
            return "depthwise"
        return "1x1 on 1x1" if op.in_h == 1 and op.in_w == 1 else "convolution"
    return op.kind


def layer_utilization(network: Network, hardware: Accelerator) -> list[dict[str, Any]]:
    """Per layer: name, kind, class (:func:`layer_class`), output channels, MACs, array
    utilization, latency (s)."""
    get_template(hardware.template).require("layer_costs", what="the per-layer utilization table")
    cost = evaluate(hardware, network)
    util = cost.layer("utilization")[0]
    latency = cost.layer("latency_s")[0]
    rows = []
    for j, op in enumerate(network.ops):
        out = getattr(op, "out_channels", getattr(op, "out_features", getattr(op, "n", 0)))
        rows.append(
            {
                "layer": op.name,
                "kind": op.kind,
                "class": layer_class(op),
                "out_channels": int(out),
                "macs": int(op.macs * network.batch),
                "utilization": float(util[j]),
                "latency_s": float(latency[j]),
            }
        )
    return rows


class NetworkProblem(ExtendedProblem):
    """Stage widths of one zoo CNN (and optionally the hardware) as decision variables."""

    settings_key: ClassVar[str] = "widths"
    settings: ClassVar[dict[str, Any]] = {
        "bound": 0.25,
        "multiple": 8,
        "stages": None,
        "proxy": None,
    }
    design_objectives: ClassVar[dict[str, tuple[str, bool]]] = {
        "params": ("params_ratio", True),
        "macs": ("macs_ratio", True),
        "accuracy_proxy": ("accuracy_proxy", True),
    }
    objectives = ("latency", "params")
    #: ``proxy(network) -> float`` replacing :func:`capacity_proxy` (higher is better)
    accuracy_proxy: ClassVar[Callable[[Network], float] | None] = None

    def _configure(self, base: Accelerator, hardware: DesignSpace | None, *, source):
        opts = self.options
        where = "space.widths"
        if len(self.networks) != 1:
            raise InputError(
                "network improvement takes exactly one workload", source=source, key="workloads"
            )
        try:
            self.zoo_name, self.resolution = zoo_reference(self.networks[0])
        except InputError as exc:
            raise InputError(exc.detail, source=source, key="workloads") from None
        self.batch = self.networks[0].batch
        bound, multiple = opts["bound"], opts["multiple"]
        if not isinstance(bound, (int, float)) or isinstance(bound, bool) or not 0 < bound < 1:
            raise InputError(f"bound must be in (0, 1), got {bound!r}", source=source, key=where)
        if not isinstance(multiple, int) or isinstance(multiple, bool) or multiple < 1:
            raise InputError(
                f"multiple must be a positive integer, got {multiple!r}", source=source, key=where
            )
        self.default_widths = DEFAULT_WIDTHS[self.zoo_name]
        names = STAGE_NAMES[self.zoo_name]
        stages = opts["stages"]
        if stages is None:
            varying = list(range(len(names)))
        else:
            if not isinstance(stages, list) or not all(s in names for s in stages):
                raise InputError(
                    f"stages must be a list of stage names of {self.zoo_name}: {list(names)}",
                    source=source,
                    key=where,
                )
            varying = [names.index(s) for s in stages]
        self.reference = build(self.zoo_name, self.resolution, self.default_widths, self.batch)
        self.groups = self._tied_groups(varying, multiple)
        proxy = opts["proxy"]
        self._proxy = type(self).accuracy_proxy
        if proxy is not None:
            self._proxy = _import_callable(proxy, source=source, key=where)
        self._cache: dict[tuple[int, ...], Network] = {}
        return tuple(
            Parameter(
                name="width." + "+".join(names[i] for i in group).replace(",", "+"),
                values=stage_choices(self.default_widths[group[0]], bound, multiple),
            )
            for group in self.groups
        )

    def _tied_groups(self, varying: list[int], multiple: int) -> list[list[int]]:
        """Stage groups sharing a variable: adjacent stages with equal published widths whose
        difference would change the topology."""
        ref = topology(self.reference)
        w = list(self.default_widths)
        groups: list[list[int]] = []
        for i in varying:
            if groups and groups[-1][-1] == i - 1 and w[i] == w[i - 1]:
                trial = list(w)
                trial[i] = w[i] + multiple
                if topology(build(self.zoo_name, self.resolution, trial)) != ref:
                    groups[-1].append(i)
                    continue
            groups.append([i])
        return groups

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    # -- decoding -------------------------------------------------------------------------------

    def widths(self, X: np.ndarray) -> np.ndarray:
        """Stage widths (N, n_stages) of each row."""
        values = self.design_space.extra_values(X).astype(np.int64)
        out = np.tile(np.asarray(self.default_widths, dtype=np.int64), (len(values), 1))
        for j, group in enumerate(self.groups):
            for i in group:
                out[:, i] = values[:, j]
        return out

    def network(self, widths: Sequence[int]) -> Network:
        """The network with stage ``widths`` (cached)."""
        key = tuple(int(w) for w in widths)
        net = self._cache.get(key)
        if net is None:
            net = build(self.zoo_name, self.resolution, key, self.batch)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = net
        return net

    def proxy_value(self, net: Network) -> float:
        if self._proxy is None:
            return capacity_proxy(net, self.reference)
        return float(self._proxy(net))

    def evaluate_designs(self, X: np.ndarray) -> Evaluation:
        X = np.asarray(X, dtype=np.int64).reshape(-1, self.n_var)
        designs = self.design_space.decode(X)
        W = self.widths(X)
        n = len(X)
        keys, inverse = np.unique(W, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        per: dict[str, np.ndarray] = {}
        params = np.zeros(n)
        macs = np.zeros(n)
        proxy = np.zeros(n)
        area = np.zeros(n)
        for u, key in enumerate(keys):
            rows = np.flatnonzero(inverse == u)
            net = self.network(key)
            cost = network_cost(designs.take(rows), net)
            for metric, values in workload_metrics(cost).items():
                per.setdefault(metric, np.zeros(n))[rows] = values
            area[rows] = cost.area_mm2
            params[rows], macs[rows] = net.params, net.macs
            proxy[rows] = self.proxy_value(net)
        ref = self.reference
        extra = {
            "params_ratio": params / ref.params,
            "macs_ratio": macs / ref.macs,
            "accuracy_proxy": proxy,
            "params": params,
            "macs": macs,
        }
        if not (proxy > 0).all() or not np.isfinite(proxy).all():
            raise InputError("the accuracy proxy must return positive finite numbers")
        return self._finish(X, designs, area, {self.networks[0].name: per}, extra)

    def decision_table(self, X: np.ndarray) -> dict[str, list]:
        X = np.asarray(X, dtype=np.int64).reshape(-1, self.n_var)
        out = self.design_space.values_table(X)
        W = self.widths(X)
        for i, stage in enumerate(STAGE_NAMES[self.zoo_name]):
            out[f"width.{stage}".replace(",", "+")] = W[:, i].tolist()
        return out

    def describe(self, x: np.ndarray, name: str = "custom") -> dict[str, Any]:
        widths = self.widths(np.asarray(x)[None, :])[0]
        return {
            "hardware": self.design_space.accelerator(x, name=name).to_dict(),
            "network": {
                "workload": self.zoo_name,
                "resolution": self.resolution,
                "widths": dict(zip(STAGE_NAMES[self.zoo_name], widths.tolist(), strict=True)),
            },
        }


def _import_callable(spec: Any, *, source: str | None, key: str) -> Callable:
    if callable(spec):
        return spec
    if not isinstance(spec, str) or ":" not in spec:
        raise InputError("proxy must be 'module:function'", source=source, key=key)
    module, _, attr = spec.rpartition(":")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"cannot import {spec!r} ({exc})", source=source, key=key) from None
    if not callable(fn):
        raise InputError(f"{spec!r} is not callable", source=source, key=key)
    return fn
