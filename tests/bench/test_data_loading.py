"""`ctm bench data` on a tiny realistic store: the store it makes is decoded, and the loader's clips/s is measured
for every worker count asked for."""

from ctm.data.store import open_store


def test_bench_data_command(tmp_path, capsys):
    import argparse

    from ctm.commands import bench

    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers(), lambda p: p.add_argument("--no-progress", action="store_true"))
    args = parser.parse_args(["bench", "data", "--make-store", str(tmp_path / "b"), "--videos", "2", "--frames", "24",
                              "--short-side", "64", "--crop", "56", "--workers", "0", "1", "--seconds", "0.3",
                              "--batch-size", "2", "--no-progress"])
    result = args.func(args)
    assert result["made"]["status"] == {"ok": 2} and result["videos"] == 2 and result["crop"] == 56
    assert [r["workers"] for r in result["results"]] == [0, 1]
    assert all(r["clips_per_s"] > 0 for r in result["results"])
    assert open_store(tmp_path / "b").frame_size("v000.mp4") == (64, 85)  # 340x256 sources, short side 64
