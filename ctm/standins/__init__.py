"""Stand-ins: synthetic data in the real datasets' formats, so the real pipeline runs on CPU without downloads.

motion.py               the time-reversal class pairs, rendered (uint8 (T, H, W, 3) clips)
mini_kinetics_tree.py   the tests' Mini-Kinetics-200 stand-in, written as its files lie once extracted
published.py            `ctm synth`: one dataset as its host publishes it, from
  kinetics.py             Kinetics-600 / Mini-Kinetics-200 (annotation tarballs, id lists, "YouTube" sources)
  cvdf_mirror.py          the Kinetics clips in the CVDF mirror's shards
  ucf101.py, hmdb51.py    UCF-101 and HMDB-51 (RARs, split lists)
  host_files.py           parallel video encoding, deterministic tar.gz/zip archives, SHA256SUMS
  rar_writer.py           stored RAR 4.x archives (ctm/acquire/rar.py reads them)
imagenet_weights.py     `ctm standin-weights`: torchvision's ResNet files in form, not in content

Every stand-in is byte-identical for the same arguments, on any machine and for any number of workers.
"""
