"""Design spaces shared by the search tests."""

#: squeezenet1_1-sized search space: 6 * 6 * 3 * 7 * 7 * 4 = 21,168 designs, small enough to
#: evaluate exhaustively in a test, large enough that 60-100 evaluations are 0.3-0.5% of it.
SMALL_SPACE = {
    "pe_rows": {"pow2": [4, 128]},
    "pe_cols": {"pow2": [4, 128]},
    "dataflow": ["ws", "os", "is"],
    "ifmap_sram_kib": {"pow2": [16, 1024]},
    "weight_sram_kib": {"pow2": [16, 1024]},
    "dram_bandwidth_gbps": [6.4, 12.8, 25.6, 51.2],
}
