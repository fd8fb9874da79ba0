"""Amazon S3 through boto3: where large task bodies are stored."""

from simple_worker.adapters.s3._payloads import S3PayloadStore

__all__ = ["S3PayloadStore"]
