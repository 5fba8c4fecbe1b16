"""CDK app: one stack per Chalice stage (.chalice/config.json), named ``claims-intake-<stage>``.

    .venv/bin/python infra/cdk/app.py [--stage dev] [-c key=value ...]   # offline synth -> infra/cdk/cdk.out
    cd infra/cdk && npx --no-install cdk deploy -c stage=prod -c ...     # what `make deploy` runs

No AWS account is needed to synthesize: the stacks are environment-agnostic unless the CDK CLI
passes an account and region (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION, from your credentials).
Context keys: ``stage`` (one stage; default: all), ``public_base_url``, ``alarm_email``,
``connect_instance_arn``, ``secret_name``, ``secrets_revision`` (docs/deploying.md).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if __name__ == "__main__":
    # Run as a script, Python puts infra/cdk first on the path; the app imports the project instead.
    sys.path[0:1] = [str(PROJECT_ROOT)]

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # Node 20 runs the CDK; it only warns
# after the path and the environment above are set:
import aws_cdk as cdk  # noqa: E402 - see above

from infra.cdk.stack import ClaimsIntakeStack, DeploySettings  # noqa: E402 - see above
from infra.cdk.stages import chalice_stages  # noqa: E402 - see above

DEFAULT_OUTDIR = PROJECT_ROOT / "infra" / "cdk" / "cdk.out"


def build_app(workdir: Path, *, outdir: Path | None = None, source_dir: Path = PROJECT_ROOT,
              context: dict | None = None) -> tuple[cdk.App, list[ClaimsIntakeStack]]:
    """The CDK app and its stacks. ``workdir`` takes Chalice's packaging output (`chalice.out`);
    the CDK copies what it needs into the cloud assembly, so it may go once ``synth()`` is done."""
    # Where the CLI asks for the assembly (CDK_OUTDIR), it goes there; else to ``outdir``.
    app = cdk.App(context=context or None,
                  outdir=None if os.environ.get("CDK_OUTDIR") else str(outdir or DEFAULT_OUTDIR))
    stage = app.node.try_get_context("stage")
    stages = [stage] if stage else chalice_stages()
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    deploy = DeploySettings.from_context(app.node)
    stacks = [ClaimsIntakeStack(app, name, deploy=deploy, workdir=workdir, source_dir=source_dir, env=env)
              for name in stages]
    return app, stacks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Synthesize the claims intake stacks (no AWS account needed).")
    parser.add_argument("--stage", help="one stage of .chalice/config.json (default: every stage)")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE",
                        help="CDK context, as `cdk -c` takes it")
    args = parser.parse_args(argv)
    context = dict(item.split("=", 1) for item in args.context)
    if args.stage:
        context["stage"] = args.stage
    workdir = Path(tempfile.mkdtemp(prefix="claims-intake-chalice-"))
    try:
        app, stacks = build_app(workdir, context=context)
        assembly = app.synth()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for stack in stacks:
        print(f"synthesized {stack.stack_name}: {Path(assembly.directory) / stack.template_file}")
    problems = [problem for stack in stacks for problem in stack.package_problems]
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    # Under the CDK CLI these problems are error annotations, which stop `cdk deploy` (and let
    # `cdk destroy` through); run directly (`make synth`), they fail the command.
    return 1 if problems and not os.environ.get("CDK_OUTDIR") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] if os.environ.get("CDK_OUTDIR") is None else []))
