#!/usr/bin/env bash
# Source on the GPU host (no network): installs the carried wheels (.whl/, built as docs/rehearsal.md says)
# into .site once, puts `ctm` and `snakemake` on PATH and this checkout on PYTHONPATH.
#   source benchmarks/gpu_host/env.sh
if [ ! -f .site/.installed ] && ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target .site .whl/*.whl \
        && touch .site/.installed
fi
mkdir -p .site/bin
printf '#!/bin/sh\nexec python3 -m ctm.cli "$@"\n' > .site/bin/ctm
printf '#!/bin/sh\nexec python3 -m snakemake "$@"\n' > .site/bin/snakemake
chmod +x .site/bin/ctm .site/bin/snakemake
export PATH="$PWD/.site/bin:$PATH" PYTHONPATH="$PWD:$PWD/.site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
