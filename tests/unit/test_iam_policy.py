"""The evaluation rules tests.support.iam_policy applies (the template's access tests
rest on them): each case is a rule of AWS's policy evaluation, stated beside it."""

from __future__ import annotations

import pytest

from tests.support.iam_policy import (
    ACCOUNT,
    OTHER_ACCOUNT,
    Policy,
    Principal,
    ResolvedTemplate,
    allowed,
)

TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:topic"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
PUBLISH_ANYWHERE = Policy([{"Effect": "Allow", "Action": "sns:*", "Resource": "*"}])


def deny_all_but(condition: dict) -> Policy:
    return Policy(
        [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": TOPIC,
                "Condition": condition,
            }
        ]
    )


def test_an_identity_policy_alone_allows_within_the_account():
    assert allowed(Principal.role(ROLE, PUBLISH_ANYWHERE), "sns:Publish", TOPIC)
    assert not allowed(Principal.role(ROLE, Policy()), "sns:Publish", TOPIC)


def test_a_resource_policy_alone_allows_within_the_account():
    topic = Policy(
        [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ROLE},
                "Action": "sns:Publish",
                "Resource": TOPIC,
            }
        ]
    )
    assert allowed(Principal.role(ROLE, Policy()), "sns:Publish", TOPIC, topic)


def test_across_accounts_both_must_allow():
    outsider = Principal.role(f"arn:aws:iam::{OTHER_ACCOUNT}:role/app", PUBLISH_ANYWHERE)
    assert not allowed(outsider, "sns:Publish", TOPIC)
    topic = Policy(
        [
            {
                "Effect": "Allow",
                "Principal": {"AWS": outsider.arn},
                "Action": "sns:Publish",
                "Resource": TOPIC,
            }
        ]
    )
    assert allowed(outsider, "sns:Publish", TOPIC, topic)


def test_a_deny_wins_and_a_negated_operator_is_true_on_a_missing_key():
    principal = Principal.role(ROLE, PUBLISH_ANYWHERE)
    spares_role = deny_all_but({"ArnNotEquals": {"aws:PrincipalArn": [ROLE]}})
    assert allowed(principal, "sns:Publish", TOPIC, spares_role)
    assert not allowed(
        Principal.role(ROLE + "2", PUBLISH_ANYWHERE), "sns:Publish", TOPIC, spares_role
    )
    # an IAM principal brings no aws:PrincipalServiceName: StringNotEquals is true, denied
    spares_service = deny_all_but(
        {"StringNotEquals": {"aws:PrincipalServiceName": "x.amazonaws.com"}}
    )
    assert not allowed(principal, "sns:Publish", TOPIC, spares_service)
    # a positive operator on a missing key is false: this Deny does not apply
    only_service = deny_all_but({"StringEquals": {"aws:PrincipalServiceName": "x.amazonaws.com"}})
    assert allowed(principal, "sns:Publish", TOPIC, only_service)


def test_a_service_principal_needs_the_resource_policy():
    service = Principal.aws_service("cloudwatch.amazonaws.com")
    assert not allowed(service, "sns:Publish", TOPIC)
    grant = Policy(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": TOPIC,
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            }
        ]
    )
    assert allowed(service, "sns:Publish", TOPIC, grant)
    assert not allowed(
        Principal.aws_service("cloudwatch.amazonaws.com", OTHER_ACCOUNT),
        "sns:Publish",
        TOPIC,
        grant,
    )


def test_actions_ignore_case_and_resources_do_not():
    policy = Policy([{"Effect": "Allow", "Action": "SNS:Pub*", "Resource": TOPIC}])
    assert allowed(Principal.role(ROLE, policy), "sns:publish", TOPIC)
    assert not allowed(Principal.role(ROLE, policy), "sns:Publish", TOPIC.upper())


@pytest.mark.parametrize(
    "statement",
    [
        {
            "Effect": "Allow",
            "NotPrincipal": {"AWS": ROLE},
            "Action": "sns:Publish",
            "Resource": TOPIC,
        },
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": TOPIC,
            "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
        },
    ],
)
def test_what_it_does_not_evaluate_raises(statement):
    with pytest.raises(ValueError, match="not evaluated here"):
        allowed(Principal.root(), "sns:Publish", TOPIC, Policy([statement]))


TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t"


def table_role(condition: dict) -> Principal:
    statement = {"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE}
    return Principal.role(ROLE, Policy([{**statement, "Condition": condition}]))


def test_for_all_values_needs_every_value_to_match_and_holds_for_none():
    own = table_role({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["OBS#a#*", "LOC#a"]}})
    for keys, expected in [
        (["OBS#a#g#0"], True),
        (["OBS#a#g#0", "LOC#a"], True),
        (["OBS#a#g#0", "OBS#b#g#0"], False),  # one value outside: refused
        (["G#g#0"], False),
        ([], True),  # no value at all: true (IAM's own rule)
    ]:
        context = {"dynamodb:LeadingKeys": keys}
        assert allowed(own, "dynamodb:PutItem", TABLE, extra_context=context) is expected, keys
    # the key absent from the request: true as well
    assert allowed(own, "dynamodb:PutItem", TABLE)


def test_for_any_value_needs_one_value_and_fails_without_the_key():
    any_obs = table_role({"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["OBS#*"]}})
    both = {"dynamodb:LeadingKeys": ["G#x", "OBS#a"]}
    assert allowed(any_obs, "dynamodb:GetItem", TABLE, extra_context=both)
    neither = {"dynamodb:LeadingKeys": ["G#x"]}
    assert not allowed(any_obs, "dynamodb:GetItem", TABLE, extra_context=neither)
    assert not allowed(any_obs, "dynamodb:GetItem", TABLE)


def test_if_exists_holds_when_the_key_is_absent():
    specific = table_role({"StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}})
    assert allowed(specific, "dynamodb:Query", TABLE)
    chosen = {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}
    assert allowed(specific, "dynamodb:Query", TABLE, extra_context=chosen)
    everything = {"dynamodb:Select": "ALL_ATTRIBUTES"}
    assert not allowed(specific, "dynamodb:Query", TABLE, extra_context=everything)
    plain = table_role({"StringEquals": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}})
    assert not allowed(plain, "dynamodb:Query", TABLE)  # without IfExists: absent is false
    with pytest.raises(ValueError, match="multivalued"):
        allowed(plain, "dynamodb:Query", TABLE, extra_context={"dynamodb:Select": ["a"]})


SECRET_ARN = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${Prefix}*"
)
TEMPLATE = {
    "Parameters": {
        "Prefix": {"Type": "String", "Default": "vigil/"},
        "Keys": {"Type": "CommaDelimitedList", "Default": ""},
    },
    "Conditions": {
        "HasKeys": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "Keys"}]}, ""]}]}
    },
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Policies": [
                    {
                        "PolicyDocument": {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "secretsmanager:GetSecretValue",
                                    "Resource": {"Fn::Sub": SECRET_ARN},
                                },
                                {
                                    "Fn::If": [
                                        "HasKeys",
                                        {
                                            "Effect": "Allow",
                                            "Action": "kms:Decrypt",
                                            "Resource": {"Ref": "Keys"},
                                        },
                                        {"Ref": "AWS::NoValue"},
                                    ]
                                },
                            ]
                        }
                    }
                ]
            },
        }
    },
}


def test_the_template_is_resolved_for_its_parameters():
    default = ResolvedTemplate(TEMPLATE).role_policy("Role")
    assert default.actions() == {"secretsmanager:GetSecretValue"}
    assert default.statements[0]["Resource"] == (
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:vigil/*"
    )
    keyed = ResolvedTemplate(TEMPLATE, {"Keys": "arn:k1,arn:k2", "Prefix": "x/"}).role_policy(
        "Role"
    )
    assert keyed.actions() == {"secretsmanager:GetSecretValue", "kms:Decrypt"}
    assert keyed.statements[1]["Resource"] == ["arn:k1", "arn:k2"]
    with pytest.raises(KeyError, match="unknown parameters"):
        ResolvedTemplate(TEMPLATE, {"Nope": "x"})
