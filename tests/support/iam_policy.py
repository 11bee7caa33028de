"""template.yaml's IAM and topic policies, resolved for a set of parameters and evaluated.

moto enforces neither SNS topic policies nor resource-scoped IAM statements (its IAM
check compares a statement's Resource with ``*`` for most services), so the tests
decide requests here, with AWS's published evaluation rules for what the template
uses:

- within one account, a request is allowed when an identity policy or the resource
  policy allows it and no policy denies it; a service principal has no identity
  policy, only the resource policy can allow it;
- ``Action`` matches case-insensitively with ``*`` and ``?``; ``Resource`` and the ARN
  and string ``...Like`` operators match case-sensitively with them; ``ArnEquals``
  matches like ``ArnLike``;
- a condition whose key is missing from the request is false, except for a negated
  operator (``StringNotEquals``, ``ArnNotEquals``...), which is then true; the values
  of one key are ORed (a negated operator: "matches none of them"); keys and
  operators are ANDed.

Anything else (``NotPrincipal``, ``...IfExists``, numeric operators, an intrinsic
function it does not know) raises instead of being guessed.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
PARTITION = "aws"
STACK = "vigil"

_NO_VALUE = object()


# ---------------------------------------------------------------------------------------
# Resolving the template for one set of parameters
# ---------------------------------------------------------------------------------------


def arn_of(logical_id: str, resource_type: str) -> str:
    """The ARN the resolver gives a resource (its name: ``<stack>-<logical id>``)."""
    name = f"{STACK}-{logical_id}"
    if resource_type == "AWS::IAM::Role":
        return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"
    if resource_type == "AWS::SNS::Topic":
        return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}"
    if resource_type == "AWS::DynamoDB::Table":
        return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    if resource_type == "AWS::SQS::Queue":
        return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"
    if resource_type == "AWS::Logs::LogGroup":
        return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
    if resource_type in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"
    if resource_type == "AWS::SecretsManager::Secret":  # a hyphen and six characters appended
        return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"
    raise ValueError(f"no ARN known for {logical_id} ({resource_type})")


class ResolvedTemplate:
    """``template`` with parameters (defaults overridden by ``parameters``) applied:
    conditions decided, rules checked, intrinsic functions of the resources resolved."""

    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str] | None = None):
        self.template = template
        declared = template.get("Parameters") or {}
        unknown = set(parameters or {}) - set(declared)
        if unknown:
            raise KeyError(f"unknown parameters {sorted(unknown)}")
        self.parameters: dict[str, Any] = {}
        for name, spec in declared.items():
            value = (parameters or {}).get(name, spec.get("Default"))
            if value is None:
                raise KeyError(f"parameter {name} has no default: give it")
            if spec["Type"] == "CommaDelimitedList":
                value = [] if value == "" else [item.strip() for item in str(value).split(",")]
            self.parameters[name] = value
        self._conditions: dict[str, bool] = {}
        self.resources = {
            logical_id: resource
            for logical_id, resource in (template.get("Resources") or {}).items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }

    # conditions and rules ------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self.truth(self.template["Conditions"][name])
        return self._conditions[name]

    def truth(self, expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Not":
            return not self.truth(argument[0])
        if function == "Fn::And":
            return all(self.truth(item) for item in argument)
        if function == "Fn::Or":
            return any(self.truth(item) for item in argument)
        if function == "Fn::Equals":
            left, right = (self.value(item) for item in argument)
            return left == right
        if function == "Fn::EachMemberEquals":
            members, wanted = (self.value(item) for item in argument)
            return all(member == wanted for member in members)
        raise ValueError(f"unknown condition function {function}")

    def failed_rules(self) -> list[str]:
        """The AssertDescription of every rule assertion these parameters break."""
        failed = []
        for rule in (self.template.get("Rules") or {}).values():
            if "RuleCondition" in rule and not self.truth(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self.truth(assertion["Assert"]):
                    failed.append(assertion["AssertDescription"])
        return failed

    # values --------------------------------------------------------------------------
    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        resource = self.template["Resources"][name]
        if resource["Type"] in ("AWS::SNS::Topic", "AWS::SecretsManager::Secret"):
            return arn_of(name, resource["Type"])
        return f"{STACK}-{name}"

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.template["Resources"][logical_id]
        if attribute == "Arn":
            return arn_of(logical_id, resource["Type"])
        raise ValueError(f"unknown attribute {logical_id}.{attribute}")

    def value(self, node: Any) -> Any:
        """``node`` with every intrinsic function resolved (``AWS::NoValue`` dropped)."""
        resolved = self._value(copy.deepcopy(node))
        if resolved is _NO_VALUE:
            raise ValueError("the whole value is AWS::NoValue")
        return resolved

    def _value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self._value(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref":
                return _NO_VALUE if argument == "AWS::NoValue" else self.ref(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = (
                    argument if isinstance(argument, list) else argument.split(".", 1)
                )
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::If":
                name, when_true, when_false = argument
                return self._value(when_true if self.condition(name) else when_false)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self._value(items))
            if key.startswith("Fn::") or key == "Condition":
                raise ValueError(f"intrinsic function {key} is not resolved here")
        return {
            k: v for k, v in ((k, self._value(v)) for k, v in node.items()) if v is not _NO_VALUE
        }

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self._value(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            value = self.ref(name)
            if isinstance(value, list):
                raise ValueError(f"${{{name}}} is a list")
            return str(value)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    # what the tests ask -------------------------------------------------------------
    def properties(self, logical_id: str) -> dict[str, Any]:
        return self.value(self.resources[logical_id].get("Properties") or {})

    def role_policy(self, logical_id: str) -> Policy:
        """The role's inline policies as one identity policy (managed policies refused)."""
        properties = self.properties(logical_id)
        if properties.get("ManagedPolicyArns"):
            raise ValueError(f"{logical_id} has managed policies, which are not evaluated here")
        statements = [
            statement
            for policy in properties.get("Policies") or []
            for statement in _listed(policy["PolicyDocument"]["Statement"])
        ]
        return Policy(statements)

    def topic_policies(self) -> dict[str, Policy]:
        """Topic ARN -> its topic policy."""
        found: dict[str, Policy] = {}
        for logical_id, resource in self.resources.items():
            if resource["Type"] != "AWS::SNS::TopicPolicy":
                continue
            properties = self.properties(logical_id)
            for topic in properties["Topics"]:
                if topic in found:
                    raise ValueError(f"topic {topic} has two policies")
                found[topic] = Policy(_listed(properties["PolicyDocument"]["Statement"]))
        return found


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------
# Evaluating requests
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who asks: an IAM role or user (``arn``, with its identity ``policy``), the
    account's root user, or a service principal (``service``, no identity policy)."""

    arn: str | None = None
    service: str | None = None
    account: str = ACCOUNT
    policy: Policy | None = None

    @classmethod
    def role(cls, arn: str, policy: Policy) -> Principal:
        return cls(arn=arn, account=arn.split(":")[4], policy=policy)

    @classmethod
    def root(cls, account: str = ACCOUNT) -> Principal:
        return cls(arn=f"arn:{PARTITION}:iam::{account}:root", account=account)

    @classmethod
    def aws_service(cls, service: str, on_behalf_of: str = ACCOUNT) -> Principal:
        return cls(service=service, account=on_behalf_of)

    def context(self) -> dict[str, str]:
        """The request context keys this principal brings (AWS's global keys)."""
        if self.service is not None:
            return {"aws:PrincipalServiceName": self.service, "aws:SourceAccount": self.account}
        assert self.arn is not None
        return {"aws:PrincipalArn": self.arn, "aws:PrincipalAccount": self.account}


@dataclass
class Policy:
    statements: list[dict[str, Any]] = field(default_factory=list)

    def decide(
        self, principal: Principal | None, action: str, resource: str, context: Mapping[str, Any]
    ) -> str | None:
        """``"Deny"`` if a statement denies, else ``"Allow"`` if one allows, else None.
        ``principal`` None: an identity policy (no Principal element to match)."""
        decision = None
        for statement in self.statements:
            if not _applies(statement, principal, action, resource, context):
                continue
            if statement["Effect"] == "Deny":
                return "Deny"
            decision = "Allow"
        return decision

    def actions(self, effect: str = "Allow") -> set[str]:
        """Every action the policy names with ``effect`` (as written, wildcards kept)."""
        return {
            action
            for statement in self.statements
            if statement["Effect"] == effect
            for action in _listed(statement["Action"])
        }


def allowed(
    principal: Principal,
    action: str,
    resource: str,
    resource_policy: Policy | None = None,
    extra_context: Mapping[str, Any] | None = None,
) -> bool:
    """Whether ``principal`` may do ``action`` on ``resource`` (same-account rules, plus
    cross-account: then both the identity and the resource policy must allow)."""
    context = {**principal.context(), **(extra_context or {})}
    decisions = []
    if principal.policy is not None:
        decisions.append(principal.policy.decide(None, action, resource, context))
    if resource_policy is not None:
        decisions.append(resource_policy.decide(principal, action, resource, context))
    if "Deny" in decisions:
        return False
    if principal.service is not None:  # only the resource policy can allow a service
        return resource_policy is not None and decisions[-1] == "Allow"
    if (
        principal.arn is not None
        and principal.arn.endswith(":root")
        and principal.account == ACCOUNT
    ):
        return True  # the account's root user: everything no policy denies
    resource_account = resource.split(":")[4] if resource.count(":") >= 5 else ACCOUNT
    if principal.account != resource_account:
        return decisions == ["Allow", "Allow"]
    return "Allow" in decisions


def _applies(
    statement: Mapping[str, Any],
    principal: Principal | None,
    action: str,
    resource: str,
    context: Mapping[str, Any],
) -> bool:
    unsupported = {"NotPrincipal", "NotAction", "NotResource"} & set(statement)
    if unsupported:
        raise ValueError(f"{sorted(unsupported)} is not evaluated here: {statement}")
    if not any(_like(pattern.lower(), action.lower()) for pattern in _listed(statement["Action"])):
        return False
    if not any(_like(pattern, resource) for pattern in _listed(statement["Resource"])):
        return False
    if principal is not None and not _principal_matches(statement["Principal"], principal):
        return False
    return all(
        _condition(operator, key, _listed(values), context)
        for operator, keys in (statement.get("Condition") or {}).items()
        for key, values in keys.items()
    )


def _principal_matches(element: Any, principal: Principal) -> bool:
    if element == "*":
        return True
    if not isinstance(element, dict) or set(element) - {"AWS", "Service"}:
        raise ValueError(f"Principal {element!r} is not evaluated here")
    if principal.service is not None:
        return principal.service in _listed(element.get("Service", []))
    names = _listed(element.get("AWS", []))
    return "*" in names or principal.arn in names


_OPERATORS = {
    # operator: (matches one value, negated)
    "StringEquals": (lambda pattern, value: pattern == value, False),
    "StringNotEquals": (lambda pattern, value: pattern == value, True),
    "StringLike": (lambda pattern, value: _like(pattern, value), False),
    "StringNotLike": (lambda pattern, value: _like(pattern, value), True),
    "ArnEquals": (lambda pattern, value: _like(pattern, value), False),
    "ArnLike": (lambda pattern, value: _like(pattern, value), False),
    "ArnNotEquals": (lambda pattern, value: _like(pattern, value), True),
    "ArnNotLike": (lambda pattern, value: _like(pattern, value), True),
}


def _condition(
    operator: str, key: str, values: Iterable[str], context: Mapping[str, str | list[str]]
) -> bool:
    """One condition, as IAM evaluates it: ``ForAllValues:`` (every value of a multivalued
    key matches; true when the request has none), ``ForAnyValue:`` (one matches; false
    when none), the ``IfExists`` suffix (true when the key is absent)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise ValueError(f"condition operator {operator} is not evaluated here")
    matches, negated = _OPERATORS[base]
    patterns = [str(pattern) for pattern in values]

    def one(value: str) -> bool:
        hit = any(matches(pattern, value) for pattern in patterns)
        return not hit if negated else hit

    if key not in context:
        if qualifier == "ForAllValues" or if_exists:
            return True
        return False if qualifier == "ForAnyValue" else negated
    given = context[key]
    if qualifier:
        requested = given if isinstance(given, list) else [given]
        check = all if qualifier == "ForAllValues" else any
        return check(one(value) for value in requested)
    if isinstance(given, list):
        raise ValueError(f"{key} is multivalued: use ForAllValues or ForAnyValue")
    return one(given)


def _like(pattern: str, value: str) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one; nothing else special."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))
