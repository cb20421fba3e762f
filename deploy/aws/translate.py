"""The SAM template as CloudFormation would deploy it, for the tests and the rehearsal.

    python deploy/aws/translate.py deploy/aws/template.yaml [Name=value ...]

Prints the template after the SAM transform (aws-sam-translator, offline), with the parameters
(defaults, overridden by Name=value) and the pseudo parameters of account 123456789012 in
us-east-1 resolved: `Ref` of a parameter, `Fn::Sub`, `Fn::If` and the conditions are
evaluated; a resource is `Ref`'d as its logical id and `Fn::GetAtt` becomes `Id.Attribute`;
resources whose condition is false are left out. The local CodeUri becomes the S3 object
`sam package` would upload.
"""

import json
import os
import re
import sys

from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "csvgate",
}


class NoManagedPolicies:
    """The template names no managed policy by name, so nothing needs IAM to look one up."""

    def load(self):
        return {}


def translated(path, overrides):
    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO["AWS::Region"])
    template = json.loads(json.dumps(cfn_yaml.load(path), default=str))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://packaged/csvgate-lambda.zip"
    values = {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }
    values.update(overrides)
    return transform(template, values, NoManagedPolicies()), values


class Resolver:
    def __init__(self, template, values):
        self.values = {**PSEUDO, **values}
        self.lists = {
            name
            for name, spec in template.get("Parameters", {}).items()
            if spec["Type"].startswith("List<") or spec["Type"] == "CommaDelimitedList"
        }
        self.conditions = {}
        self.declared = template.get("Conditions", {})
        self.resources = template["Resources"]

    def ref(self, name):
        if name == "AWS::NoValue":
            return NoValue
        if name in self.values:
            value = self.values[name]
            return [v for v in value.split(",") if v] if name in self.lists else value
        if name in self.resources:
            return name
        raise KeyError(f"Ref to unknown {name}")

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = self.resolve(self.declared[name])
        return self.conditions[name]

    def sub(self, argument):
        text, names = (argument, {}) if isinstance(argument, str) else argument
        names = {k: self.resolve(v) for k, v in names.items()}

        def one(match):
            name = match.group(1)
            if name in names:
                return str(names[name])
            if "." in name:
                return name
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def resolve(self, node):
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NoValue]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, argument), = node.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::Sub":
                return self.sub(argument)
            if key == "Fn::GetAtt":
                return ".".join(argument) if isinstance(argument, list) else argument
            if key == "Fn::If":
                name, then, otherwise = argument
                return self.resolve(then if self.condition(name) else otherwise)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(argument[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in argument)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in argument)
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(i) for i in self.resolve(items))
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NoValue}


NoValue = object()


def main():
    overrides = dict(arg.split("=", 1) for arg in sys.argv[2:])
    template, values = translated(sys.argv[1], overrides)
    resolver = Resolver(template, values)
    resources = {
        name: resolver.resolve(resource)
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }
    for resource in resources.values():
        resource.pop("Condition", None)
    outputs = resolver.resolve(template.get("Outputs", {}))
    json.dump({"Parameters": values, "Resources": resources, "Outputs": outputs}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
