"""Edge vision: a phone-class accelerator that must run MobileNet-V2 at 30 FPS and ResNet-18.

Latency (geometric mean over both networks), energy and area are traded against each other
under an area budget, a power cap and a frame-rate floor for MobileNet-V2.
"""

from typing import ClassVar

from evodse.search.problem import AcceleratorProblem


class EdgeVision(AcceleratorProblem):
    workloads = ("mobilenet_v2", "resnet18")
    base = "edge"
    space: ClassVar[dict] = {
        "pe_rows": {"pow2": [8, 64]},
        "pe_cols": {"pow2": [8, 64]},
        "dataflow": ["ws", "os", "is"],
        "ifmap_sram_kib": {"pow2": [16, 512]},
        "weight_sram_kib": {"pow2": [16, 512]},
        "ofmap_sram_kib": {"pow2": [16, 256]},
        "dram_bandwidth_gbps": [6.4, 12.8, 25.6],
        "frequency_mhz": {"range": [400, 1000], "step": 200},
    }
    objectives = ("latency", "energy", "area")
    constraints = ("area_mm2 <= 4", "power_w <= 2", "fps[mobilenet_v2] >= 30")
