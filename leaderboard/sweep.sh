#!/bin/sh
# The published cpu sweep, one innovation at a time, exporting after each one, so that a
# stop (Ctrl-C, a session's end) loses at most the runs in flight and every finished
# innovation is already in leaderboard/runs.jsonl.gz. Run it again to resume; on a fresh
# machine it first imports the committed export into a new registry. Learning-rate tuning
# is not in the export: a resumed sweep tunes again (deterministic on the same CPU).
#
#   sh leaderboard/sweep.sh            # registry: leaderboard/cpu.db (not committed)
#   CEGBENCH_EXPORT=leaderboard/runs-v4.jsonl.gz CEGBENCH_REGISTRY=leaderboard/cpu-v4.db \
#     sh leaderboard/sweep.sh          # another tier version beside the published export
set -e
cd "$(dirname "$0")/.."
REGISTRY=${CEGBENCH_REGISTRY:-leaderboard/cpu.db}
EXPORT=${CEGBENCH_EXPORT:-leaderboard/runs.jsonl.gz}
if [ ! -f "$REGISTRY" ] && [ -f "$EXPORT" ]; then
  cegbench import --registry "$REGISTRY" "$EXPORT"
fi
for name in $(cegbench list | cut -d' ' -f1); do
  cegbench run --tier cpu --innovation "$name" --registry "$REGISTRY" --no-analyze "$@"
  cegbench export --tier cpu --registry "$REGISTRY" --out "$EXPORT.tmp.gz"
  mv "$EXPORT.tmp.gz" "$EXPORT"
done
cegbench analyze --tier cpu --registry "$REGISTRY"
cegbench status --tier cpu --registry "$REGISTRY"
