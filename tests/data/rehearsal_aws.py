"""The AWS side of the deploy rehearsal, on a moto_server started with IAM enforcement after its
first three requests (INITIAL_NO_AUTH_ACTION_COUNT=3):

    python rehearsal_aws.py ENDPOINT SETUP.json

SETUP.json: {"translated": <deploy/aws/translate.py's output>, "database": {...}, "omit": [sids],
"contract": <text>}.
Those three requests make an administrator; with its keys this makes the template's three
buckets (the landing one versioned), the database settings in SSM below the template's prefix
(user and password as SecureString), the contract at CSVGATE_CONTRACT when the template sets
it (in a bucket of its own), and a user holding the statements of the function's
execution role as the template grants them (less the Sids in "omit"). Prints the keys of the
administrator and of the function's user as JSON.
"""

import json
import sys

import boto3

REGION = "us-east-1"


def client(service, endpoint, keys):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=keys[0], aws_secret_access_key=keys[1])


def user_with_policy(iam, name, statements):
    iam.create_user(UserName=name)
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_user_policy(UserName=name, PolicyName="granted", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def role_statements(translated, omit):
    """The function role's statements that name real resources (moto refuses a policy with a
    resource that is not an ARN; those are the SQS destination's, used by Lambda itself).
    moto matches the resources of S3 requests only: it asks whether an SSM or KMS action is
    allowed on `*`, so those statements get `*` here (tests/aws_template.rs checks their ARNs)."""
    role = translated["Resources"]["CsvgateFunctionRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    arns = lambda s: [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
    actions = lambda s: [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
    kept = [s for s in statements
            if s.get("Sid") not in omit and all(r.startswith("arn:") for r in arns(s))]
    for statement in kept:
        if all(a.split(":")[0] in ("ssm", "kms") for a in actions(statement)):
            statement["Resource"] = "*"
            statement.pop("Condition", None)
    return kept


def main():
    endpoint, setup_file = sys.argv[1:]
    setup = json.load(open(setup_file))
    translated, database = setup["translated"], setup["database"]
    # The three requests before IAM applies: an administrator.
    admin = user_with_policy(client("iam", endpoint, ("setup", "setup")), "admin",
                             [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    iam = client("iam", endpoint, admin)
    s3 = client("s3", endpoint, admin)
    variables = translated["Resources"]["CsvgateFunction"]["Properties"]["Environment"]["Variables"]
    for variable in ["CSVGATE_LANDING", "CSVGATE_INVALID", "CSVGATE_BACKUPS"]:
        s3.create_bucket(Bucket=variables[variable].removeprefix("s3://").rstrip("/"))
    landing = variables["CSVGATE_LANDING"].removeprefix("s3://").rstrip("/")
    s3.put_bucket_versioning(Bucket=landing, VersioningConfiguration={"Status": "Enabled"})
    contract = variables.get("CSVGATE_CONTRACT")
    if contract:
        bucket, key = contract.removeprefix("s3://").split("/", 1)
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=key, Body=setup["contract"].encode())
    ssm = client("ssm", endpoint, admin)
    prefix = variables["CSVGATE_SSM_PREFIX"]
    for name, kind in [("host", "String"), ("port", "String"), ("name", "String"),
                       ("user", "SecureString"), ("password", "SecureString")]:
        ssm.put_parameter(Name=f"{prefix}/{name}", Value=str(database[name]), Type=kind)
    function = user_with_policy(iam, "csvgate-function",
                                role_statements(translated, setup.get("omit", [])))
    print(json.dumps({"admin": admin, "function": function}))


if __name__ == "__main__":
    main()
