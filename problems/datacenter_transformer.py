"""Datacenter transformer inference: BERT-base (batch 16) and GPT-2 decode on a large array.

Throughput per mm^2 is maximized against energy per inference; the array, buffers, bandwidth,
DRAM type, precision and vector unit all vary.
"""

from typing import ClassVar

from evodse.search.problem import AcceleratorProblem
from evodse.workload import load_workload


class DatacenterTransformer(AcceleratorProblem):
    workloads = (load_workload("bert_base", batch=16), load_workload("gpt2_decode", batch=16))
    base = "tpu_v1"
    space: ClassVar[dict] = {
        "pe_rows": {"pow2": [32, 256]},
        "pe_cols": {"pow2": [32, 256]},
        "dataflow": ["ws", "os", "auto"],
        "ifmap_sram_kib": {"pow2": [1024, 32768]},
        "weight_sram_kib": {"pow2": [256, 8192]},
        "ofmap_sram_kib": {"pow2": [512, 8192]},
        "dram_bandwidth_gbps": [34, 100, 300, 900],
        "dram_type": ["ddr4", "hbm2", "hbm3"],
        "precision_bits": [8, 16],
        "vector_lanes": {"pow2": [64, 1024]},
    }
    objectives = ("perf_per_area", "energy")
    constraints = ("area_mm2 <= 400", "power_w <= 75")
