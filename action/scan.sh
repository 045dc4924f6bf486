#!/usr/bin/env bash
# The scan step of the GitHub Action (action.yml): decides what to scan from
# the inputs and the event, runs keyscan ONCE (annotations or text on stdout,
# JSON for the outputs and the job summary, SARIF if asked), and sets the
# outputs findings, critical, exit-code, range and — only when the file was
# written — sarif-file. keyscan's errors become error annotations.
#
# Environment (see action.yml): KEYSCAN (the binary), MODE, BASE, HEAD,
# SCAN_PATH, FAIL_ON, SARIF, ANNOTATIONS, JOB_SUMMARY, EXTRA; the event's
# EVENT_NAME, EVENT_BEFORE, EVENT_AFTER, PR_BASE, PR_HEAD, MERGE_GROUP_BASE,
# MERGE_GROUP_HEAD, DEFAULT_BRANCH, REF; the runner's GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY, RUNNER_TEMP. Runs in the checked-out repository.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
annotate() { # LEVEL MESSAGE
  local msg=${2//'%'/'%25'}
  msg=${msg//$'\r'/'%0D'}
  msg=${msg//$'\n'/'%0A'}
  printf '::%s title=keyscan::%s\n' "$1" "$msg"
}
output() { printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"; }
fail() { # MESSAGE: an error before or instead of a scan
  annotate error "$1"
  output exit-code 2
  exit 2
}

keyscan=${KEYSCAN:-keyscan}
if [ ! -x "$keyscan" ] && [ ! -x "$keyscan.exe" ]; then keyscan=keyscan; fi
zero=0000000000000000000000000000000000000000
is_commit() { [ -n "$1" ] && git rev-parse -q --verify "$1^{commit}" >/dev/null 2>&1; }

# history mode: prints the range to scan, "" for every commit, or "skip";
# on an error prints the message and returns 1.
bad() { printf '%s\n' "$1"; exit 1; }
pick_range() {
  local base=${BASE:-} head=${HEAD:-}
  if [ -n "$base" ]; then
    head=${head:-HEAD}
    is_commit "$base" || bad "base '$base' is not a commit in this clone: check out with fetch-depth: 0 (actions/checkout) or fetch it"
    is_commit "$head" || bad "head '$head' is not a commit in this clone"
    echo "$base..$head"
    return
  fi
  [ -z "$head" ] || bad "the head input needs a base input"
  case "${EVENT_NAME:-}" in
    pull_request | pull_request_target)
      { is_commit "${PR_BASE:-}" && is_commit "${PR_HEAD:-}"; } ||
        bad "the pull request's base or head commit is not in this clone: use actions/checkout with fetch-depth: 0"
      echo "$PR_BASE..$PR_HEAD" ;;
    merge_group)
      { is_commit "${MERGE_GROUP_BASE:-}" && is_commit "${MERGE_GROUP_HEAD:-}"; } ||
        bad "the merge group's base or head commit is not in this clone: use actions/checkout with fetch-depth: 0"
      echo "$MERGE_GROUP_BASE..$MERGE_GROUP_HEAD" ;;
    push)
      local after=${EVENT_AFTER:-} before=${EVENT_BEFORE:-}
      [ -n "$after" ] || after=HEAD
      if [ "$after" = "$zero" ]; then
        echo skip # a deleted branch or tag: nothing was pushed
      elif [ -n "$before" ] && [ "$before" != "$zero" ] && is_commit "$before"; then
        echo "$before..$after"
      elif [ -n "${DEFAULT_BRANCH:-}" ] && [ "${REF:-}" != "refs/heads/$DEFAULT_BRANCH" ] &&
        is_commit "origin/$DEFAULT_BRANCH"; then
        # A new branch or tag (before is all zeros): what it adds to the
        # default branch.
        echo "origin/$DEFAULT_BRANCH..$after"
      else
        # The first push of the default branch, or a force-push whose old
        # tip is gone: every commit.
        echo ""
      fi ;;
    *) echo "" ;; # schedule, workflow_dispatch …: every commit
  esac
}

args=()
range=""
case "${MODE:-tree}" in
  tree)
    [ -z "${BASE:-}${HEAD:-}" ] || fail "base and head are for mode: history; mode: tree scans the checked-out files"
    ;;
  history)
    if [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = true ]; then
      annotate warning "this is a shallow clone: older commits are not there to scan. Use actions/checkout with fetch-depth: 0."
    fi
    range=$(pick_range) || fail "$range"
    if [ "$range" = skip ]; then
      echo "keyscan: the push deleted a branch or tag: nothing to scan"
      output exit-code 0
      output findings 0
      output critical 0
      exit 0
    fi
    args+=(--history)
    if [ -n "$range" ]; then args+=(--range "$range"); fi
    output range "$range"
    echo "keyscan: scanning ${range:-every commit}"
    ;;
  staged)
    fail "mode: staged scans git's index, which holds nothing to commit in CI: use mode: history (the pushed commits) or tree"
    ;;
  *) fail "unknown mode '${MODE:-}' (expected tree or history)" ;;
esac

tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/keyscan.XXXXXX")
json="$tmp/report.json"
args+=(--fail-on "${FAIL_ON:-high}" -o "json=$json")
if [ "${ANNOTATIONS:-true}" = true ]; then args+=(--format github); else args+=(--format text --color never); fi
if [ -n "${SARIF:-}" ]; then
  mkdir -p "$(dirname "$SARIF")"
  rm -f "$SARIF"
  args+=(-o "sarif=$SARIF")
fi
read -r -a extra <<<"${EXTRA:-}" || true
args+=("${extra[@]}")
if [ "${MODE:-tree}" = tree ]; then args+=("${SCAN_PATH:-.}"); fi

"$keyscan" "${args[@]}" 2>"$tmp/stderr"
status=$?
# keyscan's stderr, in the log as it was …
cat "$tmp/stderr" >&2
output exit-code "$status"
if [ "$status" -ge 2 ]; then
  # … and as annotations, so the error is on the run's page, not only in the log.
  if [ -s "$tmp/stderr" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      annotate error "$line"
    done <"$tmp/stderr"
  else
    annotate error "keyscan exited with $status"
  fi
  exit "$status"
fi

if [ -n "${SARIF:-}" ] && [ -f "$SARIF" ]; then output sarif-file "$SARIF"; fi
if command -v jq >/dev/null 2>&1; then
  output findings "$(jq '.findings | length' "$json")"
  output critical "$(jq '[.findings[] | select(.severity == "critical")] | length' "$json")"
  if [ "${JOB_SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    jq -r --arg mode "${MODE:-tree}" --arg range "$range" --arg path "${SCAN_PATH:-.}" \
      --arg fail_on "${FAIL_ON:-high}" -f "$here/summary.jq" "$json" >>"$GITHUB_STEP_SUMMARY"
  fi
else
  annotate warning "jq is not installed on this runner: the findings and critical outputs and the job summary are left out (annotations and SARIF are complete)"
fi
rm -rf "$tmp"
exit "$status"
