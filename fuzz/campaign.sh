#!/usr/bin/env bash
# Runs every fuzz target for SECONDS_PER_TARGET (default 600) seconds, one after the other, and
# prints a Markdown table: target, seconds, executions, crashes. Logs and crash inputs stay in
# fuzz/logs and fuzz/artifacts. cargo-fuzz needs nightly; RUSTC_BOOTSTRAP=1 lets stable build it.
#
#   SECONDS_PER_TARGET=3600 fuzz/campaign.sh [target...]
set -uo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_PER_TARGET:-600}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(sql_split analyze database_url config manifest migration_dir)
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O >/dev/null || exit 2
mkdir -p logs
rows=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    # Seed the SQL targets with the shared corpus' real migrations (never committed).
    if [[ $t == sql_split || $t == analyze ]] && [ -d ../../shared/corpus ]; then
        find ../../shared/corpus -name migration.sql -size -64k -print0 |
            while IFS= read -r -d '' f; do cp "$f" "corpus/$t/$(sha1sum "$f" | cut -c1-16).sql"; done
    fi
    cargo fuzz run -O "$t" -- -max_total_time="$seconds" -print_final_stats=1 >"logs/$t.log" 2>&1
    status=$?
    runs=$(grep -oP 'stat::number_of_executed_units:\s*\K\d+' "logs/$t.log" | tail -1)
    crashes=$(find "artifacts/$t" -type f 2>/dev/null | wc -l)
    rows+=("| $t | $seconds | ${runs:-?} | $crashes (exit $status) |")
done
echo "| target | seconds | executions | crash inputs |"
echo "|---|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
