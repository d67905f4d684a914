# Named, timed steps for .ci/run and scripts/test.sh. Source it, then call `step NAME` before
# each step; the durations are printed as a table when the script exits (pass or fail).
# .ci/run and the test.sh it calls share one table through KEYSAFE_STEPS_FILE.
if [ -z "${KEYSAFE_STEPS_FILE:-}" ]; then
  KEYSAFE_STEPS_FILE=$(mktemp)
  export KEYSAFE_STEPS_FILE KEYSAFE_STEPS_OWNER=$$
  KEYSAFE_STEPS_T0=$(date +%s)
fi
_step_name="" _step_t0=0
steps_end() { _step_close; }
_step_close() {
  if [ -n "$_step_name" ]; then
    printf '%s\t%s\n' "$(( $(date +%s) - _step_t0 ))" "$_step_name" >>"$KEYSAFE_STEPS_FILE"
    _step_name=""
  fi
}
step() {
  _step_close
  _step_name="$*" _step_t0=$(date +%s)
  printf '\n== %s\n' "$*"
}
_steps_report() {
  local rc=$?
  _step_close
  if [ "${KEYSAFE_STEPS_OWNER:-}" = "$$" ]; then
    printf '\n== step durations (%s)\n' "$([ "$rc" = 0 ] && echo passed || echo "FAILED, exit $rc")"
    awk -F'\t' '{ printf "%4dm%02ds  %s\n", $1/60, $1%60, $2 }' "$KEYSAFE_STEPS_FILE"
    local total=$(( $(date +%s) - KEYSAFE_STEPS_T0 ))
    printf '%4dm%02ds  total\n' $((total / 60)) $((total % 60))
    # Disk is a limit too: a CI machine ran out of it once.
    printf 'disk: build output %s, %s still free\n' \
      "$(du -sh target crates/mssql-emulator/fuzz/target 2>/dev/null | awk '{ printf "%s%s %s", sep, $2, $1; sep=", " }')" \
      "$(df -h . | awk 'NR == 2 { print $4 }')"
    rm -f "$KEYSAFE_STEPS_FILE"
  fi
  return "$rc"
}
trap _steps_report EXIT
