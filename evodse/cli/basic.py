"""``evodse evaluate``, ``evodse workload show`` and ``evodse list``."""

from __future__ import annotations

import argparse

from evodse.cli.common import add_workload_arguments, print_json, print_table, resolve_workload
from evodse.hardware import DATAFLOW_CHOICES, load_hardware, shipped_designs
from evodse.hardware.protocol import TEMPLATES, get_template
from evodse.hardware.template import categorical_choices
from evodse.model import evaluate
from evodse.model.report import evaluation_dict


def register_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="cost of one workload on one hardware design")
    p.add_argument("--hardware", required=True, help="hardware .yaml or a shipped design name")
    p.add_argument("--workload", required=True, help="zoo name, workload .yaml or .onnx")
    add_workload_arguments(p)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    hw = load_hardware(args.hardware)
    get_template(hw.template).require(
        "layer_costs", what="evodse evaluate (a per-layer report)", source=args.hardware
    )
    net = resolve_workload(args.workload, args)
    result = evaluation_dict(evaluate(hw, net), name=hw.name)
    if args.json:
        print_json(result)
        return 0
    rows = [
        [
            layer["name"],
            layer["op"],
            layer["dataflow"] or "vec",
            layer["macs"],
            int(layer["compute_cycles"]),
            int(layer["memory_cycles"]),
            int(layer["cycles"]),
            layer["latency_s"] * 1e6,
            layer["energy_pj"] * 1e-6,
            layer["dram_bytes"] / 1024,
            layer["utilization"],
        ]
        for layer in result["layers"]
    ]
    headers = ["layer", "op", "flow", "MACs", "compute_cyc", "memory_cyc", "cycles"]
    headers += ["latency_us", "energy_uJ", "DRAM_KiB", "util"]
    print(f"{net.name} (batch {net.batch}) on {hw.name}")
    print_table(headers, rows)
    t = result["total"]
    print(
        f"\ntotal: {t['macs']:,} MACs, {t['cycles']:,.0f} cycles, "
        f"{t['latency_s'] * 1e3:.4g} ms ({1 / t['latency_s']:.4g} inferences/s x batch), "
        f"{t['energy_pj'] * 1e-9:.4g} mJ, {t['power_w']:.3g} W ({t['chip_power_w']:.3g} W on "
        f"chip), {t['area_mm2']:.4g} mm^2, array utilization {t['utilization']:.1%}"
    )
    return 0


def register_workload(sub) -> None:
    p = sub.add_parser("workload", help="inspect workloads")
    wsub = p.add_subparsers(dest="workload_command", required=True, parser_class=type(p))
    show = wsub.add_parser("show", help="layers with dimensions and MACs")
    show.add_argument("workload", help="zoo name, workload .yaml or .onnx")
    add_workload_arguments(show)
    show.add_argument("--json", action="store_true", help="one JSON object on stdout")
    show.set_defaults(handler=_workload_show)


def _workload_show(args: argparse.Namespace) -> int:
    net = resolve_workload(args.workload, args)
    layers = [
        {
            "name": op.name,
            "op": op.kind,
            "dims": op.dims(),
            "macs": op.macs * net.batch,
            "params": op.params,
            "input_elems": op.input_elems * net.batch,
            "weight_elems": op.weight_elems,
            "output_elems": op.output_elems * net.batch,
        }
        for op in net.ops
    ]
    total = {"macs": net.macs, "params": net.params, "layers": len(net.ops)}
    if args.json:
        print_json({"workload": net.name, "batch": net.batch, "layers": layers, "total": total})
        return 0
    rows = [
        [
            la["name"],
            la["op"],
            " ".join(f"{k}={v}" for k, v in op.dims(explicit=False).items()),
            la["macs"],
            la["params"],
        ]
        for la, op in zip(layers, net.ops, strict=True)
    ]
    print(f"{net.name} (batch {net.batch})")
    print_table(["layer", "op", "dims", "MACs", "params"], rows)
    print(f"\ntotal: {net.macs:,} MACs, {net.params:,} params, {len(net.ops)} layers")
    return 0


def register_list(sub) -> None:
    p = sub.add_parser(
        "list",
        help="zoo workloads, shipped hardware, dataflows, DRAM types, fusion modes, templates",
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    from evodse.workload.zoo import zoo_names

    data = {
        "workloads": zoo_names(),
        "hardware": shipped_designs(),
        "dataflows": list(DATAFLOW_CHOICES),
        "dram_types": list(categorical_choices()["dram_type"]),
        "fusion": list(categorical_choices()["fusion"]),
        "templates": {name: t.summary for name, t in TEMPLATES.items()},
    }
    if args.json:
        print_json(data)
        return 0
    for key, values in data.items():
        print(f"{key}: {', '.join(values)}")
    return 0
