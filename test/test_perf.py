from follow_line.bench.perf import (
    closed_loop,
    machine,
    perf_markdown,
    time_render,
    vector_extensions,
)


def test_perf_figures_and_their_table(oval_file):
    figures = {"machine": machine(), "render": time_render(str(oval_file), frames=30),
               "closed_loop_expert": closed_loop([str(oval_file)], threads=1, repeats=2),
               "default_benchmark": {"network": "pilotnet", "runs": 6, "jobs": 2,
                                     "wall_time_s": 20.0, "sim_time_s": 250.0,
                                     "completed": 6}}
    row = figures["closed_loop_expert"][0]
    assert row["runs"] == 2 and row["stop_reason"] == "lap_completed"
    assert row["rtf_min"] <= row["real_time_factor"] <= row["rtf_max"]
    render = figures["render"]
    assert 0 < render["render_ms_median"] <= render["render_ms_p99"]
    assert render["circuit"] == "oval" and render["length_m"] > 200 and render["load_s"] > 0
    table = perf_markdown(figures)
    assert "| render one 640x480 frame, oval (" in table and " m box, renderer built in " in table
    assert "cores" in table.splitlines()[0]
    assert "| closed loop, explicit driver, oval clockwise, 1 thread, median of 2 runs" in table
    assert "| default benchmark: pilotnet x 3 circuits x 2 directions, 2 processes " \
           "(6/6 laps completed, 250 s simulated) | 20.0 s wall | < 60 s |" in table


def test_the_machine_line_names_the_widest_vector_extension():
    assert vector_extensions({"avx2", "avx512f", "avx512_vnni"}) == " (AVX-512 + VNNI)"
    assert vector_extensions({"avx2", "avx512f"}) == " (AVX-512)"
    assert vector_extensions({"sse4_2", "avx2"}) == " (AVX2)"
    assert vector_extensions(set()) == ""
    assert " cores, Python 3." in machine()
