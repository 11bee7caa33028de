"""A deployed Vigil stack, found through its CloudFormation Outputs (``--aws``).

``DeployedAws`` is ``LocalAws``'s counterpart for real AWS, and creates nothing: it
reads the stack's ``HealthCheckTableName`` and ``AlertTopicArn`` outputs (and each
queue's ``<logical id>Url``, such as ``RunQueueUrl``) with the normal boto3
credentials and region, and puts the runner's environment, as
template.yaml declares it (parameters as the stack has them), into ``os.environ``
while active.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from vigil_cli.local.environ import environ_set
from vigil_cli.local.local_aws import TEMPLATE
from vigil_cli.local.resources import LocalResources, runner_environment
from vigil_cli.local.template_file import load_template, resources_of

TABLE_OUTPUT = "HealthCheckTableName"
TOPIC_OUTPUT = "AlertTopicArn"
DEFAULT_STACK = "vigil"


class DeployedStackError(Exception):
    """The stack cannot be found or read; the message says what to do."""


class DeployedAws:
    """Context manager: the runner's environment pointed at a deployed stack."""

    def __init__(
        self,
        stack: str = DEFAULT_STACK,
        template: Path = TEMPLATE,
        *,
        config: Path | None = None,
        region: str | None = None,
    ):
        self.stack = stack
        self.template_path = template
        self.config = config
        self.region = region
        self.table_name = ""
        self.topic_arn = ""
        self.environment: dict[str, str] = {}
        self._undo = contextlib.ExitStack()

    def __enter__(self) -> DeployedAws:
        stack = self._describe()
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
        missing = [key for key in (TABLE_OUTPUT, TOPIC_OUTPUT) if not outputs.get(key)]
        if missing:
            raise DeployedStackError(
                f"stack {self.stack!r} has no output {' or '.join(missing)}; is it a Vigil "
                f"stack deployed from template.yaml?"
            )
        self.table_name, self.topic_arn = outputs[TABLE_OUTPUT], outputs[TOPIC_OUTPUT]
        template = load_template(self.template_path)  # a fresh copy: ours to change
        # Variables that !Ref a parameter take the value the stack was deployed with.
        parameters = template.get("Parameters") or {}
        for parameter in stack.get("Parameters") or []:
            declared = parameters.get(parameter["ParameterKey"])
            if isinstance(declared, dict) and "ParameterValue" in parameter:
                declared["Default"] = parameter["ParameterValue"]
        resources = LocalResources(
            table_name=self.table_name,
            topic_arn=self.topic_arn,
            function_name=outputs.get("RunnerFunctionName", f"{self.stack}-runner"),
            # each queue's URL from its <logical id>Url output (RunQueueUrl)
            queues={
                logical_id: outputs[f"{logical_id}Url"]
                for logical_id, _ in resources_of(template, "AWS::SQS::Queue")
                if outputs.get(f"{logical_id}Url")
            },
            region=self.region or "",
            stack_name=self.stack,
        )
        try:
            env = runner_environment(template, resources)
        except ValueError as exc:
            raise DeployedStackError(
                f"stack {self.stack!r} does not match {self.template_path.name}: {exc} (its "
                f"outputs lack it; deploy the current template)"
            ) from None
        if self.config is not None:
            env["HEALTHCHECK_CONFIG"] = str(self.config)
        if self.region:
            env["AWS_DEFAULT_REGION"] = self.region
        self.environment = env
        self._undo.enter_context(environ_set(env))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._undo.close()  # os.environ as it was before __enter__

    def _describe(self) -> dict[str, Any]:
        found, self.region = describe_stack(self.stack, self.region)
        return found


def describe_stack(stack: str, region: str | None) -> tuple[dict[str, Any], str]:
    """The stack's description (CloudFormation ``DescribeStacks``) and its region."""
    import boto3
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
    )

    try:
        session = boto3.session.Session(region_name=region)
        region = session.region_name
        if not region:
            raise NoRegionError()
        client = session.client("cloudformation")
        return client.describe_stacks(StackName=stack)["Stacks"][0], region
    except NoRegionError:
        raise DeployedStackError(
            "no AWS region is configured: pass --region or set AWS_REGION"
        ) from None
    except NoCredentialsError:
        raise DeployedStackError(
            "no AWS credentials found: configure them (aws configure, AWS_PROFILE, SSO) "
            "or leave out --aws to use embedded AWS"
        ) from None
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if "does not exist" in message:
            raise DeployedStackError(
                f"stack {stack!r} not found in {region}: deploy it with "
                f"`sam deploy --guided`, or name it with --stack / --region"
            ) from None
        raise DeployedStackError(f"cannot read stack {stack!r}: {message}") from None
    except BotoCoreError as exc:
        raise DeployedStackError(f"cannot reach CloudFormation: {exc}") from None


def stack_outputs(stack: str, region: str | None) -> tuple[dict[str, str], str]:
    """The stack's outputs by key, and its region."""
    found, region = describe_stack(stack, region)
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs") or []}, region
