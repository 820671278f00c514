"""A job that fails when asked to, so its Errors alarm can be seen firing."""


class JobFailed(Exception):
    """The job was asked to fail."""


def handler(event, context):
    if event.get("fail"):
        raise JobFailed(f"job {event.get('job', '?')} failed")
    print(f"job {event.get('job', '?')} done")
    return {"done": event.get("job")}
