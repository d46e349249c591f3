#!/usr/bin/env python3
"""Runs a CI recipe of examples/ci/ locally: its own commands, not copies.

    run-recipe.py RECIPE.yml WORKSPACE [NAME=VALUE...]

RECIPE is parsed with python3-yaml.  A GitHub Actions workflow: its jobs in
the order of `needs:`, each `run:` step through `bash --noprofile --norc -eo
pipefail` in WORKSPACE, as the runner does, with the workflow's, job's and
step's `env:`; `${{ ... }}` is replaced from the contexts below, and `if:`
is evaluated (success(), always(), !cancelled(), failure(), a == 'b', &&);
`uses:` steps (checkout, upload-artifact) are listed and skipped.  A GitLab
CI file: its jobs stage by stage (a job whose rules do not match is
skipped; names starting with '.' are templates), before_script + script in
one bash -eo pipefail, with the global and job `variables:` ($VAR
expanded).  A failed job skips the jobs that need it (GitHub) or the later
stages (GitLab).

NAME=VALUE words give the contexts: secrets.X, vars.X, github.X,
github.event.pull_request.number, runner.temp, and for GitLab plain CI_*
and other variables; every NAME=VALUE whose NAME has no dot is also in the
environment of every step.

Prints each step's output, then one line per step "step JOB/NAME: ok|failed
(rc)|skipped"; exits 0 when every job that ran passed, 1 otherwise.
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def lookup(ctx, path):
    if path not in ctx:
        raise SystemExit("run-recipe: no value for ${{ %s }}: give %s=VALUE" % (path, path))
    return ctx[path]


def subst(text, ctx):
    return EXPR.sub(lambda m: str(lookup(ctx, m.group(1))), str(text))


def condition(expr, ctx, failed):
    """a GitHub `if:`, in the subset the recipes use"""
    if expr is None:
        return not failed
    expr = str(expr).strip()
    m = EXPR.fullmatch(expr)
    if m:
        expr = m.group(1)
    result, status_given = True, False
    for term in expr.split("&&"):
        term = term.strip()
        if term in ("always()", "!cancelled()"):
            status_given = True
        elif term == "success()":
            status_given = True
            result = result and not failed
        elif term == "failure()":
            status_given = True
            result = result and failed
        else:
            m = re.fullmatch(r"([\w.-]+)\s*(==|!=)\s*'([^']*)'", term)
            if not m:
                raise SystemExit("run-recipe: cannot evaluate if: %s" % term)
            value = str(ctx.get(m.group(1), ""))
            result = result and ((value == m.group(3)) == (m.group(2) == "=="))
    if not status_given:
        result = result and not failed
    return result


def run_bash(script, cwd, env):
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", path], cwd=cwd, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    finally:
        os.unlink(path)
    sys.stdout.write(p.stdout)
    return p.returncode


def github(doc, ws, ctx, base_env):
    results, job_ok = [], {}
    jobs = doc["jobs"]
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        needs = jobs[name].get("needs", [])
        for n in [needs] if isinstance(needs, str) else needs:
            visit(n)
        order.append(name)
    for name in jobs:
        visit(name)
    workflow_env = doc.get("env", {}) or {}
    for name in order:
        job = jobs[name]
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        if not all(job_ok.get(n) for n in needs):
            results.append("step %s: skipped (a job it needs failed)" % name)
            job_ok[name] = False
            continue
        failed = False
        for i, step in enumerate(job["steps"]):
            label = "%s/%s" % (name, step.get("name", step.get("uses", "step %d" % i)))
            step_ctx = dict(ctx)
            if not condition(step.get("if"), step_ctx, failed):
                results.append("step %s: skipped" % label)
                continue
            if "uses" in step:
                results.append("step %s: skipped (uses: %s, a hosted action)" % (label, step["uses"]))
                continue
            env = dict(base_env)
            for scope in (workflow_env, job.get("env", {}) or {}, step.get("env", {}) or {}):
                for k, v in scope.items():
                    env[k] = subst(v, ctx)
            out = tempfile.NamedTemporaryFile("w", delete=False)
            out.close()
            env["GITHUB_OUTPUT"] = out.name
            env.setdefault("GITHUB_WORKSPACE", ws)
            print("== %s" % label, flush=True)
            rc = run_bash(subst(step["run"], ctx), ws, env)
            with open(out.name) as f:
                for line in f:
                    if "=" in line and "id" in step:
                        k, v = line.rstrip("\n").split("=", 1)
                        ctx["steps.%s.outputs.%s" % (step["id"], k)] = v
            os.unlink(out.name)
            results.append("step %s: %s" % (label, "ok" if rc == 0 else "failed (%d)" % rc))
            failed = failed or rc != 0
        job_ok[name] = not failed
    return results, all(job_ok.values())


def expand(value, env):
    return re.sub(r"\$(\w+)|\$\{(\w+)\}", lambda m: env.get(m.group(1) or m.group(2), ""), str(value))


def gitlab_rules(job, env):
    rules = job.get("rules")
    if not rules:
        return True
    for r in rules:
        cond = r.get("if")
        if cond is None:
            return r.get("when") != "never"
        m = re.fullmatch(r'\$(\w+)\s*(==|!=)\s*"([^"]*)"', cond.strip())
        if not m:
            raise SystemExit("run-recipe: cannot evaluate rules: if: %s" % cond)
        if (env.get(m.group(1), "") == m.group(3)) == (m.group(2) == "=="):
            return r.get("when") != "never"
    return False


def lines(v):
    if v is None:
        return []
    out = []
    for x in v if isinstance(v, list) else [v]:
        out.extend(lines(x) if isinstance(x, list) else [str(x)])
    return out


def gitlab(doc, ws, base_env):
    results, ok = [], True
    stages = doc.get("stages", ["build", "test", "deploy"])
    global_vars = doc.get("variables", {}) or {}
    for stage in stages:
        for name, job in doc.items():
            if name.startswith(".") or not isinstance(job, dict) or job.get("stage", "test") != stage:
                continue
            if "script" not in job:
                continue
            env = dict(base_env)
            for scope in (global_vars, job.get("variables", {}) or {}):
                for k, v in scope.items():
                    env[k] = expand(v, env)
            if not ok:
                results.append("step %s: skipped (an earlier stage failed)" % name)
                continue
            if not gitlab_rules(job, env):
                results.append("step %s: skipped (rules)" % name)
                continue
            script = "\n".join(lines(job.get("before_script")) + lines(job["script"])) + "\n"
            print("== %s" % name, flush=True)
            rc = run_bash(script, ws, env)
            results.append("step %s: %s" % (name, "ok" if rc == 0 else "failed (%d)" % rc))
            ok = ok and rc == 0
    return results, ok


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    recipe, ws = sys.argv[1], os.path.abspath(sys.argv[2])
    ctx, base_env = {}, dict(os.environ)
    for word in sys.argv[3:]:
        k, v = word.split("=", 1)
        ctx[k] = v
        if "." not in k:
            base_env[k] = v
    with open(recipe) as f:
        doc = yaml.safe_load(f)
    if "jobs" in doc:
        results, ok = github(doc, ws, ctx, base_env)
    else:
        results, ok = gitlab(doc, ws, base_env)
    for r in results:
        print(r)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
