"""The domain: tasks, payloads, the wire format and the errors. Pure: no I/O, no clock.

Nothing here imports boto3, botocore, threading, time, socket or the adapters.
"""
