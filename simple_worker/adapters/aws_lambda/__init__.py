"""AWS Lambda through boto3: reading a function's SQS event source mappings, for ``check``."""

from simple_worker.adapters.aws_lambda._functions import FunctionSetup, LambdaFunctions, SqsMapping

__all__ = ["FunctionSetup", "LambdaFunctions", "SqsMapping"]
