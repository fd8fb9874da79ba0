"""Amazon EventBridge Scheduler through boto3: where periodic tasks' schedules are kept."""
