"""The domain: tasks, payloads, the wire format, registration and the errors. Pure.

No I/O and no clock: nothing here imports boto3, botocore, threading, time, socket
or an outer layer. Private: the public names are re-exported by `simple_worker`.
"""
