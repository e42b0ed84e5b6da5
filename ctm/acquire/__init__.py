"""Acquiring the datasets: downloading published files (resumable, verified), extracting archives (tar, zip, RAR),
fetching Kinetics clips (the CVDF mirror's shards, a local copy, or YouTube) and trimming them, up to each dataset's
official layout on disk. Reading that layout is ctm.data's job."""
