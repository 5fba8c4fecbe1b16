"""Infra tier: the CDK app synthesized once per session, offline, for every stage.

The synth packages the app with Chalice's CDK construct exactly as `make synth` does, from a copy of
the app's sources (app.py, chalicelib/, .chalice/config.json) whose requirements.txt is empty: the
template is the same, but the test needs neither PyPI nor the minutes `chalice package` spends
downloading Linux wheels, and writes nothing into the repository (Chalice caches packages in
<source>/.chalice/deployments). `make synth` packages the real dependencies.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

# The integration tier's fixtures (moto in-process, the Chalice test client, the queues), for the IAM
# conformance test, which runs every function against moto. None of them is autouse.
from tests.integration.conftest import aws, client, pipeline, queues  # noqa: F401 - offered as fixtures

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # Node 20 works; it only warns

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTEXT = {
    "public_base_url": "https://claims.example.com/api",
    "alarm_email": "claims-oncall@example.com",
}


@dataclass
class Synth:
    directory: Path
    templates: dict[str, dict]  # stage -> synthesized template (SAM resources included)
    transformed: dict[str, dict]  # stage -> after the SAM transform, as CloudFormation deploys it
    stacks: dict  # stage -> ClaimsIntakeStack
    source_dir: Path


def _copy_sources(target: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "chalicelib", target / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (target / ".chalice").mkdir()
    shutil.copy(PROJECT_ROOT / ".chalice" / "config.json", target / ".chalice" / "config.json")
    shutil.copy(PROJECT_ROOT / "app.py", target / "app.py")
    (target / "requirements.txt").write_text("# dependencies left out: the tests assert on the template\n")
    return target


def sam_transform(template: dict) -> dict:
    """What CloudFormation's AWS::Serverless-2016-10-31 transform makes of the template."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # only SAM policy templates need AWS's managed policy list; none are used
        def load(self) -> dict:
            return {}

    pseudo = {"AWS::Region": "ap-southeast-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    return transform(copy.deepcopy(template), pseudo, NoManagedPolicies())


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Synth:
    from infra.cdk.app import build_app
    from infra.cdk.stages import chalice_stages

    base = tmp_path_factory.mktemp("cdk")
    source_dir = _copy_sources(base / "source")
    app, stacks = build_app(base / "work", outdir=base / "cdk.out", source_dir=source_dir, context=dict(CONTEXT))
    assembly = app.synth()
    templates = {stack.stage: json.loads((Path(assembly.directory) / stack.template_file).read_text())
                 for stack in stacks}
    assert sorted(templates) == sorted(chalice_stages())
    return Synth(Path(assembly.directory), templates, {s: sam_transform(t) for s, t in templates.items()},
                 {stack.stage: stack for stack in stacks}, source_dir)

