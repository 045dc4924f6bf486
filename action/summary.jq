# The job summary ($GITHUB_STEP_SUMMARY) of the GitHub Action, from keyscan's
# JSON report: counts, then one row per key (findings grouped by fingerprint,
# most severe first) with every place the key was found and where to rotate
# it. Keys are shown only redacted, as in the report.
#
# Arguments: --arg mode, --arg range, --arg path, --arg fail_on.
# Paths, messages and rule titles come from the scanned repository: every
# value is HTML-escaped and kept on one line, so none can break the table,
# inject markup or fake a heading.

def esc: tostring | gsub("&"; "&amp;") | gsub("<"; "&lt;") | gsub(">"; "&gt;")
  | gsub("\\|"; "&#124;") | gsub("`"; "&#96;") | gsub("\\["; "&#91;") | gsub("\\]"; "&#93;")
  | gsub("[\\r\\n\\t]"; " ");
def code: "<code>" + esc + "</code>";
def rank: {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}[.] // 5;
def plural($n; $word): "\($n) \($word)\(if $n == 1 then "" else "s" end)";
def where:
  (if .line > 0 then "\(.path):\(.line)" else .path end | code)
  + " (\(.context | esc))"
  + (if .commit then " in " + (.commit.id[0:12] | code)
       + (if .commit.in_head then "" else ", removed from HEAD" end)
     else "" end);
def link: if . == null then "" else "<a href=\"\(esc)\">rotate</a>" end;

.summary as $s
| .findings as $f
| ($f | group_by(.fingerprint)
      | map({
          sev: (map(.severity) | min_by(rank)),
          title: .[0].title,
          rule: .[0].rule_id,
          key: .[0].secret_redacted,
          fp: .[0].fingerprint,
          url: .[0].rotation_url,
          places: map(where)
        })
      | sort_by(.sev | rank)) as $keys
| [ "### keyscan: "
    + (if ($f | length) == 0 then "no findings"
       else plural($f | length; "finding") + " ("
         + ([["critical", "high", "medium", "low", "info"][] as $sev
             | ($f | map(select(.severity == $sev)) | length) as $n
             | select($n > 0) | "\($n) \($sev)"] | join(", "))
         + ")" end),
    "",
    "Mode: \($mode | esc)"
      + (if $mode == "history" then ", " + (if $range == "" then "every commit" else ($range | code) end)
         else ", " + ($path | code) end)
      + " · \(plural($s.files_scanned; "file")) scanned · fails at \($fail_on | esc) and above",
    ""
  ]
  + (if ($keys | length) == 0 then []
     else [
       "| severity | what | key | fingerprint | found at | |",
       "|---|---|---|---|---|---|"
     ]
     + ($keys | map(
         "| \(.sev | esc) | \(.title | esc) (\(.rule | code)) | "
         + (if .key then (.key | code) else "" end)
         + " | \(.fp | code) | "
         + ((.places[0:10] | join("<br>"))
            + (if (.places | length) > 10 then "<br>… and \((.places | length) - 10) more" else "" end))
         + " | \(.url | link) |"))
     + [""]
     end)
  + (if ($s.errors | length) > 0 then
       ["**\(plural($s.errors | length; "file")) could not be read:** "
        + ($s.errors[0:10] | map((.path | code) + " " + (.message | esc)) | join("; ")), ""]
     else [] end)
  + (if ($s.suppressed.inline + $s.suppressed.config + $s.suppressed.baseline) > 0 then
       ["Suppressed: \($s.suppressed.inline) inline, \($s.suppressed.config) by config allowlist, \($s.suppressed.baseline) by baseline.", ""]
     else [] end)
  + ($s.notes | map("Note: " + esc, ""))
  | .[]
